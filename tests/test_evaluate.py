"""The Evaluator's scores can fail: pixels a method is scored on as held out never reach it
(a method that copies its input scores like a blank there), a method that predicts them like
neighbour interpolation scores exactly the neighbour reference, and methods without an encoder
(the index-coded setting) are not scored on unseen icons."""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from analysis.scoring.evaluate import Evaluator
from data.images import load_images
from data.pixels import heldout_mask, neighbour_fill
from models.method import Method, Rep
from train.registry import build_method
from train.config import method_config


class PixelCopy(Method):
    """Its representation is the image it is handed, the pixels it may not read filled by
    `fill(images, masks)`; it decodes by nearest-pixel lookup. A stand-in with known scores."""

    def __init__(self, fill, handles_unseen: bool = True):
        super().__init__()
        self.fill, self.handles_unseen_images = fill, handles_unseen
        self.dummy = nn.Parameter(torch.zeros(1))  # a device for encode_all

    def encode(self, images, masks, index) -> Rep:
        return Rep(latent=self.fill(images, masks).flatten(1))  # (B, 3*H*W)

    def decode(self, rep, coords):
        b = len(rep)
        res = math.isqrt(rep.latent.shape[1] // 3)
        images = rep.latent.view(b, 3, res, res)  # (B, 3, H, W)
        grid = coords.expand(b, *coords.shape[-2:])[:, :, None]  # (B, P, 1, 2), (x, y) in [-1, 1]
        return F.grid_sample(images, grid, mode="nearest", align_corners=False)[..., 0].transpose(1, 2)  # (B, P, 3)


@pytest.fixture(scope="module")
def evaluator():
    train = load_images("icons100", 48)
    train.images, train.names = train.images[:12], train.names[:12]
    return Evaluator(train, heldout_mask(12, 48), hr_res=0, unseen="icons-large", unseen_count=8)


def test_unseen_heldout_pixels_are_never_read(evaluator):
    copy, _ = evaluator(PixelCopy(lambda images, masks: images))  # reads whatever it is given
    assert copy["psnr/train_pixels"] > 90 and copy["psnr/unseen_images"] > 90  # it did see those pixels
    # Held-out pixels arrive zeroed: black scores far below even the constant mean icon.
    assert copy["psnr/heldout_pixels"] < copy["reference/mean_icon_heldout_pixels"] - 3
    assert copy["psnr/unseen_heldout_pixels"] < copy["reference/mean_icon_unseen_heldout"] - 3


def test_a_neighbour_interpolating_method_scores_the_neighbour_reference(evaluator):
    scores, _ = evaluator(PixelCopy(neighbour_fill))
    assert scores["psnr/heldout_pixels"] == pytest.approx(scores["reference/neighbours_heldout_pixels"], abs=1e-4)
    assert scores["psnr/unseen_heldout_pixels"] == pytest.approx(scores["reference/neighbours_unseen_heldout"], abs=1e-4)
    assert scores["psnr/unseen_heldout_pixels"] > scores["reference/mean_icon_unseen_heldout"] + 5


def test_methods_without_an_encoder_skip_unseen_icons(evaluator):
    scores, _ = evaluator(PixelCopy(neighbour_fill, handles_unseen=False))
    assert not [k for k in scores if k.startswith("psnr/unseen")]
    assert "reference/neighbours_unseen_heldout" in scores  # the references are logged for every method


@pytest.mark.parametrize("name", ["hyper_table", "concat_table"])
def test_index_coded_methods_use_a_code_table_and_skip_unseen_icons(evaluator, name):
    cfg = method_config(name, tiny=True)
    assert cfg.encoder == "table"
    method = build_method(dataclasses.asdict(cfg), len(evaluator.train))
    assert not method.handles_unseen_images
    scores, _ = evaluator(method)
    assert "psnr/heldout_pixels" in scores and not [k for k in scores if k.startswith("psnr/unseen")]

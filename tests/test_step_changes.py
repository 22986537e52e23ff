"""A training step's optional changes: --augment (exact mirror and hue turn, data/augment.py) and
--support (the method reads a random part of the training pixels, the loss scores all of them)."""
from __future__ import annotations

import pytest
import torch

import train_maml
from data.augment import hue_rotate_batch, mirror_and_turn
from data.pixels import heldout_mask, pixel_grid, to_pixels
from common.errors import UserError
from train.config import method_config
from train.trainer import Run


def pixel_index(coords: torch.Tensor, res: int) -> torch.Tensor:
    """coords (B, P, 2) at pixel centres of a res x res grid -> flat row-major pixel indices (B, P)."""
    ix = ((coords + 1) * res - 1).div(2).round().long()  # (B, P, 2) column, row
    return ix[..., 1] * res + ix[..., 0]


def pixel_at(images: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """images (B, 3, R, R), coords (B, P, 2) at pixel centres -> the pixels there (B, P, 3)."""
    flat = pixel_index(coords, images.shape[-1])  # (B, P)
    return to_pixels(images).gather(1, flat[..., None].expand(-1, -1, 3))


def test_mirror_and_turn_keep_targets_where_the_changed_icon_has_them():
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(4, 3, 8, 8, generator=gen)  # (B, 3, 8, 8)
    read = heldout_mask(4, 8, 0.3).logical_not()  # (B, 1, 8, 8)
    coords = pixel_grid(8)[torch.randperm(64, generator=gen)[:20]].expand(4, -1, -1)  # (B, 20, 2)
    targets = pixel_at(images, coords)  # (B, 20, 3)
    mirror = torch.tensor([True, False, True, False])
    degrees = torch.tensor([0.0, 0.0, 120.0, -90.0])
    new_images, new_read, new_coords, new_targets = mirror_and_turn(images, read, coords, targets, mirror, degrees)
    # the loss's targets are the changed icon's own pixels at the changed coordinates
    assert torch.allclose(pixel_at(new_images, new_coords), new_targets, atol=1e-5)
    assert torch.allclose(new_images[1], images[1], atol=1e-5) and torch.equal(new_read[1], read[1])  # untouched
    assert torch.equal(new_read[0], read[0].flip(-1)) and torch.equal(new_coords[0, :, 1], coords[0, :, 1])
    assert torch.allclose(new_coords[0, :, 0], -coords[0, :, 0])
    assert torch.allclose(new_images[3], hue_rotate_batch(images[3:], degrees[3:])[0], atol=1e-6)
    assert not torch.allclose(new_images[2], images[2].flip(-1), atol=1e-2)  # the hue turn did change it


class Spy(torch.nn.Module):
    """Wraps a method's forward to record what a training step hands it."""

    def __init__(self, method):
        super().__init__()
        self.method, self.seen = method, []

    def forward(self, images, masks, index, coords):
        self.seen.append((images, masks, index, coords))
        return self.method(images, masks, index, coords)


@pytest.mark.parametrize("model", ["hyper", "maml"])
def test_support_reads_part_of_the_training_pixels_and_never_a_heldout_one(shapes_dir, tmp_path, model):
    cfg = method_config(model, tiny=True, data=str(shapes_dir), res=12, unseen="", device="cpu",
                        out=str(tmp_path / "run"), support=0.5, batch=4)
    run = Run(cfg, torch.device("cpu"))
    run.model = spy = Spy(run.method)
    for _ in range(3):
        run.step()
    for images, masks, index, _ in spy.seen:
        observed = run.observed[index]  # (B, 1, 12, 12)
        assert not (masks & ~observed).any()  # a held-out pixel is never read
        assert 0.35 < masks.sum() / observed.sum() < 0.65  # about half the training pixels
        assert torch.equal(images, run.images[index])
    assert not torch.equal(spy.seen[0][1], spy.seen[1][1]) or not torch.equal(spy.seen[0][2], spy.seen[1][2])


def test_augment_changes_icons_and_keeps_the_step_consistent(shapes_dir, tmp_path):
    cfg = method_config("hyper", tiny=True, data=str(shapes_dir), res=12, unseen="", device="cpu",
                        out=str(tmp_path / "run"), augment=1.0, batch=4, pixels=0)
    run = Run(cfg, torch.device("cpu"))
    run.model = spy = Spy(run.method)
    run.step()
    images, masks, index, coords = spy.seen[0]
    assert not torch.allclose(images, run.images[index], atol=1e-2)  # every icon changed
    # the read mask is the (possibly mirrored) observed mask: as many pixels, none held out after the change
    assert torch.equal(masks.sum((1, 2, 3)), run.observed[index].sum((1, 2, 3)))
    # the scored coordinates are the pixels the changed icon reads
    assert masks.flatten(1).gather(1, pixel_index(coords, 12)).all()


def test_bad_support_and_augment_are_refused(tmp_path):
    for flag, value in (("--support", "0"), ("--support", "1.5"), ("--augment", "-0.1")):
        with pytest.raises(UserError, match=flag):
            train_maml.main([flag, value, "--out", str(tmp_path / "run")])

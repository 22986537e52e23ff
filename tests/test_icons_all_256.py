"""icons-all at 256 px (what --hr-supervision 256 and the 256 px score of its training icons
load) is the same 1,445 icons in the same order as at 48 px, and each 256 px render, area-averaged
down to 48 px, matches its own 48 px render."""

from __future__ import annotations

import numpy as np
import torch

from data.images import load_images
from data.split import train_split

MIN_PSNR_DB = 25.0  # measured: lowest 26.6 dB (no_pedestrians, thin strokes), median 48 dB


def area_matrix(src: int, dst: int) -> torch.Tensor:
    """(dst, src) exact box filter: row i averages source pixels over [i, i + 1) * src / dst,
    weighting each by its overlap (256 / 48 is not an integer)."""
    edges = np.arange(dst + 1) * src / dst
    cols = np.arange(src)[None]
    weights = np.clip(np.minimum(edges[1:, None], cols + 1) - np.maximum(edges[:-1, None], cols), 0, None)
    return torch.from_numpy(weights / weights.sum(1, keepdims=True)).float()


def psnr_per_image(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return -10 * torch.log10(((a - b) ** 2).flatten(1).mean(1))


def test_icons_all_256_matches_48_in_names_order_and_content():
    split = train_split("icons-all", "auto")  # the split the trainer and the evaluator load
    low = load_images("icons-all", 48, split)
    icons100 = load_images("icons100", 256)
    high = load_images("icons-all", 256, split)
    assert len(low) == len(high) == 1445
    assert high.names == low.names and high.images.shape == (1445, 3, 256, 256)
    assert high.names[:100] == icons100.names and torch.equal(high.images[:100], icons100.images)
    area = area_matrix(256, 48)
    down = torch.cat([torch.einsum("ij,ncjk,lk->ncil", area, chunk, area) for chunk in high.images.split(256)])
    scores = psnr_per_image(down, low.images)
    worst = int(scores.argmin())
    assert scores[worst] > MIN_PSNR_DB, f"{low.names[worst]}: 256 px area-averaged to 48 px is {scores[worst]:.1f} dB"
    # The check tells icons apart: paired with the next icon's 48 px render, none comes near it.
    assert psnr_per_image(down.roll(1, 0), low.images).max() < MIN_PSNR_DB - 5


def test_icons_all_n_256_is_a_prefix():
    assert load_images("icons-all:150", 256).names == load_images("icons-all", 48).names[:150]

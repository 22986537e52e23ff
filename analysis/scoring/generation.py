"""Measures of generated icons: are they icons (precision), do they cover the icons (recall), are they copies?

    feats = {space: FEATURES[space](images) for space in FEATURES}           # (N, D) each
    p, r = precision_recall(real_feats, sample_feats, k=3)                    # Kynkaanniemi et al. 2019
    rate = copy_rate(sample_px, train_px, test_px)                            # share of near-copies

**Precision and recall** (Kynkaanniemi, Karras, Laine, Lehtinen & Aila 2019, "Improved precision and
recall metric for assessing generative models"): each set's manifold is the union of balls around
its points, each ball reaching the point's k-th nearest neighbour in its own set. Precision is the
share of samples inside the real icons' manifold, recall the share of real icons inside the samples'.
The real icons are unseen test icons (never trained on), so a generator that only copies its
training icons scores what those icons score against the test icons, not 1.

**Two fixed feature spaces**, no weights downloaded:
- `pixels`: the icon at 16 x 16 px (area average), RGB, flattened (768 values);
- `structure`: a HOG-style histogram of gradient orientations (Dalal & Triggs 2005) of the grey icon
  at 32 px over a 4 x 4 grid of cells (8 bins each, weighted by gradient magnitude), beside a
  4 x 4 x 4 colour histogram of the icon's non-white pixels: shape and palette, not position.
  Each part is scaled to unit norm, so both weigh alike.

**Copy rate**: the share of samples closer (pixel space) to their nearest training icon than the
`quantile` (5%) of the unseen test icons are to theirs. A test icon is a new icon by construction,
so a sample nearer a training icon than 95% of them are reads as a copy.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def pixel_features(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> (N, 768): the icon at 16 x 16 px."""
    return nn.functional.adaptive_avg_pool2d(images.float(), 16).flatten(1)


def structure_features(images: torch.Tensor, cells: int = 4, bins: int = 8) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> (N, cells^2 * bins + 64): gradient-orientation histograms per cell and a
    colour histogram of the non-white pixels, each part of unit norm."""
    x = nn.functional.interpolate(images.float(), size=32, mode="area")  # (N, 3, 32, 32)
    grey = x.mean(1, keepdim=True)  # (N, 1, 32, 32)
    gx = nn.functional.conv2d(grey, torch.tensor([[[[-0.5, 0.0, 0.5]]]]), padding=(0, 1))  # (N, 1, 32, 32)
    gy = nn.functional.conv2d(grey, torch.tensor([[[[-0.5], [0.0], [0.5]]]]), padding=(1, 0))
    magnitude = (gx.pow(2) + gy.pow(2)).sqrt()  # (N, 1, 32, 32)
    angle = torch.atan2(gy, gx) % math.pi  # (N, 1, 32, 32): unsigned orientation
    which = (angle / math.pi * bins).long().clamp_max(bins - 1)  # (N, 1, 32, 32)
    votes = nn.functional.one_hot(which[:, 0], bins).permute(0, 3, 1, 2) * magnitude  # (N, bins, 32, 32)
    hog = nn.functional.adaptive_avg_pool2d(votes, cells).flatten(1)  # (N, bins * cells^2)
    ink = (x < 0.95).any(1).flatten(1).float()  # (N, 1024): not white
    level = (x.clamp(0, 1) * 3.999).long()  # (N, 3, 32, 32) in 0..3
    colour = (level[:, 0] * 16 + level[:, 1] * 4 + level[:, 2]).flatten(1)  # (N, 1024) in 0..63
    palette = torch.zeros(len(x), 64).scatter_add_(1, colour, ink)  # (N, 64)
    unit = lambda v: v / v.norm(dim=1, keepdim=True).clamp_min(1e-8)  # noqa: E731
    return torch.cat([unit(hog), unit(palette)], 1)


FEATURES = {"pixels": pixel_features, "structure": structure_features}


def kth_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance of each row of x (N, D) to its k-th nearest other row: (N,)."""
    d = torch.cdist(x, x)  # (N, N)
    return d.topk(k + 1, dim=1, largest=False).values[:, k]  # column 0 is the point itself


def coverage(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> float:
    """Share of points (M, D) inside at least one ball (centres (N, D), radii (N,))."""
    return float((torch.cdist(points, centres) <= radii[None]).any(1).float().mean())


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Kynkaanniemi et al.'s precision (fake inside real's manifold) and recall (real inside fake's)."""
    return coverage(fake, real, kth_radius(real, k)), coverage(real, fake, kth_radius(fake, k))


def nearest(x: torch.Tensor, pool: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(distance, index) of each row of x (M, D) to its nearest row of pool (N, D): (M,), (M,)."""
    d = torch.cdist(x, pool)  # (M, N)
    return d.min(1)


def copy_rate(samples: torch.Tensor, train: torch.Tensor, test: torch.Tensor, quantile: float = 0.05) -> float:
    """Share of samples nearer their nearest training row than `quantile` of the test rows are to theirs."""
    threshold = torch.quantile(nearest(test, train)[0], quantile)
    return float((nearest(samples, train)[0] < threshold).float().mean())


def generation_scores(samples: torch.Tensor, reference: torch.Tensor, train: torch.Tensor,
                      test: torch.Tensor, k: int = 3) -> dict[str, float]:
    """Every measure of `samples` (N, 3, H, W): precision and recall against `reference` (unseen icons) in
    each feature space, and the copy rate against `train` with `test` (unseen icons) setting the bar."""
    out = {}
    for space, features in FEATURES.items():
        p, r = precision_recall(features(reference), features(samples), k)
        out[f"precision/{space}"], out[f"recall/{space}"] = p, r
    out["copy_rate"] = copy_rate(pixel_features(samples), pixel_features(train), pixel_features(test))
    return out

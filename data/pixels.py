"""Coordinate grids and held-out pixel masks.

Every resolution lives on one continuous domain, the square [-1, 1]^2, and a pixel is
sampled at its centre. So pixel (row i, col j) of a res x res image sits at
    x = -1 + (2 j + 1) / res,   y = -1 + (2 i + 1) / res,
and a 48 px render and a 256 px render of the same INR cover exactly the same area.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange


def pixel_grid(res: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Pixel-centre coordinates of a res x res image, row-major: (res*res, 2) as (x, y)."""
    centres = (torch.arange(res, device=device, dtype=torch.float32) * 2 + 1) / res - 1  # (res,)
    y, x = torch.meshgrid(centres, centres, indexing="ij")  # (res, res) each
    return torch.stack([x, y], dim=-1).reshape(res * res, 2)  # (res*res, 2)


HELDOUT_FRACTION = 0.1  # of every training image's pixels, never a training target nor encoder input
HELDOUT_SEED = 0
# Unseen (test) images are read through another fixed mask: a method sees 90% of each unseen
# image's pixels and is scored on the other 10% too (psnr/unseen_heldout_pixels).
UNSEEN_HELDOUT_SEED = 1


def heldout_mask(n: int, res: int, fraction: float = HELDOUT_FRACTION, seed: int = HELDOUT_SEED) -> torch.Tensor:
    """A fixed, seeded mask of held-out pixels: (n, 1, res, res) bool, True = held out.

    Exactly round(fraction * res^2) pixels per image, a different random set per image
    (image k always gets the same set for a given res and seed). Held-out pixels are
    never shown to a model in training, neither as targets nor as encoder input.
    """
    count = round(fraction * res * res)
    gen = torch.Generator().manual_seed(seed)
    mask = torch.zeros(n, res * res, dtype=torch.bool)
    for k in range(n):
        mask[k, torch.randperm(res * res, generator=gen)[:count]] = True
    return mask.view(n, 1, res, res)


def to_pixels(images: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H*W, C), row-major like `pixel_grid`."""
    return rearrange(images, "b c h w -> b (h w) c")


def to_images(pixels: torch.Tensor, res: int) -> torch.Tensor:
    """(B, H*W, C) -> (B, C, H, W); inverse of `to_pixels`."""
    return rearrange(pixels, "b (h w) c -> b c h w", h=res, w=res)


def neighbour_fill(images: torch.Tensor, observed: torch.Tensor, blind_rings: int | None = None) -> torch.Tensor:
    """Observed pixels kept; every other pixel = the mean of the observed pixels in its
    3 x 3 window (its 8-neighbours), else in the 5 x 5, 7 x 7, ... window: the first ring that
    holds an observed pixel (inner rings hold none, so the window mean is that ring's mean).

    images (B, 3, H, W); observed (B, 1, H, W) bool -> (B, 3, H, W). An image with no observed
    pixel at all stays 0 (nothing to interpolate from).

    blind_rings: rings filled before asking whether any pixel is left. Asking is a host sync on
    a GPU, so there (default 2) the usual masks, whose gaps the 3 x 3 and 5 x 5 windows close,
    cost one sync instead of three; on the CPU (default 0) asking is free and every ring that
    is not needed is skipped. The result does not depend on it (a ring with nothing left to
    fill changes nothing).
    """
    if blind_rings is None:
        blind_rings = 0 if images.device.type == "cpu" else 2
    m = observed.to(images.dtype)  # (B, 1, H, W)
    out = images * m  # (B, 3, H, W)
    todo = ~observed  # (B, 1, H, W) pixels still to fill
    h, w = images.shape[-2:]
    radius = 1
    while radius < max(h, w) and (radius <= blind_rings or todo.any()):
        k = 2 * radius + 1
        sums = F.avg_pool2d(images * m, k, stride=1, padding=radius, divisor_override=1)  # (B, 3, H, W)
        counts = F.avg_pool2d(m, k, stride=1, padding=radius, divisor_override=1)  # (B, 1, H, W)
        fill = todo & (counts > 0.5)  # (B, 1, H, W)
        out = torch.where(fill, sums / counts.clamp_min(1), out)
        todo = todo & ~fill
        radius += 1
    return out

"""Speckle as a number: the error of an upsampled image on the truth's flat regions.

Most of an icon is flat colour (its background, filled shapes). An upsampler that leaves
these flat (Lanczos, bicubic) errs only near edges; a network that adds high-frequency
content where the truth has none (a SIREN at w0 = 30 between the pixels it was fitted on)
shows it as speckle. PSNR mixes that with edge errors and SSIM's 11 px window smooths it,
so the flat-region error scores it alone:

    flat pixels   those whose true (2 radius + 1)^2 neighbourhood is uniform: every channel's
                  max - min within it at most `tol` (2 grey levels: the truth is 8-bit). The
                  radius, 8 px at 256 px, is 1.5 pixels of a 48 px input: any upsampler blurs
                  an edge over about a pixel of its input and Lanczos rings over its 3-lobe
                  kernel, which a smaller window would count as error on flat pixels
                  (`python -m analysis.scoring.flat_error` prints Lanczos's error and the flat share
                  against the radius on icons100, 48 -> 256 px)
    flat_rmse     root-mean-square error over an image's flat pixels, in grey levels (0-255)

It says nothing about edges (an output right on flat pixels and wrong at every edge scores
0), so it is reported beside PSNR and SSIM, never alone; lower is better.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

RADIUS, TOL = 8, 2 / 255  # a 17 x 17 window at 256 px: 1.5 pixels of a 48 px icon on each side


def flat_mask(truth: torch.Tensor, radius: int = RADIUS, tol: float = TOL) -> torch.Tensor:
    """truth (B, 3, H, W) in [0, 1] -> (B, 1, H, W) bool, True where the neighbourhood is uniform.
    Pixels whose window crosses the image border see the border replicated."""
    padded = F.pad(truth, (radius,) * 4, mode="replicate")  # (B, 3, H + 2r, W + 2r)
    spread = _window_max(padded, radius) + _window_max(-padded, radius)  # (B, 3, H, W) max - min
    return (spread <= tol + 1e-6).all(1, keepdim=True)


def _window_max(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Max over (2 radius + 1)^2 windows, no padding: a row pass, then a column pass (the same
    values as one square max_pool2d, O(k) instead of O(k^2) per pixel)."""
    k = 2 * radius + 1
    return F.max_pool2d(F.max_pool2d(x, (1, k), stride=1), (k, 1), stride=1)


def flat_rmse(pred: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image RMSE in grey levels over the truth's flat pixels: (B,). pred, truth (B, 3, H, W) in
    [0, 1] (pred clamped); mask: precomputed `flat_mask(truth)`. An image with no flat pixel scores 0."""
    mask = flat_mask(truth) if mask is None else mask
    m = mask.to(truth.dtype)  # (B, 1, H, W)
    sq = (pred.clamp(0, 1) - truth).pow(2).mean(1, keepdim=True)  # (B, 1, H, W)
    mse = (sq * m).flatten(1).sum(1) / m.flatten(1).sum(1).clamp_min(1)  # (B,)
    return 255 * mse.sqrt()


def radius_sweep(radii=(2, 5, 8, 11)) -> None:
    """Lanczos's flat-region error (48 -> 256 px on icons100) and the share of flat pixels per radius."""
    from data.images import lanczos_resize, load_images

    low, truth = load_images("icons100", 48).images, load_images("icons100", 256).images
    up = lanczos_resize(low, 256)
    for radius in radii:
        mask = flat_mask(truth, radius)
        print(f"radius {radius:2d}: {mask.float().mean().item():.0%} of pixels flat, Lanczos flat RMSE "
              f"{flat_rmse(up, truth, mask).mean().item():.2f} grey levels")


if __name__ == "__main__":
    radius_sweep()

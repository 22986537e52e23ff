"""SSIM and MS-SSIM in plain torch, so that no metric needs downloaded weights.

SSIM (Wang, Bovik, Sheikh & Simoncelli 2004, "Image quality assessment: from error visibility
to structural similarity", IEEE TIP) compares local means, contrasts and correlations in an
11 x 11 Gaussian window (sigma 1.5) with K1 = 0.01, K2 = 0.03 on a data range of 1: the
constants of the paper. The window is applied without padding ("valid"), as in the paper's
reference code, so a 48 px image gives a 38 x 38 SSIM map. Colour images: SSIM per channel,
then the mean over channels (the usual convention, e.g. scikit-image's `channel_axis`).

MS-SSIM (Wang, Simoncelli & Bovik 2003, "Multi-scale structural similarity for image quality
assessment") repeats the contrast-structure term over dyadic scales and the luminance term at
the coarsest one, with the paper's five exponents. Five scales need >= 176 px with an 11 px
window; at the study's 48 px only three fit, so `ms_ssim` uses as many leading scales as fit
and renormalizes their exponents to sum to 1.

`sqrt(1 - SSIM)` is the distance used for paths: Brunet, Vrscay & Wang (2012, "On the
mathematical properties of the structural similarity index", IEEE TIP) show that the square
root of one minus SSIM's components is a normalized metric, so sums along a path behave like
lengths (triangle inequality, up to the mixing of components).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

K1, K2 = 0.01, 0.03  # Wang et al. 2004
WINDOW, SIGMA = 11, 1.5  # Wang et al. 2004
MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, finest scale first


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA) -> torch.Tensor:
    """(size,) normalized 1-D Gaussian; the 2-D window is its outer product (separable)."""
    x = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-x * x / (2 * sigma * sigma))
    return g / g.sum()


def _blur(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Valid separable Gaussian filter of (B, C, H, W) -> (B, C, H-k+1, W-k+1)."""
    c = x.shape[1]
    k = window.to(x)
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)  # along W
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)  # along H


def _terms(x: torch.Tensor, y: torch.Tensor, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Luminance and contrast-structure maps of same-shaped (B, C, H, W) images -> (l, cs),
    each (B, C, h, w). The five local moments go through one filter call (speed: these are
    small images, so the per-call overhead dominates)."""
    c = x.shape[1]
    c1, c2 = K1 ** 2, K2 ** 2
    moments = _blur(torch.cat([x, y, x * x, y * y, x * y], dim=1), window)  # (B, 5C, h, w)
    mx, my, xx, yy, xy = moments.split(c, dim=1)
    vx, vy, cxy = xx - mx * mx, yy - my * my, xy - mx * my  # local variances, covariance
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    cs = (2 * cxy + c2) / (vx + vy + c2)
    return lum, cs


def _flat_pair(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Size]:
    """Broadcast (..., C, H, W) images against each other -> both as (B, C, H, W) float, and
    the broadcast batch shape (...)."""
    x, y = torch.broadcast_tensors(x, y)
    batch = x.shape[:-3]
    return x.reshape(-1, *x.shape[-3:]).float(), y.reshape(-1, *y.shape[-3:]).float(), batch


def ssim(x: torch.Tensor, y: torch.Tensor, window_size: int = WINDOW) -> torch.Tensor:
    """Mean SSIM of broadcast-compatible (..., C, H, W) images in [0, 1] -> (...,) in [-1, 1];
    1 = identical. The window shrinks to the image when the image is smaller than it."""
    size = min(window_size, x.shape[-1], x.shape[-2])
    x, y, batch = _flat_pair(x, y)  # (B, C, H, W) each
    lum, cs = _terms(x, y, gaussian_window(size, SIGMA * size / WINDOW))  # (B, C, h, w) each
    return (lum * cs).flatten(1).mean(1).reshape(batch)


def ms_ssim(x: torch.Tensor, y: torch.Tensor, scales: int | None = None) -> torch.Tensor:
    """MS-SSIM of broadcast-compatible (..., C, H, W) images in [0, 1] -> (...,); 1 = identical.

    scales: how many dyadic scales (default: as many as keep the coarsest scale at least as
    large as the 11 px window, at most 5). Negative contrast-structure means (possible for
    anti-correlated images) are clamped to 0 before the fractional powers."""
    fit = 1
    while fit < 5 and min(x.shape[-2:]) // 2 ** fit >= WINDOW:
        fit += 1
    scales = fit if scales is None else scales
    x, y, batch = _flat_pair(x, y)  # (B, C, H, W) each
    weights = torch.tensor(MS_WEIGHTS[:scales], device=x.device)  # on the images' device (a GPU's too)
    weights = weights / weights.sum()
    out = torch.ones(len(x), device=x.device)
    for s in range(scales):
        size = min(WINDOW, x.shape[-1], x.shape[-2])
        lum, cs = _terms(x, y, gaussian_window(size, SIGMA * size / WINDOW))  # (B, C, h, w)
        term = (lum * cs if s == scales - 1 else cs).flatten(1).mean(1).clamp_min(0)  # (B,)
        out = out * term ** weights[s]
        x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)  # next, coarser scale
    return out.reshape(batch)


def ssim_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """sqrt(1 - SSIM) of broadcast-compatible (..., C, H, W) images -> (...,) in [0, sqrt(2)];
    0 = identical (Brunet et al. 2012: a normalized metric for the SSIM components)."""
    return (1 - ssim(x, y)).clamp_min(0).sqrt()

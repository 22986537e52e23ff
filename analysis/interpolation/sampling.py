"""Images as functions on the coordinate domain [-1, 1]^2, for the warp and the morph.

A morph renders an endpoint at warped coordinates that fall between pixel centres and
outside the image, so an image must be a function of continuous coordinates, exactly like
an INR's `decode`. `image_sampler` makes one: bilinear between pixel centres (which sit at
x = -1 + (2 j + 1) / res, `data/pixels.py`, i.e. `align_corners=False`), white outside,
because every icon is composited on white (`data/images.py`).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

#: sample(coords (P, 2) as (x, y)) -> rgb (P, 3): an image, a pixel sampler or an INR render
Sampler = Callable[[torch.Tensor], torch.Tensor]


def sample_image(image: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Bilinear colours of image (3, H, W) at coords (P, 2) -> (P, 3), white outside the domain.

    Differentiable in both arguments (the warp fit needs the gradient w.r.t. coords).
    """
    # sampling (image - 1) with zero padding and adding 1 back pads with white, not black
    grid = coords.view(1, 1, -1, 2)  # (1, 1, P, 2)
    out = F.grid_sample(image[None] - 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # (1, 3, 1, P)
    return out[0, :, 0].T + 1  # (P, 3)


def white_outside(rgb: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """rgb (P, 3) with white where coords (P, 2) leave the image's domain [-1, 1]^2.

    A warp carries some output pixels to coordinates outside the image. An image sampler
    pads with white there; an INR was never trained there and extrapolates with coloured
    noise (a SIREN's sines do not fade). Icons sit on white, so white is the truth outside."""
    outside = (coords.abs() > 1).any(-1, keepdim=True)  # (P, 1)
    return torch.where(outside, torch.ones_like(rgb), rgb)  # (P, 3)


def image_sampler(image: torch.Tensor) -> Sampler:
    """A sampler (coords (P, 2) -> rgb (P, 3)) for image (3, H, W) in [0, 1], white outside."""
    return lambda coords: sample_image(image, coords)


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (C, H, W) with std `sigma` pixels, padding white (replicate
    would smear a touching shape outward; icons sit on white). sigma <= 0 returns the image."""
    if sigma <= 0:
        return image
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=image.dtype, device=image.device)  # (K,)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()  # (K,)
    c = image.shape[0]
    out = image[None] - 1  # (1, C, H, W), zero padding of (image - 1) = white padding
    out = F.conv2d(F.pad(out, (radius, radius, 0, 0)), kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    out = F.conv2d(F.pad(out, (0, 0, radius, radius)), kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return out[0] + 1  # (C, H, W)


def resize(image: torch.Tensor, res: int) -> torch.Tensor:
    """(C, H, W) -> (C, res, res), antialiased bilinear (area-like when shrinking)."""
    if image.shape[-1] == res and image.shape[-2] == res:
        return image
    return F.interpolate(image[None], size=(res, res), mode="bilinear", antialias=True, align_corners=False)[0]


def foreground_weight(image: torch.Tensor) -> torch.Tensor:
    """How far each pixel is from white: (3, H, W) -> (H, W) in [0, 1]. The icons' background
    is white, so this is a landmark-free soft foreground mask (max over channels of 1 - c)."""
    return (1 - image).amax(0).clamp(0, 1)  # (H, W)


def foreground_moments(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mass, centroid (2,) as (x, y) and covariance (2, 2) of the foreground weight on [-1, 1]^2."""
    from data.pixels import pixel_grid

    w = foreground_weight(image).flatten()  # (H*W,)
    coords = pixel_grid(image.shape[-1], image.device)  # (H*W, 2)
    mass = w.sum().clamp_min(1e-8)
    centre = (w[:, None] * coords).sum(0) / mass  # (2,)
    d = coords - centre  # (H*W, 2)
    cov = (w[:, None, None] * d[:, :, None] * d[:, None, :]).sum(0) / mass  # (2, 2)
    return mass, centre, cov

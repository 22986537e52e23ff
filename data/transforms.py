"""Continuous changes of an icon, applied at full resolution: warp (shift, scale, rotate) and
hue rotation, then one antialiased reduction to the working resolution.

All frames of a known-midpoint case go through exactly this pipeline (warp at 256 px, hue at
256 px, reduce), so the start, end and in-between frames differ only by the change itself,
never by how they were resampled. Icons are composited on white, so every area the warp
reveals is filled with white (the warp samples `image - 1` with zero padding and adds 1 back).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class State:
    """Where an icon is along a change: shift (dx, dy) in fractions of the image width (+x
    right, +y down), scale about the centre, rotation in degrees (clockwise on screen, as y
    points down), hue rotation in degrees. The identity is the icon itself."""

    dx: float = 0.0
    dy: float = 0.0
    scale: float = 1.0
    angle: float = 0.0
    hue: float = 0.0

    def lerp(self, other: State, t: float) -> State:
        """The state a fraction t of the way to `other`: each parameter moves linearly."""
        return State(**{f.name: (1 - t) * getattr(self, f.name) + t * getattr(other, f.name) for f in fields(self)})

    def as_dict(self) -> dict:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


def warp(images: torch.Tensor, state: State) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> (N, 3, H, W): content scaled by `state.scale` and rotated by
    `state.angle` about the centre, then shifted by (dx, dy) widths; revealed areas white.
    Bilinear sampling; the identity state samples pixel centres exactly (align_corners=False)."""
    a = math.radians(state.angle)
    cos, sin = math.cos(a), math.sin(a)
    # output point p maps to input point R^-1 (p - d) / s (normalized coords, [-1, 1] = the width)
    inv = torch.tensor([[cos, sin], [-sin, cos]], dtype=torch.float32) / state.scale  # R(-a) / s
    shift = torch.tensor([2 * state.dx, 2 * state.dy], dtype=torch.float32)  # a width is 2 units
    theta = torch.cat([inv, (-inv @ shift)[:, None]], dim=1)  # (2, 3)
    grid = F.affine_grid(theta.expand(len(images), 2, 3), list(images.shape), align_corners=False)  # (N, H, W, 2)
    moved = F.grid_sample(images - 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return (moved + 1).clamp(0, 1)  # (N, 3, H, W)


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) RGB in [0, 1] -> HSV with hue in [0, 1) (turns), s and v in [0, 1]."""
    r, g, b = rgb.unbind(-3)
    v, argmax = rgb.max(-3)
    c = v - rgb.min(-3).values  # chroma
    safe = torch.where(c > 0, c, torch.ones_like(c))
    h = torch.where(argmax == 0, ((g - b) / safe) % 6, torch.where(argmax == 1, (b - r) / safe + 2, (r - g) / safe + 4))
    h = torch.where(c > 0, h / 6, torch.zeros_like(h)) % 1.0
    s = torch.where(v > 0, c / torch.where(v > 0, v, torch.ones_like(v)), torch.zeros_like(v))
    return torch.stack([h, s, v], dim=-3)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """Inverse of `rgb_to_hsv`: (..., 3, H, W) HSV (hue in turns) -> RGB in [0, 1]."""
    h, s, v = hsv.unbind(-3)
    k = torch.stack([(5 + 6 * h) % 6, (3 + 6 * h) % 6, (1 + 6 * h) % 6], dim=-3)  # r, g, b
    return v.unsqueeze(-3) - (v * s).unsqueeze(-3) * (torch.minimum(k, 4 - k).clamp(0, 1))


def hue_rotate(images: torch.Tensor, degrees: float) -> torch.Tensor:
    """(..., 3, H, W) -> the same images with every pixel's HSV hue turned by `degrees`.
    Greys (white background included) have no hue and stay exactly as they are."""
    if degrees == 0:
        return images
    hsv = rgb_to_hsv(images)
    h = (hsv[..., 0, :, :] + degrees / 360.0) % 1.0
    return hsv_to_rgb(torch.stack([h, hsv[..., 1, :, :], hsv[..., 2, :, :]], dim=-3)).clamp(0, 1)


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 3, H, W) separable Gaussian blur, edges replicated (a white border
    stays white); sigma <= 0 returns the images."""
    if sigma <= 0:
        return images
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype)
    k = torch.exp(-x * x / (2 * sigma * sigma))
    k = k / k.sum()
    c = images.shape[1]
    out = F.pad(images, (radius, radius, radius, radius), mode="replicate")
    out = F.conv2d(out, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(out, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def reduce(images: torch.Tensor, res: int) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 3, res, res): antialiased bilinear (a triangle filter as wide as the
    reduction, like PIL's resize), the one reduction every frame of the benchmark uses."""
    if images.shape[-1] == res and images.shape[-2] == res:
        return images
    return F.interpolate(images, size=(res, res), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def render(images: torch.Tensor, state: State, res: int) -> torch.Tensor:
    """Full-resolution (N, 3, H, W) icons in `state`, reduced: (N, 3, res, res). The warp comes
    first, then the hue (pointwise), then the reduction."""
    identity_warp = state.dx == 0 and state.dy == 0 and state.scale == 1 and state.angle == 0
    moved = images if identity_warp else warp(images, state)
    return reduce(hue_rotate(moved, state.hue), res)

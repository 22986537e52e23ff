"""The input's residual: what a method's reading of an image missed, put back into its renders.

    r = residual(method, rep, images, observed)           # (N, 3, h, w): images - the render at h
    big = render_with_residual(method, rep, images, res)  # (N, 3, res, res): the render + r, bilinear
    values = sample_residual(r[i], coords)                # (P, 3) at any coordinates

A method that encodes an image reads it with an error (the reading's PSNR), and every render
at another resolution, every morph built from the reading, carries that error. Where the
input's pixels are at hand (upsampling an image, interpolating between two given images),
the error at those pixels is known exactly: r = image - render(h). Adding r back, bilinearly
between the pixel centres, makes the render reproduce the input at its own pixel centres and
keeps what the continuous render adds between them. This is one step of iterative
back-projection (Irani & Peleg 1991, "Improving resolution by image registration"), with the
method's render as the starting estimate and bilinear interpolation as the back-projection
kernel.

Pixels not `observed` (a training icon's held-out pixels) have no known error: their
residual is zero, so nothing they hold reaches the render.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from models.method import Method, Rep


@torch.no_grad()
def residual(method: Method, rep: Rep, images: torch.Tensor, observed: torch.Tensor | None = None) -> torch.Tensor:
    """images (N, 3, h, w) minus the method's render of `rep` at h, zero where not `observed`
    (N, 1, h, w) bool: (N, 3, h, w) on CPU. `Method.render` bounds its own memory."""
    out = images.cpu() - method.render(rep, images.shape[-1]).cpu()  # (N, 3, h, w)
    return out if observed is None else out * observed.cpu()


def sample_residual(r: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Bilinear values of one residual r (3, h, w) at coords (P, 2) on [-1, 1]^2 -> (P, 3), the
    border's values held beyond the outer pixel centres (a residual has no white to pad with)."""
    grid = coords.reshape(1, 1, -1, 2).to(r)  # (1, 1, P, 2)
    out = F.grid_sample(r[None], grid, mode="bilinear", padding_mode="border", align_corners=False)  # (1, 3, 1, P)
    return out[0, :, 0].T  # (P, 3)


def upsample_residual(r: torch.Tensor, res: int) -> torch.Tensor:
    """Residuals r (N, 3, h, w) at res x res pixel centres, bilinear with the border held:
    (N, 3, res, res); `sample_residual` at every pixel centre of `res`."""
    return F.interpolate(r, size=(res, res), mode="bilinear", align_corners=False)  # (N, 3, res, res)


@torch.no_grad()
def render_with_residual(method: Method, rep: Rep, images: torch.Tensor, res: int,
                         observed: torch.Tensor | None = None) -> torch.Tensor:
    """The method's render of `rep` at res plus the residual of the images it read (N, 3, h, w),
    bilinear: (N, 3, res, res) on CPU, clamped to [0, 1]. At res = h it is the images themselves
    (their observed pixels)."""
    renders = method.render(rep, res).cpu()  # (N, 3, res, res)
    return (renders + upsample_residual(residual(method, rep, images, observed), res)).clamp(0, 1)

"""Fit a `Warp` between two images without landmarks: coarse to fine, by Adam on the image loss.

    warp = fit_warp(image_a, image_b)   # (3, H, W) each in [0, 1] -> Warp with b(phi_1(p)) ~ a(p)

Why each step:
  1. Initialization from the foreground moments. Icons sit on white, so "how far from white"
     is a soft foreground mask; its centroid shift and its area ratio give a similarity
     transform that already carries a onto b when the change is a large shift or scale,
     where a gradient from the blurred image loss alone is weak or points the wrong way.
     A handful of rotation angles is tried on top and the best (by the blurred loss) kept:
     moments say nothing reliable about rotation of a non-elongated shape.
  2. A Gaussian pyramid (blurred, downsampled targets first, sharp full-resolution ones
     last): blur widens the basin of the image loss, so coarse levels find the global
     motion and fine levels the details (the classic coarse-to-fine strategy of image
     registration, e.g. Lucas & Kanade 1981 run on a pyramid, Bouguet 2000).
  3. The affine part alone first, then control grids of growing size (each initialized by
     upsampling the previous one): large-scale motion before local detail.
  4. A symmetric loss, |b o phi_1 - a|^2 + |a o phi_1^-1 - b|^2: both endpoints are
     warped toward each other, so neither image's pixels alone decide the field.
  5. The bending energy of the grid (`smoothness`) keeps the field smooth; it is zero for
     the affine part.

Measured on the quick benchmark (`python -m analysis.interpolation.warp_demo`: 10 icons x 5 transforms at
48 px; the mean frame-PSNR gain over the cross-fade, and the worst pair): all of the above
+15.70 dB (worst +10.32). Without 1: +15.54 (+10.22). Without 1 and the blur of 2: +14.68
(+2.76). Without 1, 2 and 3 (one sharp 48 px level, 9 x 9 grid, 70 steps): +11.11 (+1.82).
With 1 but without the pyramid: +15.71 (+7.48): the init finds the similarities, the
pyramid rescues the worst elastic pair. One-sided loss instead of 4: +15.53 (+9.05).
Smoothness weight 1e-4 or 1e-2 instead of 1e-3: +15.30 (+8.36) / +15.16 (+6.01). Affine
part only, no grid: +14.26 (+3.13; the elastic transform falls from 35.7 to 28.8 dB).
Adam lr 0.01 instead of 0.02: +15.63 (+7.61, one elastic pair not converged).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from analysis.interpolation.sampling import foreground_moments, gaussian_blur, resize, sample_image
from analysis.interpolation.warp import Warp, affine_velocity, smoothness

#: (level resolution, blur sigma as a fraction of the image width, control grid size or 0
#: for the affine part alone, Adam iterations). Tuned at 48 px on the quick benchmark.
SCHEDULE: tuple[tuple[int, float, int, int], ...] = (
    (16, 0.06, 0, 20),
    (24, 0.03, 5, 20),
    (48, 0.01, 9, 30),
)
#: rotation candidates (radians) tried on top of the moment-based initialization
ANGLES = tuple(math.radians(d) for d in range(-45, 46, 15))


def _pixel_grid(res: int, device) -> torch.Tensor:
    from data.pixels import pixel_grid

    return pixel_grid(res, device)


def symmetric_loss(warp: Warp, a: torch.Tensor, b: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """mean |b(phi_1(x)) - a(x)|^2 + |a(phi_1^-1(x)) - b(x)|^2 over coords (P, 2) of the
    images a, b (3, r, r) whose pixel centres are exactly `coords`."""
    pa = a.flatten(1).T  # (P, 3), row-major like pixel_grid
    pb = b.flatten(1).T  # (P, 3)
    to_b, to_a = warp.flows(coords, [1.0, -1.0])  # (P, 2) each: phi_1, phi_1^-1 in one batch
    fwd = sample_image(b, to_b)  # (P, 3): b pulled back into a's frame
    bwd = sample_image(a, to_a)  # (P, 3): a pushed into b's frame
    return (fwd - pa).pow(2).mean() + (bwd - pb).pow(2).mean()


@torch.no_grad()
def initial_warp(image_a: torch.Tensor, image_b: torch.Tensor, angles: Sequence[float] = ANGLES,
                 res: int = 16, sigma: float = 0.06, steps: int = 4) -> Warp:
    """The similarity transform (affine velocity, no grid) from the foreground moments: centroid
    shift, scale sqrt(area ratio), and the best of `angles` by the blurred symmetric loss at
    `res` px. Falls back to the identity when an image has no foreground."""
    mass_a, centre_a, _ = foreground_moments(image_a)
    mass_b, centre_b, _ = foreground_moments(image_b)
    if min(mass_a, mass_b) < 0.5:  # less than half a pixel of foreground
        return Warp.identity()
    scale = float((mass_b / mass_a).sqrt().clamp(0.25, 4.0))  # area ratio -> linear scale
    a, b = _level(image_a, res, sigma), _level(image_b, res, sigma)
    coords = _pixel_grid(res, image_a.device)
    best, best_loss = None, math.inf
    for angle in angles:
        matrix, offset = affine_velocity(centre_a, centre_b, scale, angle)
        warp = Warp(centre_a, matrix, offset, None, steps)
        loss = float(symmetric_loss(warp, a, b, coords))
        if loss < best_loss:
            best, best_loss = warp, loss
    return best


def _level(image: torch.Tensor, res: int, sigma: float) -> torch.Tensor:
    """One pyramid level: blurred at full resolution (sigma as a fraction of the width), then
    reduced to res px."""
    return resize(gaussian_blur(image, sigma * image.shape[-1]), res)


def fit_warp(image_a: torch.Tensor, image_b: torch.Tensor,
             schedule: Sequence[tuple[int, float, int, int]] = SCHEDULE, smooth: float = 1e-3,
             lr: float = 0.02, steps: int = 4, init: bool = True) -> Warp:
    """Fit the warp that carries image a onto image b: b(phi_1(p)) ~ a(p).

    image_a, image_b: (3, H, W) in [0, 1], same size, on white (anything else works too, but
    the moment initialization assumes a white background).
    schedule: pyramid levels (res, blur sigma / width, grid size or 0, iterations); a level's
        res is capped at the image's.
    smooth: weight of the grid's bending energy (`analysis.interpolation.warp.smoothness`).
    lr: Adam step (domain units; the domain is 2 wide).
    init: start from the moment-based similarity (`initial_warp`) instead of the identity.
    Returns a detached `Warp`.
    """
    if image_a.shape != image_b.shape or image_a.dim() != 3 or image_a.shape[0] != 3 or image_a.shape[1] != image_a.shape[2]:
        raise ValueError(f"fit_warp takes two square (3, H, H) images of one size, got {tuple(image_a.shape)} "
                         f"and {tuple(image_b.shape)}: resize them first (analysis.interpolation.sampling.resize)")
    image_a, image_b = image_a.detach().float(), image_b.detach().float()
    start = initial_warp(image_a, image_b, steps=steps) if init else Warp.identity()
    pivot = start.pivot.clone()
    matrix = start.matrix.clone().requires_grad_(True)
    offset = start.offset.clone().requires_grad_(True)
    grid = None
    width = image_a.shape[-1]
    for res, sigma, grid_size, iters in schedule:
        res = min(res, width)
        a, b = _level(image_a, res, sigma), _level(image_b, res, sigma)
        coords = _pixel_grid(res, image_a.device)  # (r*r, 2)
        params = [matrix, offset]
        if grid_size:
            if grid is None:
                grid = torch.zeros(2, grid_size, grid_size, device=image_a.device)
            elif grid.shape[-1] != grid_size:
                grid = F.interpolate(grid.detach()[None], size=(grid_size, grid_size), mode="bicubic",
                                     align_corners=True)[0]  # (2, G, G): the same field, finer
            grid = grid.detach().requires_grad_(True)
            params.append(grid)
        opt = torch.optim.Adam(params, lr=lr)
        for _ in range(iters):
            warp = Warp(pivot, matrix, offset, grid, steps)
            loss = symmetric_loss(warp, a, b, coords)
            if grid is not None:
                loss = loss + smooth * smoothness(grid)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return Warp(pivot, matrix, offset, grid, steps).detach()

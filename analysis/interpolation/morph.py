"""Warp-and-blend morph between two renderers, at any resolution.

    frames = morph_frames(sample_a, sample_b, warp, ts, res)   # (T, 3, res, res)

Frame t at pixel x is a blend of both endpoints, each warped to time t:
    A_t(x) = a(phi_t^-1(x)) = a(exp(-t v)(x))           a carried forward by t
    B_t(x) = b(phi_1(phi_t^-1(x))) = b(exp((1-t) v)(x))  b carried back by 1 - t
    I_t(x) = (1 - t) A_t(x) + t B_t(x)
so corresponding points travel along the flow while colours cross-fade: no double image
where the warp is right (Wolberg 1998, "Image morphing: a survey"; the warp-then-blend of
Schardong et al. 2024 and FLOWING, Bizzi et al. 2025). At t = 0 the warp is skipped
(`Warp.flow` returns its input at s = 0) and lerp is exact, so frame 0 is exactly a's
render and frame 1 exactly b's.

A renderer (`Sampler`) is any function coords (P, 2) -> rgb (P, 3): `image_sampler(image)`
for pixels, `lambda c: method.decode(rep_a, c)[0]` for an INR, so frames render at any
resolution.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from analysis.interpolation.sampling import Sampler
from analysis.interpolation.warp import Warp


def warped_coords(warp: Warp, coords: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Where frame t reads a and b for the output coords (P, 2): (coords in a, coords in b)."""
    return warp.flow(coords, -t), warp.flow(coords, 1 - t)  # (P, 2) each


@torch.no_grad()
def morph_frames(sample_a: Sampler, sample_b: Sampler, warp: Warp, ts: Sequence[float], res: int,
                 chunk: int = 1 << 16) -> torch.Tensor:
    """Frames of the warp-and-blend morph from a (t = 0) to b (t = 1): (T, 3, res, res), not clamped.

    sample_a, sample_b: renderers coords (P, 2) -> rgb (P, 3) on [-1, 1]^2.
    warp: carries a onto b (`fit_warp(image_a, image_b)`).
    ts: times in [0, 1] (any reals work: the flow extrapolates).
    res: output resolution; pixel centres as in `data/pixels.py`.
    chunk: pixels evaluated at once (bounds memory for big renders).
    """
    from data.pixels import pixel_grid

    coords = pixel_grid(res)  # (res*res, 2)
    frames = []
    for t in ts:
        t = float(t)
        parts = []
        for i in range(0, len(coords), chunk):
            c = coords[i:i + chunk]  # (p, 2)
            in_a, in_b = warped_coords(warp, c, t)
            parts.append(torch.lerp(sample_a(in_a), sample_b(in_b), t))  # (p, 3); exact ends
        frames.append(torch.cat(parts).T.reshape(3, res, res))  # (3, res, res)
    return torch.stack(frames)  # (T, 3, res, res)

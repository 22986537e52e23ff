"""Degenerate interpolation paths: what a metric must rank BELOW a true morph.

Each takes the two endpoints and the ts (which may include 0 and 1) and returns frames
(T, 3, H, W) that keep the endpoints exactly at t = 0 and t = 1, so a metric cannot tell them
from a real path by the ends. They are the cheap ways to look good on a naive metric:

    blank      every in-between frame white: no ghost, "close" to every icon in MSE
    mean       every in-between frame the mean icon of the set: the MSE-optimal guess
    crossfade  (1 - t) a + t b: the pixel-space straight line, a double image
    blur       the cross-fade blurred with a Gaussian whose sigma grows as sin(pi t) to
               `blur_sigma` px at t = 0.5: a washed-out path with no jump at its ends
    noise      the cross-fade plus Gaussian noise of std `noise_std` sin(pi t), fresh per
               frame: a grainy path with no jump at its ends
    hold       a until t < 0.5, then b: the right frames, all the change in one step

The blur and noise ramps (sin(pi t), zero at the ends) make them smooth paths on purpose: a
metric that only looks for jumps at the ends would miss them.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from data.transforms import gaussian_blur

DEGENERATE = ("blank", "mean", "crossfade", "blur", "noise", "hold")
BLUR_SIGMA = 1.5  # px at 48 px: edges spread over ~3-4 px, clearly soft but the shape is intact
NOISE_STD = 0.1  # on [0, 1]: clearly grainy (PSNR ~20 dB on its own), the shape is intact


def degenerate_path(name: str, a: torch.Tensor, b: torch.Tensor, ts: Sequence[float],
                    mean: torch.Tensor | None = None, seed: int = 0,
                    blur_sigma: float = BLUR_SIGMA, noise_std: float = NOISE_STD) -> torch.Tensor:
    """One degenerate path (see the module docstring): a, b (3, H, W) -> (T, 3, H, W) in [0, 1].
    "mean" needs `mean` (3, H, W); "noise" draws from a generator seeded with `seed`."""
    t = torch.tensor([float(x) for x in ts])  # (T,)
    inner = ((t > 0) & (t < 1))[:, None, None, None]  # (T, 1, 1, 1) frames strictly between the ends
    fade = torch.lerp(a[None], b[None], t[:, None, None, None])  # (T, 3, H, W)
    ends = torch.where(t[:, None, None, None] < 0.5, a[None], b[None])  # (T, 3, H, W) the nearer end
    if name == "crossfade":
        return fade
    if name == "hold":
        return ends
    if name == "blank":
        return torch.where(inner, torch.ones_like(fade), ends)
    if name == "mean":
        if mean is None:
            raise ValueError("the 'mean' path needs the mean icon")
        return torch.where(inner, mean[None].expand_as(fade), ends)
    ramp = torch.sin(math.pi * t)  # (T,) 0 at both ends, 1 at t = 0.5
    if name == "blur":
        return torch.cat([gaussian_blur(f[None], blur_sigma * float(r)) for f, r in zip(fade, ramp)]).clamp(0, 1)
    if name == "noise":
        gen = torch.Generator().manual_seed(seed)
        noise = torch.randn(fade.shape, generator=gen)  # (T, 3, H, W) fresh per frame
        return (fade + noise_std * ramp[:, None, None, None] * noise).clamp(0, 1)
    raise ValueError(f"unknown degenerate path {name!r}: use one of {', '.join(DEGENERATE)}")


def degenerate_paths(a: torch.Tensor, b: torch.Tensor, ts: Sequence[float], mean: torch.Tensor,
                     seed: int = 0) -> dict[str, torch.Tensor]:
    """{name: (T, 3, H, W)} for every path in DEGENERATE."""
    return {name: degenerate_path(name, a, b, ts, mean, seed) for name in DEGENERATE}

"""Priors over `modulated`'s latent grids: what `sample.py` draws new icons from.

A latent grid (C x G x G, 4 x 24 x 24 by default) is what an icon *is* in the modulated method's
weight space. A prior over grids turns that space into a generator: draw a grid, decode it with
the shared SIREN. As Functa (Dupont et al. 2022) and Spatial Functa (Bauer et al. 2023) fit a
diffusion model to their modulations, `GridFlow` fits a flow-matching model (Lipman et al. 2023;
rectified flow, Liu et al. 2023) to standardized grids:

    x0 ~ N(0, I),  x1 = (grid - mean) / std,  x_t = (1 - t) x0 + t x1,  loss = |v(x_t, t) - (x1 - x0)|^2
    sample: integrate dx/dt = v(x, t) from t = 0 to 1 (Heun's method), then grid = mean + std * x

The path needs no noise schedule (the straight line between noise and data is the schedule), so
the whole model is a small conv U-Net over the grid: two resolutions, residual blocks whose
features are shifted and scaled by the time (FiLM). Two simpler priors are its references:

    GaussianPrior   a Gaussian in the PCA basis of the training grids (the linear-Gaussian prior)
    BlendPrior      the blend of two random training grids (what interpolation already gives)

Every prior offers `sample(n, generator) -> (n, C, G, G)`.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of t (B,) in [0, 1] -> (B, dim) (the transformer's position code, Vaswani et al. 2017)."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device) / half)  # (half,)
    angles = 1000.0 * t[:, None] * freqs  # (B, half)
    return torch.cat([angles.sin(), angles.cos()], 1)  # (B, dim)


class Block(nn.Module):
    """A residual block: norm, SiLU, conv, then the time's scale and shift, norm, SiLU, conv (zero init)."""

    def __init__(self, cin: int, cout: int, tdim: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(8, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.film = nn.Linear(tdim, 2 * cout)
        self.norm2, self.conv2 = nn.GroupNorm(8, cout), nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # each block starts as its skip: a deep stack starts near the identity
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(nn.functional.silu(self.norm1(x)))  # (B, cout, g, g)
        scale, shift = self.film(temb)[..., None, None].chunk(2, dim=1)  # (B, cout, 1, 1) each
        h = nn.functional.silu(self.norm2(h) * (1 + scale) + shift)
        return self.skip(x) + self.conv2(h)


class GridFlow(nn.Module):
    """The velocity field v(x, t) over standardized grids (B, C, G, G), and its sampler.

    `mean` and `std` (C, 1, 1) are the training grids' per-channel statistics, set by `fit_scale`
    before training and saved with the weights."""

    def __init__(self, channels: int = 4, grid: int = 24, width: int = 32):
        super().__init__()
        self.channels, self.grid, self.width = channels, grid, width
        tdim = 4 * width
        self.register_buffer("mean", torch.zeros(channels, 1, 1))
        self.register_buffer("std", torch.ones(channels, 1, 1))
        self.time = nn.Sequential(nn.Linear(width, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
        self.stem = nn.Conv2d(channels, width, 3, padding=1)
        self.down = nn.ModuleList([Block(width, width, tdim), Block(width, width, tdim)])  # at G
        self.mid = nn.ModuleList([Block(width, 2 * width, tdim), Block(2 * width, 2 * width, tdim)])  # at G / 2
        self.up = nn.ModuleList([Block(3 * width, width, tdim), Block(width, width, tdim)])  # at G, with the skip
        self.head = nn.Sequential(nn.GroupNorm(8, width), nn.SiLU(), nn.Conv2d(width, channels, 3, padding=1))
        nn.init.zeros_(self.head[-1].weight)  # v = 0 at init
        nn.init.zeros_(self.head[-1].bias)

    @torch.no_grad()
    def fit_scale(self, grids: torch.Tensor) -> None:
        """Per-channel mean and std of the training grids (N, C, G, G)."""
        self.mean.copy_(grids.mean((0, 2, 3))[:, None, None])
        self.std.copy_(grids.std((0, 2, 3))[:, None, None].clamp_min(1e-6))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x (B, C, G, G) standardized, t (B,) in [0, 1] -> velocity (B, C, G, G)."""
        temb = self.time(time_embedding(t, self.width))  # (B, 4W)
        h = self.stem(x)  # (B, W, G, G)
        for block in self.down:
            h = block(h, temb)
        skip = h
        h = nn.functional.avg_pool2d(h, 2, ceil_mode=True)  # (B, W, G/2, G/2)
        for block in self.mid:
            h = block(h, temb)
        h = nn.functional.interpolate(h, size=skip.shape[-2:], mode="nearest")  # (B, 2W, G, G)
        h = torch.cat([h, skip], 1)  # (B, 3W, G, G)
        for block in self.up:
            h = block(h, temb)
        return self.head(h)  # (B, C, G, G)

    def loss(self, grids: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Flow matching on a batch of raw grids (B, C, G, G): the velocity's mean squared error."""
        x1 = (grids - self.mean) / self.std  # (B, C, G, G)
        x0 = torch.randn(x1.shape, generator=generator, device=x1.device)  # (B, C, G, G)
        t = torch.rand(len(x1), generator=generator, device=x1.device)  # (B,)
        xt = x0 + t[:, None, None, None] * (x1 - x0)
        return (self(xt, t) - (x1 - x0)).pow(2).mean()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, steps: int = 25,
               noise: torch.Tensor | None = None) -> torch.Tensor:
        """n raw grids (n, C, G, G) from noise by `steps` Heun steps. The noise is `noise` (n, C, G, G), or drawn on
        the CPU from `generator` (a CPU generator), so that a seed gives the same grids on any device."""
        device = self.mean.device
        if noise is None:
            noise = torch.randn(n, self.channels, self.grid, self.grid, generator=generator)  # (n, C, G, G)
        x = noise.to(device)
        dt = 1.0 / steps
        for k in range(steps):
            t = torch.full((len(x),), k * dt, device=device)  # (n,)
            v = self(x, t)
            guess = x + dt * v
            x = x + dt * 0.5 * (v + self(guess, t + dt))  # Heun: the trapezoid of the two ends' velocities
        return self.mean + self.std * x


class GaussianPrior:
    """A Gaussian in the PCA basis of the training grids: mean + sum_k sqrt(var_k) N(0, 1) u_k over the
    top `rank` principal directions (the linear-Gaussian reference)."""

    def __init__(self, grids: torch.Tensor, rank: int = 256):
        flat = grids.flatten(1).double()  # (N, D)
        self.shape = grids.shape[1:]
        self.mean = flat.mean(0)  # (D,)
        _, s, vh = torch.linalg.svd(flat - self.mean, full_matrices=False)
        rank = min(rank, len(s))
        self.basis, self.scale = vh[:rank], s[:rank] / math.sqrt(max(len(flat) - 1, 1))  # (R, D), (R,)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        z = torch.randn(n, len(self.scale), generator=generator, dtype=torch.float64)  # (n, R)
        return (self.mean + (z * self.scale) @ self.basis).float().view(n, *self.shape)


class BlendPrior:
    """The blend (1 - t) a + t b of two random training grids, t ~ U(0.25, 0.75): interpolation as a generator."""

    def __init__(self, grids: torch.Tensor):
        self.grids = grids

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        pick = torch.randint(len(self.grids), (2, n), generator=generator)  # (2, n)
        t = 0.25 + 0.5 * torch.rand(n, 1, 1, 1, generator=generator)  # (n, 1, 1, 1)
        return torch.lerp(self.grids[pick[0]], self.grids[pick[1]], t)

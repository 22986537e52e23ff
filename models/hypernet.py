"""Hypernetwork: a latent code -> the full set of SIREN weights for one image.

Design (one shared trunk, one linear head for all parameters):
    h = LayerNorm(MLP(z))                                   (B, H), unit variance per entry
    theta_b[name] = base[name] + head(h)[name] / H          (B, *shape)
`base` is a learned SIREN with the SIREN init (Sitzmann et al. 2020, sec. 3.2).

Why the 1/H: under Adam every head weight moves ~lr per step, and a delta sums H of them
times |h_j| ~ 1, so without it an emitted weight would move ~H times faster than a SIREN
weight trained directly at the same lr (measured: one 16 px image diverges at lr 1e-3).
With it, emitted weights move ~lr per step, like a per-image SIREN, whose Adam lr is known
to work. The head's rows start so that the per-image delta has std `head_init` x the
parameter's init std: emitted weights follow the SIREN init statistics at step 0 (std
sqrt(1 + head_init^2) x init std) yet differ per image from the first step.

Size: trunk D*H + H*H, head H * (#SIREN params). For a 64-wide, 5-layer SIREN (12.9k
weights) and H = 256 that is about 3.4M parameters, against ~52M for the 256-wide SIREN
hypernetwork of Sitzmann et al.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from models.encoder import build_latent_source, latent_penalty, latent_penalty_weight
from models.method import Method, Rep, rgb_from_output
from models.siren import Params, Siren, SirenConfig


class HyperNetwork(nn.Module):
    """latent (B, D) -> SIREN params {name: (B, *shape)} in the schema of `siren`."""

    def __init__(self, siren: Siren, latent_dim: int, hidden: int = 256, head_init: float = 0.5):
        super().__init__()
        self.base = siren  # its own parameters are the learned base, initialized with the SIREN init
        self.names = [name for name, _ in siren.named_parameters()]
        self.shapes = [p.shape for _, p in siren.named_parameters()]
        self.sizes = [p.numel() for _, p in siren.named_parameters()]
        self.trunk = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(),
                                   nn.Linear(hidden, hidden), nn.LayerNorm(hidden))
        for layer in self.trunk:
            if isinstance(layer, nn.Linear):  # He init, so image-specific latents stay distinct in h
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)
        self.head = nn.Linear(hidden, sum(self.sizes))
        self.hidden = hidden
        nn.init.zeros_(self.head.bias)
        std = siren.init_std()
        with torch.no_grad():
            # delta = head(h)/H has std sqrt(H) * std(W) / H when h has unit variance
            for rows, name in zip(self.head.weight.split(self.sizes), self.names):
                bound = head_init * std[name] * math.sqrt(hidden) * math.sqrt(3)
                rows.uniform_(-bound, bound)

    def forward(self, latent: torch.Tensor) -> Params:
        delta = self.head(self.trunk(latent)) / self.hidden  # (B, T)
        params = {}
        for (name, base), shape, chunk in zip(self.base.named_parameters(), self.shapes,
                                              delta.split(self.sizes, dim=-1)):
            params[name] = base + chunk.reshape(len(latent), *shape)  # (B, *shape)
        return params


class HyperINR(Method):
    """Latent source (conv set encoder or code table) -> hypernetwork -> per-image SIREN."""

    decodes_latent = True

    def __init__(self, siren_cfg: SirenConfig, latent_source: str, num_images: int,
                 latent_dim: int = 128, hyper_hidden: int = 256, latent_reg: float = 1e-4,
                 channels_last: bool = False):
        super().__init__()
        self.siren = Siren(siren_cfg)
        self.latent_source = build_latent_source(latent_source, num_images, latent_dim, channels_last)
        self.hypernet = HyperNetwork(self.siren, latent_dim, hyper_hidden)
        self.latent_reg = latent_penalty_weight(latent_source, latent_reg)
        self.handles_unseen_images = latent_source == "conv"

    def encode(self, images, masks, index) -> Rep:
        latent = self.latent_source(images, masks, index)  # (B, D)
        return Rep(latent=latent, params=self.hypernet(latent))

    def params_from_latent(self, latent: torch.Tensor) -> Params:
        """Emit SIREN weights for arbitrary latents (B, D), e.g. interpolated ones."""
        return self.hypernet(latent)

    def decode(self, rep: Rep, coords: torch.Tensor) -> torch.Tensor:
        return rgb_from_output(self.siren.functional(rep.params, coords))  # (B, P, 3)

    def penalty(self, rep: Rep) -> torch.Tensor:
        return latent_penalty(rep.latent, self.latent_reg)

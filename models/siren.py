"""SIREN (Sitzmann et al. 2020) and its coordinate-MLP relatives, with a pure functional forward.

One network, four flavours, so the paper's comparison (ReLU < positional encoding <
Fourier features < SIREN) can be rerun on the icons:
    activation="sine", encoding="none"        SIREN
    activation="relu", encoding="none"        plain ReLU MLP
    activation="relu", encoding="positional"  NeRF positional encoding (Mildenhall et al. 2020, sec. 5.1)
    activation="relu", encoding="fourier"     Gaussian Fourier features (Tancik et al. 2020, sec. 6)

The parameter schema: `functional(params, coords)` takes a dict whose keys are this
module's `named_parameters()` names ("layers.0.weight", ...). A dict whose tensors carry a
leading batch dimension holds one set of weights per image. The hypernetwork emits such a
dict, MAML adapts it, evaluation renders it and interpolation blends it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

Params = dict[str, torch.Tensor]


@dataclass
class SirenConfig:
    hidden: int = 64            # width of every hidden layer
    hidden_layers: int = 3      # sine layers after the first one
    w0: float = 30.0            # frequency factor, Sitzmann et al. 2020, sec. 3.2
    activation: str = "sine"    # "sine" or "relu"
    encoding: str = "none"      # "none", "positional" or "fourier"
    pe_frequencies: int = 8     # positional encoding: octaves 2^0 .. 2^(L-1) times pi
    fourier_features: int = 64  # Gaussian Fourier features: number of random frequencies
    fourier_scale: float = 5.0  # std of those frequencies; Tancik et al. use 10 on [0,1], our domain is [-1,1]


class Siren(nn.Module):
    """Coordinate MLP: coords (..., P, 2) [+ latent (B, D)] -> values (..., P, out_features)."""

    def __init__(self, cfg: SirenConfig, in_features: int = 2, out_features: int = 3, latent_dim: int = 0):
        super().__init__()
        if cfg.activation not in ("sine", "relu") or cfg.encoding not in ("none", "positional", "fourier"):
            raise ValueError(f"unknown activation/encoding {cfg.activation}/{cfg.encoding}")
        self.cfg, self.latent_dim = cfg, latent_dim
        if cfg.encoding == "fourier":
            gen = torch.Generator().manual_seed(0)  # fixed frequencies: part of the architecture
            self.register_buffer("fourier_b", torch.randn(in_features, cfg.fourier_features, generator=gen) * cfg.fourier_scale)
        enc_dim = {"none": in_features,
                   "positional": in_features * (1 + 2 * cfg.pe_frequencies),
                   "fourier": 2 * cfg.fourier_features}[cfg.encoding]
        widths = [enc_dim + latent_dim] + [cfg.hidden] * (cfg.hidden_layers + 1) + [out_features]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """SIREN init (Sitzmann et al. 2020, sec. 3.2 and supplement sec. 1.5): first layer
        U(-1/in, 1/in); later layers U(-sqrt(6/in)/w0, sqrt(6/in)/w0), so that every
        pre-activation w0*(Wx+b) is ~ arcsine-distributed with unit-scale spread. Biases keep
        nn.Linear's default U(-1/sqrt(in), 1/sqrt(in)), as in the reference implementation.
        ReLU networks use Kaiming-uniform (He et al. 2015)."""
        for k, layer in enumerate(self.layers):
            fan_in = layer.in_features
            nn.init.uniform_(layer.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
            if self.cfg.activation == "relu":
                nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
            elif k == 0:
                nn.init.uniform_(layer.weight, -1 / fan_in, 1 / fan_in)
            else:
                bound = math.sqrt(6 / fan_in) / self.cfg.w0
                nn.init.uniform_(layer.weight, -bound, bound)

    def init_std(self) -> dict[str, float]:
        """Standard deviation of each parameter under `reset_parameters` (uniform: bound/sqrt(3))."""
        std = {}
        for k, layer in enumerate(self.layers):
            fan_in = layer.in_features
            if self.cfg.activation == "relu":
                w_bound = math.sqrt(6 / fan_in)
            else:
                w_bound = 1 / fan_in if k == 0 else math.sqrt(6 / fan_in) / self.cfg.w0
            std[f"layers.{k}.weight"] = w_bound / math.sqrt(3)
            std[f"layers.{k}.bias"] = 1 / math.sqrt(3 * fan_in)
        return std

    def params(self) -> Params:
        """The module's own parameters as a schema dict (no batch dimension)."""
        return dict(self.named_parameters())

    def encode_coords(self, coords: torch.Tensor) -> torch.Tensor:
        """(..., P, 2) in [-1, 1] -> (..., P, enc_dim)."""
        if self.cfg.encoding == "positional":
            freqs = math.pi * 2.0 ** torch.arange(self.cfg.pe_frequencies, device=coords.device)  # (L,)
            angles = (coords.unsqueeze(-1) * freqs).flatten(-2)  # (..., P, 2L)
            return torch.cat([coords, torch.sin(angles), torch.cos(angles)], dim=-1)
        if self.cfg.encoding == "fourier":
            angles = 2 * math.pi * coords @ self.fourier_b  # (..., P, F)
            return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
        return coords

    def functional(self, params: Params, coords: torch.Tensor, latent: torch.Tensor | None = None) -> torch.Tensor:
        """Pure forward over a parameter dict.

        params: {name: (*shape)} shared by all images, or {name: (B, *shape)} one set per image.
        coords: (P, 2) shared grid, or (B, P, 2) per image.
        latent: None, or (B, D) concatenated to every (encoded) coordinate of image b.
        returns (B, P, out) if anything is batched, else (P, out).
        """
        x = self.encode_coords(coords)  # (..., P, E)
        last = len(self.layers) - 1
        sine = self.cfg.activation == "sine"
        for k in range(last + 1):
            weight, bias = params[f"layers.{k}.weight"], params[f"layers.{k}.bias"]  # (..., out, in), (..., out)
            if sine and k < last:
                # sin(w0 (Wx + b)) == sin((w0 W) x + w0 b): scaling the small weight tensor instead of
                # the (B, P, hidden) pre-activation saves a full elementwise pass, forward and backward.
                weight, bias = weight * self.cfg.w0, bias * self.cfg.w0
            if k == 0 and latent is not None:
                # [x, z] @ W^T == x @ W_x^T + z @ W_z^T: the latent term is computed once per
                # image instead of once per pixel, and no (B, P, E+D) concat is materialized.
                e = x.shape[-1]
                h = x @ weight[..., :e].mT + (latent.unsqueeze(-2) @ weight[..., e:].mT + bias.unsqueeze(-2))
            else:
                h = x @ weight.mT + bias.unsqueeze(-2)  # (..., P, out)
            x = h if k == last else torch.sin(h) if sine else torch.relu(h)
        return x

    def forward(self, coords: torch.Tensor, latent: torch.Tensor | None = None) -> torch.Tensor:
        return self.functional(self.params(), coords, latent)


def module_key(name: str) -> str:
    """A parameter name ("layers.0.weight") as an nn.ParameterDict key, which may not contain
    "." ("layers__0__weight"); `param_name` undoes it. The one escaping used by every method."""
    return name.replace(".", "__")


def param_name(key: str) -> str:
    return key.replace("__", ".")

"""Baseline: one shared SIREN whose input is [coordinates, the image's latent].

The latent enters only the first layer (Park et al. 2019's DeepSDF decoder concatenates it
the same way), so images differ only by a per-image shift of the first layer's
pre-activations; everything after is shared. That is the limitation the hypernetwork lifts.
"""
from __future__ import annotations

import torch

from models.encoder import build_latent_source, latent_penalty, latent_penalty_weight
from models.method import Method, Rep, rgb_from_output
from models.siren import Siren, SirenConfig


class LatentConcatINR(Method):
    decodes_latent = True  # the SIREN reads the latent itself
    emits_weights = False  # one shared SIREN; a Rep is the latent alone

    def __init__(self, siren_cfg: SirenConfig, latent_source: str, num_images: int,
                 latent_dim: int = 128, latent_reg: float = 1e-4, channels_last: bool = False):
        super().__init__()
        self.siren = Siren(siren_cfg, latent_dim=latent_dim)
        self.latent_source = build_latent_source(latent_source, num_images, latent_dim, channels_last)
        self.latent_reg = latent_penalty_weight(latent_source, latent_reg)
        self.handles_unseen_images = latent_source == "conv"

    def encode(self, images, masks, index) -> Rep:
        return Rep(latent=self.latent_source(images, masks, index))  # (B, D)

    def decode(self, rep: Rep, coords: torch.Tensor) -> torch.Tensor:
        return rgb_from_output(self.siren(coords, rep.latent))  # (B, P, 3)

    def params_from_latent(self, latent: torch.Tensor) -> None:
        return None  # decode reads Rep.latent directly

    def penalty(self, rep: Rep) -> torch.Tensor:
        return latent_penalty(rep.latent, self.latent_reg)

"""Reference: one independent SIREN per training image (no sharing at all).

The weights of image i are row i of a table {name: (N, *shape)}, all starting from the
same SIREN init and fitted jointly in one batched forward. It is the classic
"fit a SIREN to each image" setting (Sitzmann et al. 2020, sec. 4.1): it cannot encode
unseen images, and at 256 px it shows what a network that saw only 48 px pixels invents
between them, the reference the joint models are compared against.
"""
from __future__ import annotations

import torch
from torch import nn

from models.method import Method, Rep, rgb_from_output
from models.siren import Siren, SirenConfig, module_key, param_name


class PerImageSiren(Method):
    handles_unseen_images = False

    def __init__(self, siren_cfg: SirenConfig, num_images: int):
        super().__init__()
        self.siren = Siren(siren_cfg)
        self.siren.requires_grad_(False)  # the architecture; its weights are copied into the table
        self.table = nn.ParameterDict({  # keyed by module_key(name): ParameterDict keys may not hold "."
            module_key(name): nn.Parameter(p.detach().expand(num_images, *p.shape).clone())
            for name, p in self.siren.named_parameters()})

    def encode(self, images, masks, index) -> Rep:
        return Rep(params={param_name(key): p[index] for key, p in self.table.items()})  # {name: (B, *shape)}

    def decode(self, rep: Rep, coords: torch.Tensor) -> torch.Tensor:
        return rgb_from_output(self.siren.functional(rep.params, coords))  # (B, P, 3)

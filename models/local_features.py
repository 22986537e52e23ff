"""Local implicit image function: a feature map of the image queried at a coordinate.

A global latent (concat, hyper) has to carry every edge of an icon through one vector; here
each coordinate reads the features of the pixels around it, after LIIF (Chen et al. 2021,
"Learning Continuous Image Representation with Local Implicit Image Function"):

    filled = neighbour_fill(image, mask)           the observed pixels, held-out ones filled
    feats  = conv(filled, mask)                    (B, C, r, r), one feature per input pixel
    rgb(x) = bicubic(filled)(x) + sum_c w_c mlp([feats[c], (x - centre_c) * r])

where c runs over the 4 pixel centres around x and w_c are LIIF's area weights (the area
of the rectangle between x and the diagonally opposite centre), so the output is continuous.
The MLP predicts a residual over bicubic interpolation and its last layer starts at zero:
the untrained method is bicubic upsampling, and training only has to learn what bicubic
misses (sharp edges), which a prior from many icons can say and one 48 px image cannot.
LIIF's cell-size input is left out: `decode` gets coordinates only, and training mixes the
48 px and 256 px grids anyway.

A Rep's latent is the flattened grid [filled image, features] (B, (3 + C) r^2): blending two
latents blends the two grids, so the method decodes latents (interpolation, similarity).
ReLU, not sine: nothing here needs high frequencies from the MLP, and a ReLU MLP over smooth
inputs has none to leak into flat regions as speckle.
"""
from __future__ import annotations

import torch
from torch import nn

from data.pixels import neighbour_fill
from models.method import Method, Rep

# The 4 pixel centres around a point, as offsets from the one at or before it (LIIF's local ensemble).
CORNERS = ((0, 0), (0, 1), (1, 0), (1, 1))


class LocalINR(Method):
    decodes_latent = True  # decode reads the feature grid in Rep.latent
    emits_weights = False  # one shared MLP; a Rep is the grid alone

    def __init__(self, res: int, channels: int = 32, depth: int = 4, hidden: int = 64, hidden_layers: int = 2,
                 channels_last: bool = False):
        super().__init__()
        self.res, self.channels, self.channels_last = res, channels, channels_last
        layers: list[nn.Module] = [nn.Conv2d(4, channels, 3, padding=1)]
        for _ in range(depth - 1):  # full resolution throughout: the features must place edges within a pixel
            layers += [nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1)]
        self.features = nn.Sequential(*layers)
        mlp: list[nn.Module] = [nn.Linear(channels + 2, hidden), nn.ReLU()]
        for _ in range(hidden_layers - 1):
            mlp += [nn.Linear(hidden, hidden), nn.ReLU()]
        mlp.append(nn.Linear(hidden, 3))
        self.mlp = nn.Sequential(*mlp)
        for module in self.modules():  # He init for the ReLU stacks (He et al. 2015)
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        nn.init.zeros_(self.mlp[-1].weight)  # the residual starts at zero: the untrained method is bicubic

    def encode(self, images: torch.Tensor, masks: torch.Tensor, index: torch.Tensor) -> Rep:
        """images (B, 3, r, r) in [0, 1]; masks (B, 1, r, r) bool -> Rep(latent (B, (3 + C) r^2))."""
        if images.shape[-1] != self.res:
            raise ValueError(f"LocalINR reads {self.res} px images, got {images.shape[-1]} px")
        masks = masks.bool()
        filled = neighbour_fill(images, masks)  # (B, 3, r, r), held-out pixels never read
        x = torch.cat([1 - filled, masks.to(images.dtype)], 1)  # (B, 4, r, r), white = 0
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        feats = self.features(x)  # (B, C, r, r)
        return Rep(latent=torch.cat([filled, feats.contiguous()], 1).flatten(1))  # (B, (3 + C) r^2)

    def decode(self, rep: Rep, coords: torch.Tensor) -> torch.Tensor:
        """coords (P, 2) or (B, P, 2) in [-1, 1] -> rgb (B, P, 3) in [0, 1] space."""
        r, c = self.res, self.channels
        grid = rep.latent.view(len(rep.latent), 3 + c, r, r)  # (B, 3 + C, r, r)
        b = len(grid)
        coords = coords.expand(b, -1, -1) if coords.dim() == 2 else coords  # (B, P, 2)
        base = nn.functional.grid_sample(grid[:, :3], coords[:, :, None], mode="bicubic", padding_mode="border",
                                         align_corners=False)[..., 0].mT  # (B, P, 3)
        feats = grid[:, 3:].flatten(2).mT  # (B, r^2, C)
        pos = (coords + 1) * (r / 2) - 0.5  # (B, P, 2) in pixel units: pixel j's centre at j
        out, total = 0.0, 0.0
        below = pos.floor()  # (B, P, 2) the centre at or before the point on each axis
        for dx, dy in CORNERS:
            # one of the 4 centres around it, (B, P, 2); offsets added as Python numbers (a tensor of
            # them would be a host-to-device copy, i.e. a sync, per corner and decode)
            cell = torch.stack([below[..., 0] + dx, below[..., 1] + dy], -1).clamp(0, r - 1)
            rel = pos - cell  # (B, P, 2) in pixels, in [-1, 1] inside the image
            index = (cell[..., 1] * r + cell[..., 0]).long()  # (B, P) row-major
            f = feats.gather(1, index[..., None].expand(-1, -1, c))  # (B, P, C)
            # LIIF's weight: the area between the point and the opposite centre, 1 - |rel| per axis
            weight = (1 - rel.abs()).clamp_min(0).prod(-1, keepdim=True)  # (B, P, 1)
            out = out + weight * self.mlp(torch.cat([f, rel], -1))  # (B, P, 3)
            total = total + weight
        return base + out / total.clamp_min(1e-6)  # (B, P, 3)

    def params_from_latent(self, latent: torch.Tensor) -> None:
        return None  # decode reads the grid in Rep.latent directly

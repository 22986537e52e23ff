"""Latent sources: how an image's code is obtained.

ConvSetEncoder  amortized: reads any observed subset of an image's pixels (a mask) and
                pools it to a latent, so it also works on unseen images.
CodeTable       auto-decoder (Park et al. 2019, DeepSDF sec. 4): one free latent per
                training image, the exercise's "serial number" input.
"""
from __future__ import annotations

import torch
from torch import nn


class ConvSetEncoder(nn.Module):
    """Convolutional set encoder: (images, masks) -> latent (B, D).

    The input is the set of observed pixels, given as [image * mask, mask] (4 channels),
    so a full image, 10% of its pixels or a random context set are all valid inputs, at
    any resolution. Features are pooled by a masked mean over the final feature map
    (weights = downsampled mask density), which makes the latent independent of image
    size and of how many pixels are observed.

    The latent is standardized per dimension over the batch (BatchNorm without affine; running
    statistics at eval time and for a batch of one). Pooled features of icons are dominated by what all images share
    (white background, the mask channel): at init only ~25% of the latent's variance is
    between images, and the hypernetwork then learns the mean image first (measured at 24 px:
    12.5 dB after 120 steps without, 24.4 dB with).
    """

    def __init__(self, latent_dim: int = 128, width: int = 32, downsamples: int = 3, channels_last: bool = False):
        super().__init__()
        # channels_last: feed the convolutions NHWC tensors: oneDNN's NHWC kernels are faster on
        # CPU for these narrow layers (measured: fwd+bwd of 100 icons at 48 px 0.12 -> 0.09 s on 2
        # cores), same values within float rounding. Part of the fast path (train/fast.py).
        self.channels_last = channels_last
        # The first convolution already halves the resolution: at full resolution the encoder
        # would cost more than the SIREN it feeds (measured: 4x the FLOPs at 48 px, width 64).
        layers: list[nn.Module] = [nn.Conv2d(4, width, 3, stride=2, padding=1), nn.ReLU()]
        for k in range(downsamples):
            stride = 2 if k < downsamples - 1 else 1
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
                       nn.Conv2d(width, 2 * width if k == downsamples - 1 else width, 3, stride=stride, padding=1), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.downsamples = downsamples
        self.head = nn.Sequential(nn.Linear(2 * width, 4 * width), nn.ReLU(), nn.Linear(4 * width, latent_dim))
        self.standardize = nn.BatchNorm1d(latent_dim, affine=False)
        # He init (He et al. 2015) keeps the activation scale through the ReLU stack; with
        # PyTorch's default (variance 1/(3 fan_in)) the latent shrinks ~1/sqrt(3) per layer and
        # all images start with nearly the same latent, which stalls training (measured: stuck
        # at the mean image, 11 dB, for 100+ steps).
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def forward(self, images: torch.Tensor, masks: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        """images (B, 3, H, W) in [0, 1]; masks (B, 1, H, W) bool or float -> (B, D). index is unused."""
        m = masks.to(images.dtype)  # (B, 1, H, W)
        x = torch.cat([(1 - images) * m, m], dim=1)  # (B, 4, H, W), unobserved pixels are 0
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)  # same shape, NHWC strides
        feats = self.features(x)  # (B, C, h, w)
        density = nn.functional.adaptive_avg_pool2d(m, feats.shape[-2:])  # (B, 1, h, w)
        pooled = (feats * density).sum((-2, -1)) / density.sum((-2, -1)).clamp_min(1e-6)  # (B, C)
        latent = self.head(pooled)  # (B, D)
        if self.training and len(latent) == 1:
            # batch statistics of one image are undefined: use the running ones
            bn = self.standardize
            return nn.functional.batch_norm(latent, bn.running_mean, bn.running_var, training=False, eps=bn.eps)
        return self.standardize(latent)


class CodeTable(nn.Module):
    """One learned latent per training image: index (B,) -> (B, D).

    Codes start at N(0, 1). DeepSDF (Park et al. 2019) starts them at N(0, 0.01^2), but then
    every image looks the same to the hypernetwork until the codes have grown, which we
    measured to cost ~100 Adam steps at lr 1e-3 (24 px icons: 20 dB vs 27 dB at step 90).
    """

    def __init__(self, num_images: int, latent_dim: int = 128):
        super().__init__()
        self.codes = nn.Embedding(num_images, latent_dim)
        nn.init.normal_(self.codes.weight, 0.0, 1.0)

    def forward(self, images: torch.Tensor | None, masks: torch.Tensor | None, index: torch.Tensor) -> torch.Tensor:
        """index (B,) long -> (B, D); the pixels are not looked at."""
        return self.codes(index)  # (B, D)


def build_latent_source(kind: str, num_images: int, latent_dim: int, channels_last: bool = False) -> nn.Module:
    """"conv" -> ConvSetEncoder, "table" -> CodeTable; both are called as source(images, masks, index)."""
    if kind == "conv":
        return ConvSetEncoder(latent_dim, channels_last=channels_last)
    if kind == "table":
        return CodeTable(num_images, latent_dim)
    raise ValueError(f"unknown latent source {kind!r}: use 'conv' or 'table'")


def latent_penalty_weight(kind: str, weight: float) -> float:
    """The weight of the latent prior mean ||z||^2 for a latent source: the code table's free
    codes need it (DeepSDF's prior, Park et al. 2019), the conv encoder's do not: its latents
    are standardized per batch, so ||z||^2 is a constant with zero gradient there."""
    return weight if kind == "table" else 0.0


def latent_penalty(latent: torch.Tensor, weight: float) -> torch.Tensor:
    """weight * mean_b ||z_b||^2 for latents (B, D); an exact zero when weight is 0."""
    if not weight:
        return latent.new_zeros(())
    return weight * latent.pow(2).sum(-1).mean()

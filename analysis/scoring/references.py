"""Trivial references: what a method must beat before its numbers mean anything.

A PSNR alone says little: 20 dB on held-out pixels is good if guessing gives 10 and poor if
averaging a pixel's neighbours gives 28. So the evaluation scores, beside every method and on
exactly the same pixels, predictors that learn nothing:

    mean_image       the constant mean icon of the training set (over observed pixels only),
                     the best constant prediction in MSE: a method at this level ignores the icon
    neighbour_fill   (data/pixels.py, since models read it too) every unobserved pixel the mean
                     of its observed 8-neighbours (wider rings when none is observed): local
                     smoothness, no learning; a method below it on
                     held-out pixels has learned less about an icon than its neighbours say
    bicubic_resize   PIL bicubic; Lanczos is data.images.lanczos_resize (how icons are resized)

All are pure functions of tensors, (B, 3, H, W) float in [0, 1]; masks (B, 1, H, W) bool.
`analysis.scoring.evaluate.reference_scores` turns them into the `reference/...` TensorBoard tags.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from data.images import lanczos_resize


def mean_image(images: torch.Tensor, observed: torch.Tensor | None = None) -> torch.Tensor:
    """Per-pixel mean over images of the observed pixels: (N, 3, H, W) -> (1, 3, H, W).

    Only observed pixels count, so the mean never carries a held-out pixel's value into the
    held-out score; a pixel observed in no image gets the mean colour of all observed pixels.
    """
    if observed is None:
        return images.mean(0, keepdim=True)  # (1, 3, H, W)
    m = observed.to(images.dtype)  # (N, 1, H, W)
    total, count = (images * m).sum(0, keepdim=True), m.sum(0, keepdim=True)  # (1, 3, H, W), (1, 1, H, W)
    overall = (images * m).sum((0, 2, 3)) / m.sum().clamp_min(1)  # (3,)
    return torch.where(count > 0, total / count.clamp_min(1), overall.view(1, 3, 1, 1))


def bicubic_resize(images: torch.Tensor, res: int) -> torch.Tensor:
    """Resize (N, 3, H, W) [0, 1] images to res x res with PIL bicubic, quantized to 8 bits
    on the way in and out exactly like data.images.lanczos_resize."""
    arrays = (images.clamp(0, 1) * 255.0).round().byte().permute(0, 2, 3, 1).cpu().numpy()  # (N, H, W, 3)
    out = np.stack([np.asarray(Image.fromarray(a).resize((res, res), Image.BICUBIC)) for a in arrays])
    return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0)  # (N, 3, res, res)


UPSAMPLERS = {"lanczos": lanczos_resize, "bicubic": bicubic_resize}

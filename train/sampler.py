"""Which pixels a training step sees: never a held-out pixel, never a test image.

`PixelSampler.sample(index, count)` returns per-image coordinates and targets:
    count = 0    all training pixels of the training resolution (90% of each image)
    count > 0    a fresh random subset of `count` training pixels per image
With `hr_images` (true renders at a higher resolution R of the same training images),
half the pixels come from the R px image instead, at R px pixel centres, except where
the enclosing low-res pixel is held out, so the held-out 10% stays unseen at every scale.
This teaches a model that reads low-res inputs what lies between their pixels.
"""
from __future__ import annotations

import torch

from data.pixels import pixel_grid, to_pixels
from train.fast import to_device  # pinned, non-blocking copies on CUDA


class PixelSampler:
    def __init__(self, images: torch.Tensor, heldout: torch.Tensor, hr_images: torch.Tensor | None = None):
        """images (N, 3, res, res); heldout (N, 1, res, res) bool; hr_images (N, 3, R, R) or None."""
        n, _, res, _ = images.shape
        self.coords = pixel_grid(res)  # (res*res, 2)
        self.targets = to_pixels(images)  # (N, res*res, 3)
        keep = ~heldout.view(n, -1)  # (N, res*res)
        # Every image holds out the same number of pixels, so the kept indices form a dense (N, K) table.
        self.train_index = keep.nonzero()[:, 1].view(n, -1)  # (N, K)
        self.hr = None
        if hr_images is not None:
            big = hr_images.shape[-1]
            # (R,) the low-res row containing each high-res pixel centre (i + 1/2) / R
            rows = (2 * torch.arange(big) + 1) * res // (2 * big)
            lowres_of = (rows[:, None] * res + rows[None, :]).flatten()  # (R*R,) low-res pixel index
            self.hr = (pixel_grid(big), to_pixels(hr_images), keep[:, lowres_of])  # (R*R,2), (N,R*R,3), (N,R*R)

    def to(self, device: torch.device) -> "PixelSampler":
        self.coords, self.targets, self.train_index = (to_device(t, device) for t in (self.coords, self.targets, self.train_index))
        if self.hr is not None:
            self.hr = tuple(to_device(t, device) for t in self.hr)
        return self

    def sample(self, index: torch.Tensor, count: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """index (B,) image rows -> coords (B, P, 2) or (P, 2), targets (B, P, 3)."""
        train_index = self.train_index[index]  # (B, K)
        if count == 0 and self.hr is None:
            return self.coords[train_index], self.targets[index].gather(1, train_index[..., None].expand(-1, -1, 3))
        count = count or train_index.shape[1]
        low = count - count // 2 if self.hr is not None else count
        pick = torch.rand(train_index.shape, generator=gen, device=gen.device).argsort(1)[:, :low]  # (B, low)
        chosen = train_index.gather(1, pick)  # (B, low)
        coords = self.coords[chosen]  # (B, low, 2)
        targets = self.targets[index].gather(1, chosen[..., None].expand(-1, -1, 3))  # (B, low, 3)
        if self.hr is None:
            return coords, targets
        hr_coords, hr_targets, hr_keep = self.hr
        score = torch.rand(hr_keep[index].shape, generator=gen, device=gen.device).masked_fill(~hr_keep[index], -1)
        hr_chosen = score.topk(count // 2, dim=1).indices  # (B, count//2), only kept pixels (score >= 0)
        coords = torch.cat([coords, hr_coords[hr_chosen]], 1)
        targets = torch.cat([targets, hr_targets[index].gather(1, hr_chosen[..., None].expand(-1, -1, 3))], 1)
        return coords, targets

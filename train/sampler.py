"""Which pixels a training step sees: never a held-out pixel, never a test image.

`PixelSampler.sample(index, count)` returns per-image coordinates and targets:
    count = 0    all training pixels of the training resolution (90% of each image)
    count > 0    a fresh random subset of `count` training pixels per image
With `hr_images` (true renders at a higher resolution R of the same training images),
half the pixels come from the R px image instead, at R px pixel centres, except where
the enclosing low-res pixel is held out, so the held-out 10% stays unseen at every scale.
This teaches a model that reads low-res inputs what lies between their pixels. High-res
pixels are drawn with replacement from a per-image table of the kept ones, so a step costs
O(pixels drawn), not O(R^2): drawing by a random score over all R^2 pixels of every image
(the first version) made a 256 px-supervised step about 1.5x slower than a plain one.
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
            hr_keep = keep[:, lowres_of]  # (N, R*R)
            counts = hr_keep.sum(1)  # (N,) kept high-res pixels per image (they differ slightly)
            # (N, max count) kept indices, each row padded by repeating its own first entry (never drawn)
            table = torch.stack([torch.cat([row.nonzero()[:, 0], row.nonzero()[:1, 0].expand(int(counts.max() - c))])
                                 for row, c in zip(hr_keep, counts)])
            self.hr = (pixel_grid(big), to_pixels(hr_images), table, counts)  # (R*R,2), (N,R*R,3), (N,M), (N,)

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
        targets = self.targets[index[:, None], chosen]  # (B, low, 3)
        if self.hr is None:
            return coords, targets
        hr_coords, hr_targets, table, counts = self.hr
        u = torch.rand(len(index), count // 2, generator=gen, device=gen.device)  # (B, count//2) in [0, 1)
        slot = (u * counts[index, None]).long().clamp_max(counts[index, None] - 1)  # (B, count//2) < each image's count
        hr_chosen = table[index[:, None], slot]  # (B, count//2), kept high-res pixels only
        coords = torch.cat([coords, hr_coords[hr_chosen]], 1)
        targets = torch.cat([targets, hr_targets[index[:, None], hr_chosen]], 1)  # (B, count, 3), no (B, R*R, 3) copy
        return coords, targets

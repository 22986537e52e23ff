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

With `edge_share` > 0, that share of the high-res pixels is drawn from the kept pixels on an edge
of the high-res render (a colour step of more than EDGE_STEP to a 4-neighbour, either side of it)
and the rest uniformly: flat icons are mostly flat, and their edges are where a blurry render
loses (GradNCP, Tack et al. 2023, likewise spends a step's pixels where the error is).
"""
from __future__ import annotations

import torch

from data.pixels import pixel_grid, to_images, to_pixels
from train.fast import to_device  # pinned, non-blocking copies on CUDA

EDGE_STEP = 0.05  # colour difference (in [0, 1]) to a neighbour that puts a high-res pixel on an edge


def edges(images: torch.Tensor, step: float = EDGE_STEP, chunk: int = 100) -> torch.Tensor:
    """images (N, 3, R, R) -> (N, R*R) bool: pixels whose colour differs from a 4-neighbour's by
    more than `step` in some channel (both pixels of such a pair count). In chunks of images, so
    1,445 icons at 256 px need no (N, R, R) float temporaries at once."""
    out = []
    for part in images.split(chunk):
        dy = (part[..., 1:, :] - part[..., :-1, :]).abs().amax(1) > step  # (n, R-1, R)
        dx = (part[..., :, 1:] - part[..., :, :-1]).abs().amax(1) > step  # (n, R, R-1)
        edge = torch.zeros(part.shape[0], *part.shape[-2:], dtype=torch.bool)  # (n, R, R)
        edge[:, 1:] |= dy
        edge[:, :-1] |= dy
        edge[:, :, 1:] |= dx
        edge[:, :, :-1] |= dx
        out.append(edge.flatten(1))
    return torch.cat(out)


def index_table(keep: torch.Tensor, fallback: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """keep (N, M) bool -> (table (N, max count) of each row's kept indices, padded by repeating its
    first one, which a draw below the count never reaches; counts (N,)). A row with nothing kept
    takes its row of `fallback` instead (an icon without edges draws from all its pixels)."""
    if fallback is not None:
        keep = torch.where(keep.any(1, keepdim=True), keep, fallback)
    counts = keep.sum(1)  # (N,)
    table = torch.stack([torch.cat([row.nonzero()[:, 0], row.nonzero()[:1, 0].expand(int(counts.max() - c))])
                         for row, c in zip(keep, counts)])
    return table, counts


class PixelSampler:
    def __init__(self, images: torch.Tensor, heldout: torch.Tensor, hr_images: torch.Tensor | None = None,
                 edge_share: float = 0.0):
        """images (N, 3, res, res); heldout (N, 1, res, res) bool; hr_images (N, 3, R, R) or None;
        edge_share: the share of high-res pixels drawn from edges (needs hr_images)."""
        if edge_share and hr_images is None:
            raise ValueError("edge_share picks among high-res pixels: give hr_images")
        n, _, res, _ = images.shape
        self.coords = pixel_grid(res)  # (res*res, 2)
        self.targets = to_pixels(images)  # (N, res*res, 3)
        keep = ~heldout.view(n, -1)  # (N, res*res)
        # Every image holds out the same number of pixels, so the kept indices form a dense (N, K) table.
        self.train_index = keep.nonzero()[:, 1].view(n, -1)  # (N, K)
        self.hr = self.edge = None
        if hr_images is not None:
            big = hr_images.shape[-1]
            # (R,) the low-res row containing each high-res pixel centre (i + 1/2) / R
            rows = (2 * torch.arange(big) + 1) * res // (2 * big)
            lowres_of = (rows[:, None] * res + rows[None, :]).flatten()  # (R*R,) low-res pixel index
            hr_keep = keep[:, lowres_of]  # (N, R*R)
            self.hr = (pixel_grid(big), to_pixels(hr_images), *index_table(hr_keep))  # (R*R,2), (N,R*R,3), (N,M), (N,)
            self.edge = index_table(hr_keep & edges(hr_images), hr_keep) if edge_share else None  # (N, E), (N,)
        self.edge_share = edge_share

    def to(self, device: torch.device) -> "PixelSampler":
        self.coords, self.targets, self.train_index = (to_device(t, device) for t in (self.coords, self.targets, self.train_index))
        if self.hr is not None:
            self.hr = tuple(to_device(t, device) for t in self.hr)
        if self.edge is not None:
            self.edge = tuple(to_device(t, device) for t in self.edge)
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
        on_edges = round(self.edge_share * (count // 2))
        hr_chosen = _draw(table, counts, index, count // 2 - on_edges, gen)  # (B, count//2 - on_edges)
        if on_edges:
            hr_chosen = torch.cat([_draw(*self.edge, index, on_edges, gen), hr_chosen], 1)  # (B, count//2)
        coords = torch.cat([coords, hr_coords[hr_chosen]], 1)
        targets = torch.cat([targets, hr_targets[index[:, None], hr_chosen]], 1)  # (B, count, 3), no (B, R*R, 3) copy
        return coords, targets

    def hr_images(self, index: torch.Tensor) -> torch.Tensor:
        """index (M,) image rows -> their high-res renders (M, 3, R, R) (needs hr_images)."""
        pixels = self.hr[1][index]  # (M, R*R, 3)
        return to_images(pixels, round(pixels.shape[1] ** 0.5))


def _draw(table: torch.Tensor, counts: torch.Tensor, index: torch.Tensor, count: int, gen: torch.Generator) -> torch.Tensor:
    """`count` entries per image of `index` (B,), drawn with replacement from its row of `table`
    (its first counts[i] entries) -> (B, count)."""
    u = torch.rand(len(index), count, generator=gen, device=gen.device)  # (B, count) in [0, 1)
    slot = (u * counts[index, None]).long().clamp_max(counts[index, None] - 1)  # (B, count) < each image's count
    return table[index[:, None], slot]  # (B, count)

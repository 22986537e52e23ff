"""Geometric changes of a training step's icons: more icons from the same drawings.

`--changes p` replaces each icon of a step, with chance p, by the known-midpoint benchmark's
change of it (shift, scale, rotation or all three: `data.augment`'s definition, hue turns
left out, they are not geometric) at a random point of that change's path. The method reads
the changed icon and is scored on it: its targets are pixels of the changed frame.

The changed frame is resampled at the working resolution (`data.augment.change_batch`): its
held-out pixels are first filled from their neighbours and `valid` marks the frame pixels
whose bilinear footprint touches no held-out pixel. The method reads only valid pixels and
the loss scores only valid pixels, so the held-out 10% stays unseen under every change.
"""
from __future__ import annotations

import torch

from data.augment import change_batch
from data.pixels import pixel_grid, to_pixels

GEOMETRIC = (0, 1, 2, 3)  # columns dx, dy, scale, angle of a (K, 5) change state; 4 (hue) is left at 0


def changed_views(images: torch.Tensor, read: torch.Tensor, coords: torch.Tensor, targets: torch.Tensor,
                  states: torch.Tensor, rows: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Icons `rows` of a step replaced by their changes `states`.

    images (B, 3, H, W), read (B, 1, H, W) bool: what the method reads; coords (B, P, 2) and
    targets (B, P, 3): where and what the loss scores; states (M, 5) for rows (M,) long.
    A changed icon reads the valid pixels of its frame (and of those, only what it read before
    the change moved them: none that was held out) and is scored on P random valid pixels of
    its frame, drawn from `gen` (an icon with fewer valid pixels repeats its first draw).
    Returns (images, read, coords, targets) with those rows replaced.
    """
    if len(rows) == 0:
        return images, read, coords, targets
    states = states.clone()
    states[:, 4] = 0  # geometric changes only
    frames, valid = change_batch(images[rows], ~read[rows], states)  # (M, 3, H, W), (M, 1, H, W)
    res, count = images.shape[-1], coords.shape[-2]
    flat = valid.view(len(rows), -1)  # (M, H*W)
    score = torch.rand(flat.shape, generator=gen, device=gen.device).to(flat.device) + (~flat) * 2.0  # valid first
    pick = score.argsort(1)[:, :count]  # (M, P)
    pick = torch.where(flat.gather(1, pick), pick, pick[:, :1])  # invalid draws repeat the first (valid) one
    grid = pixel_grid(res, images.device)  # (H*W, 2)
    new_coords = grid[pick]  # (M, P, 2)
    new_targets = to_pixels(frames).gather(1, pick[..., None].expand(-1, -1, 3))  # (M, P, 3)
    coords = coords.expand(len(images), -1, -1) if coords.dim() == 2 else coords
    return (images.index_copy(0, rows, frames), read.index_copy(0, rows, valid),
            coords.index_copy(0, rows, new_coords), targets.index_copy(0, rows, new_targets))

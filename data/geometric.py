"""Geometric changes of a training step's icons: more icons from the same drawings.

`--changes p` replaces each icon of a step, with chance p, by the known-midpoint benchmark's
change of it (shift, scale, rotation or all three: `data.augment`'s definition, hue turns
left out, they are not geometric) at a random point of that change's path. The method reads
the changed icon and is scored on it: its targets are pixels of the changed frame.

The changed frame is resampled at the working resolution (`data.augment.change_batch`): its
held-out pixels are first filled from their neighbours and `valid` marks the frame pixels
whose bilinear footprint touches no held-out pixel. The method reads only valid pixels and
the loss scores only valid pixels, so the held-out 10% stays unseen under every change.

`--changes-from-hr` renders the changed frame from the icon's true high-res render instead
(`hr_changed_views`): warped there and area-averaged down, so it carries no blur of a resampling
at 48 px, and the changed icon keeps its high-res targets. A held-out pixel owns the high-res
pixels whose centres lie in it (as in `train.sampler`); a frame pixel or target whose footprint
touches one of them is not valid (neither read nor scored), so nothing leaks here either.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from data.augment import affine_theta, change_batch
from data.pixels import pixel_grid, to_pixels

GEOMETRIC = (0, 1, 2, 3)  # columns dx, dy, scale, angle of a (K, 5) change state; 4 (hue) is left at 0
# A frame pixel from the high-res render is the mean of SUPERSAMPLE x SUPERSAMPLE bilinear samples of
# it: cairo rasterizes the icons' own 48 px files by area coverage (data/build_icons.py), and 4 x 4
# samples cost about a quarter of a full 256 px warp.
SUPERSAMPLE = 4


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
    frames, valid = change_batch(images[rows], ~read[rows], _geometric(states))  # (M, 3, H, W), (M, 1, H, W)
    new_coords, new_targets = _draw_pixels(frames, valid, coords.shape[-2], gen)  # (M, P, 2), (M, P, 3)
    return _replace(images, read, coords, targets, rows, frames, valid, new_coords, new_targets)


def hr_changed_views(images: torch.Tensor, read: torch.Tensor, coords: torch.Tensor, targets: torch.Tensor,
                     states: torch.Tensor, rows: torch.Tensor, gen: torch.Generator,
                     hr: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """`changed_views`, with each changed frame rendered from hr (M, 3, R, R), the true R px renders
    of icons `rows`: warped at R px, then area-averaged to the working resolution (SUPERSAMPLE).
    Like the sampler with high-res supervision, P - P//2 of its scored pixels are frame pixels and
    P//2 are samples of the warped render between them (drawn with replacement)."""
    if len(rows) == 0:
        return images, read, coords, targets
    m, res = len(rows), images.shape[-1]
    # (M, 1, R, R) R px pixels that belong to a pixel never read ("nearest-exact": by the R px pixel's
    # centre, as in train.sampler), beside ones: where the warp reveals the border, their weight is lost
    hidden = F.interpolate((~read[rows]).to(hr.dtype), size=hr.shape[-2:], mode="nearest-exact")
    aux = torch.cat([hidden, torch.ones_like(hidden)], 1)  # (M, 2, R, R)
    fine = res * SUPERSAMPLE
    grid = F.affine_grid(affine_theta(_geometric(states).to(hr)), [m, 1, fine, fine], align_corners=False)  # (M, F, F, 2)
    sample = lambda x: F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # noqa: E731
    weights = sample(aux)  # (M, 2, F, F): hidden weight, weight inside the icon
    moved = sample(hr) + 1 - weights[:, 1:]  # (M, 3, F, F): revealed areas white
    frames = F.avg_pool2d(moved, SUPERSAMPLE).clamp(0, 1)  # (M, 3, res, res)
    valid = F.avg_pool2d(weights[:, :1], SUPERSAMPLE) <= 1e-6  # (M, 1, res, res): no hidden weight in the footprint
    count = coords.shape[-2]
    low_coords, low_targets = _draw_pixels(frames, valid, count - count // 2, gen)  # (M, P - P//2, ...)
    # the fine samples as targets between the frame pixels: P//2 drawn from 4 x P//2 candidates, valid ones first
    fine_valid = (weights[:, 0] <= 1e-6).view(m, -1)  # (M, F*F)
    candidates = torch.randint(fine * fine, (m, 4 * (count // 2)), generator=gen, device=gen.device).to(hr.device)
    pick = _valid_first(fine_valid.gather(1, candidates), count // 2, gen)  # (M, P//2) positions in candidates
    chosen = candidates.gather(1, pick)  # (M, P//2) fine pixels
    high_targets = to_pixels(moved).gather(1, chosen[..., None].expand(-1, -1, 3)).clamp(0, 1)  # (M, P//2, 3)
    new_coords = torch.cat([low_coords, pixel_grid(fine, hr.device)[chosen]], 1)  # (M, P, 2)
    new_targets = torch.cat([low_targets, high_targets], 1)  # (M, P, 3)
    return _replace(images, read, coords, targets, rows, frames, valid, new_coords, new_targets)


def _geometric(states: torch.Tensor) -> torch.Tensor:
    """(M, 5) change states with the hue turn removed: geometric changes only."""
    states = states.clone()
    states[:, 4] = 0
    return states


def _valid_first(valid: torch.Tensor, count: int, gen: torch.Generator) -> torch.Tensor:
    """valid (M, Q) bool -> (M, count) random positions, valid ones first; a row with fewer than
    `count` valid positions repeats its first draw (valid if it has any)."""
    score = torch.rand(valid.shape, generator=gen, device=gen.device).to(valid.device) + (~valid) * 2.0
    pick = score.argsort(1)[:, :count]  # (M, count)
    return torch.where(valid.gather(1, pick), pick, pick[:, :1])


def _draw_pixels(frames: torch.Tensor, valid: torch.Tensor, count: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    """`count` random valid pixels of each frame (M, 3, H, W): coords (M, count, 2), targets (M, count, 3)."""
    pick = _valid_first(valid.view(len(frames), -1), count, gen)  # (M, count)
    coords = pixel_grid(frames.shape[-1], frames.device)[pick]  # (M, count, 2)
    return coords, to_pixels(frames).gather(1, pick[..., None].expand(-1, -1, 3))


def _replace(images, read, coords, targets, rows, frames, valid, new_coords, new_targets) -> tuple[torch.Tensor, ...]:
    """The step's tensors with rows (M,) replaced by the changed icons' frames, masks and pixels."""
    coords = coords.expand(len(images), -1, -1) if coords.dim() == 2 else coords
    return (images.index_copy(0, rows, frames), read.index_copy(0, rows, valid),
            coords.index_copy(0, rows, new_coords), targets.index_copy(0, rows, new_targets))

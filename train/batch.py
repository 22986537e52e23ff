"""A training step's icons: which ones, what the method reads of them, and the pixels that score it.

    images, read, mine, coords, targets = step_batch(run)   # run: a train.trainer.Run

The images are drawn without replacement, then each one's pixels (train/sampler.py); the
method reads the observed pixels (a random share of them with `--support`); `--augment`
mirrors and hue-turns some icons exactly (data/augment.mirror_and_turn) and `--changes` replaces
some by a geometric change of themselves (data/geometric.py, from the high-res renders with
`--changes-from-hr`). Every random draw is made for the whole batch on every rank, in a fixed
order, so the ranks' generators advance alike and a resumed run draws what it would have drawn.
"""
from __future__ import annotations

import torch

from data.augment import draw_changes_on, mirror_and_turn
from data.geometric import changed_views, hr_changed_views
from train.distributed import shard


def step_batch(run) -> tuple[torch.Tensor, ...]:
    """This rank's share of one step's icons: images (B, 3, H, W), read (B, 1, H, W) bool, mine (B,)
    their rows in the training set, coords (B, P, 2) or (P, 2) and targets (B, P, 3)."""
    cfg = run.cfg
    index = (torch.randperm(run.n, generator=run.gen, device=run.device)[:cfg.batch] if cfg.batch < run.n
             else torch.arange(run.n, device=run.device))  # (B,), the same on every rank
    # Pixels, support masks and changes are drawn for the whole batch on every rank, so every
    # rank's generator advances alike; each rank then works on its own shard only.
    coords, targets = run.sampler.sample(index, cfg.pixels, run.gen)  # (B, P, 2), (B, P, 3)
    read = run.observed[index]  # (B, 1, H, W): what the encoder / inner loop reads
    if cfg.support < 1:
        read = read & (torch.rand(read.shape, generator=run.gen, device=run.device) < cfg.support)
    if cfg.augment > 0:
        draw = torch.rand(3, len(index), generator=run.gen, device=run.device)  # (3, B)
        changed = draw[0] < cfg.augment  # (B,)
        mirror, degrees = changed & (draw[1] < 0.5), changed * (360 * draw[2] - 180)  # (B,), (B,)
    if cfg.changes > 0:
        p0, p1 = draw_changes_on(len(index), run.gen, run.device)  # (B, 5) each: the benchmark's changes
        draw = torch.rand(2, len(index), 1, generator=run.gen, device=run.device)  # (2, B, 1)
        moved, states = draw[0, :, 0] < cfg.changes, torch.lerp(p0, p1, draw[1])  # (B,), (B, 5): a point on the path
    mine = shard(index, run.info)  # this rank's images (all of them in one process)
    images, read, coords, targets = run.images[mine], *(shard(t, run.info) for t in (read, coords, targets))
    if cfg.augment > 0:
        images, read, coords, targets = mirror_and_turn(
            images, read, coords, targets, shard(mirror, run.info), shard(degrees, run.info))
    if cfg.changes > 0:
        rows = shard(moved, run.info).nonzero()[:, 0]  # (M,)
        args = (images, read, coords, targets, shard(states, run.info)[rows], rows, run.gen)
        images, read, coords, targets = (hr_changed_views(*args, run.sampler.hr_images(mine[rows]))
                                         if cfg.changes_from_hr else changed_views(*args))
    return images, read, mine, coords, targets

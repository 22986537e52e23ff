"""PSNR against the number of inner gradient steps, for any method that `adapts` (MAML, hybrid).

    table = inner_step_table(method, train_images, train_heldout, unseen_images, steps=(0, 1, 3, 10))
    table["unseen_heldout_pixels"][3]   # dB after 3 inner steps

Rows (PSNR in dB, predictions clamped, averaged over images, like analysis/scoring/evaluate.py):
    train_pixels           training images read through ~train_heldout, scored on those pixels
    heldout_pixels         the same representation, scored on the held-out pixels
    unseen_images          unseen images read whole, scored on all pixels
    unseen_read_pixels     unseen images read through ~heldout_mask(n, res, seed=UNSEEN_HELDOUT_SEED)
                           (90% of the pixels), scored on the pixels read
    unseen_heldout_pixels  the same representation, scored on the other 10%
The inner loop only ever sees the pixels a row reads. A method that does not adapt (hyper,
concat) gets one column, 0 = its one pass; the unseen rows are left out for a method that
does not handle unseen images.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from analysis.scoring.evaluate import psnr, render_all
from data.pixels import UNSEEN_HELDOUT_SEED, heldout_mask
from models.method import Method, Rep


def encode_steps(method: Method, images: torch.Tensor, masks: torch.Tensor, steps: int | None, batch: int = 100) -> Rep:
    """Encode (N, 3, H, W) through masks (N, 1, H, W) in batches, with `steps` inner steps when the
    method adapts (None: its default); a detached Rep on the method's device."""
    device = next(method.parameters()).device
    reps = []
    for i in range(0, len(images), batch):
        index = torch.arange(i, min(i + batch, len(images)), device=device)  # rows of the code table, if any
        args = (images[i:i + batch].to(device), masks[i:i + batch].to(device), index)
        reps.append((method.encode(*args, steps=steps) if method.adapts else method.encode(*args)).detach())
    return Rep.cat(reps)


def inner_step_table(method: Method, train_images: torch.Tensor, train_heldout: torch.Tensor,
                     unseen_images: torch.Tensor | None, steps: Sequence[int] = (0, 1, 3, 10),
                     batch: int = 100) -> dict[str, dict[int, float]]:
    """{row: {steps: dB}} (rows in the module docstring), in eval mode (restored after).

    train_images (N, 3, H, W) in [0, 1]; train_heldout (N, 1, H, W) bool, True = held out;
    unseen_images (M, 3, H, W) or None (no unseen rows)."""
    was_training = method.training
    method.eval()
    steps = list(steps) if method.adapts else [0]
    res = train_images.shape[-1]
    rows: dict[str, dict[int, float]] = {}

    def score(name: str, recon: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor | None, k: int) -> None:
        rows.setdefault(name, {})[k] = psnr(recon, truth, mask).mean().item()

    unseen = unseen_images if unseen_images is not None and method.handles_unseen_images else None
    if unseen is not None:
        full = torch.ones_like(unseen[:, :1], dtype=torch.bool)  # (M, 1, H, W)
        unseen_heldout = heldout_mask(len(unseen), unseen.shape[-1], seed=UNSEEN_HELDOUT_SEED)  # (M, 1, H, W)
    for k in steps:
        k_arg = k if method.adapts else None
        recon = render_all(method, encode_steps(method, train_images, ~train_heldout, k_arg, batch), res)  # (N, 3, H, W)
        score("train_pixels", recon, train_images, ~train_heldout, k)
        score("heldout_pixels", recon, train_images, train_heldout, k)
        if unseen is None:
            continue
        recon = render_all(method, encode_steps(method, unseen, full, k_arg, batch), unseen.shape[-1])
        score("unseen_images", recon, unseen, None, k)
        recon = render_all(method, encode_steps(method, unseen, ~unseen_heldout, k_arg, batch), unseen.shape[-1])
        score("unseen_read_pixels", recon, unseen, ~unseen_heldout, k)
        score("unseen_heldout_pixels", recon, unseen, unseen_heldout, k)
    method.train(was_training)
    return rows

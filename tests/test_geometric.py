"""--changes (data/geometric.py): a changed icon is scored on its changed frame, reads and is
scored only where no held-out pixel reaches, and unchanged rows stay as they were."""
from __future__ import annotations

import torch

from data.augment import draw_changes_on
from data.geometric import changed_views
from data.images import load_images
from data.pixels import heldout_mask, to_pixels
from train.sampler import PixelSampler


def _step(images, heldout, seed=0):
    gen = torch.Generator().manual_seed(seed)
    coords, targets = PixelSampler(images, heldout).sample(torch.arange(len(images)), 300, gen)
    p0, p1 = draw_changes_on(len(images), gen, torch.device("cpu"))
    p0[:, 3], p1[:, 3] = -20.0, 20.0  # every row rotates, so every changed row moves for sure
    rows = torch.tensor([1, 2])
    return changed_views(images, ~heldout, coords, targets, torch.lerp(p0, p1, 0.9)[rows], rows, gen)


def test_targets_are_the_changed_frame_and_unchanged_rows_stay():
    images = load_images("icons100", 24).images[:4]
    heldout = heldout_mask(4, 24)
    frames, read, coords, targets = _step(images, heldout)
    j, i = (((coords + 1) * 24 / 2 - 0.5).round().long()).unbind(-1)  # (B, P) pixel column, row
    assert torch.equal(to_pixels(frames).gather(1, (i * 24 + j)[..., None].expand(-1, -1, 3)), targets)
    assert torch.equal(frames[[0, 3]], images[[0, 3]]) and torch.equal(read[[0, 3]], ~heldout[[0, 3]])
    assert not torch.allclose(frames[1:3], images[1:3])  # the changed rows did change
    picked = read.view(4, -1).gather(1, i * 24 + j)  # targets only at pixels the frame may be scored on
    assert picked[1:3].all()


def test_held_out_pixels_never_reach_what_is_read_or_scored():
    images = load_images("icons100", 24).images[:4]
    heldout = heldout_mask(4, 24)
    noisy = torch.where(heldout, torch.rand_like(images), images)
    a, b = _step(images, heldout), _step(noisy, heldout)
    assert torch.equal(a[0] * a[1], b[0] * b[1])  # what is read (image x mask)
    assert torch.equal(a[3], b[3]) and torch.equal(a[2], b[2])  # where and what is scored

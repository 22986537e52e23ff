"""--changes (data/geometric.py): a changed icon is scored on its changed frame, reads and is
scored only where no held-out pixel reaches, and unchanged rows stay as they were."""
from __future__ import annotations

import torch

from data.augment import draw_changes_on
from analysis.scoring.evaluate import psnr
from data.geometric import changed_views, hr_changed_views
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


def _hr_step(images, heldout, hr, angle=20.0, rows=(1, 2), seed=0):
    gen = torch.Generator().manual_seed(seed)
    coords, targets = PixelSampler(images, heldout, hr).sample(torch.arange(len(images)), 300, gen)
    states = torch.tensor([[0.0, 0.0, 1.0, angle, 0.0]] * len(rows))  # (M, 5): a turn about the centre
    return hr_changed_views(images, ~heldout, coords, targets, states, torch.tensor(rows), gen,
                            hr[list(rows)])


def test_hr_changes_leak_no_held_out_pixel_at_either_resolution():
    images, hr = load_images("icons100", 24).images[:4], load_images("icons100", 256).images[:4]
    heldout = heldout_mask(4, 24)
    cell = (2 * torch.arange(256) + 1) * 24 // 512  # the 24 px pixel holding each 256 px centre
    block = heldout[:, :, cell][:, :, :, cell]  # (4, 1, 256, 256)
    noisy = torch.where(heldout, torch.rand_like(images), images)
    noisy_hr = torch.where(block, torch.rand_like(hr), hr)  # the held-out pixels' own detail, changed
    a, b = _hr_step(images, heldout, hr), _hr_step(noisy, heldout, noisy_hr)
    assert torch.equal(a[0] * a[1], b[0] * b[1])  # what is read (image x mask)
    assert torch.equal(a[2], b[2]) and torch.equal(a[3], b[3])  # where and what is scored
    assert a[1][1:3].float().mean() > 0.3  # and the changed frames are still mostly readable


def test_hr_changes_score_the_frame_and_sharp_targets_between_its_pixels():
    images, hr = load_images("icons100", 24).images[:4], load_images("icons100", 256).images[:4]
    heldout = heldout_mask(4, 24)
    frames, read, coords, targets = _hr_step(images, heldout, hr)
    assert torch.equal(frames[[0, 3]], images[[0, 3]]) and torch.equal(read[[0, 3]], ~heldout[[0, 3]])
    low = coords[1:3, :150]  # (2, 150, 2): the frame's own pixels, then samples between them
    j, i = (((low + 1) * 24 / 2 - 0.5).round().long()).unbind(-1)
    assert torch.allclose((low + 1) * 12 - 0.5, torch.stack([j, i], -1).float(), atol=1e-5)  # pixel centres
    assert torch.equal(to_pixels(frames[1:3]).gather(1, (i * 24 + j)[..., None].expand(-1, -1, 3)), targets[1:3, :150])
    assert read[1:3].view(2, -1).gather(1, i * 24 + j).all()
    off_grid = ((coords[1:3, 150:] + 1) * 12 - 0.5).frac().abs().sum(-1) > 1e-3  # between the 24 px centres
    assert off_grid.float().mean() > 0.5


def test_hr_changes_are_the_icons_own_render_unmoved_and_sharper_than_a_low_res_warp_when_turned():
    images, hr = load_images("icons100", 24).images[:4], load_images("icons100", 256).images[:4]
    heldout = torch.zeros(4, 1, 24, 24, dtype=torch.bool)
    still = _hr_step(images, heldout, hr, angle=0.0)[0][1:3]
    assert psnr(still, images[1:3]).min() > 30  # the area average of the 256 px render is the 24 px render
    sharp = _hr_step(images, heldout, hr, angle=20.0)[0][1:3]
    gen = torch.Generator().manual_seed(0)
    coords, targets = PixelSampler(images, heldout).sample(torch.arange(4), 300, gen)
    states = torch.tensor([[0.0, 0.0, 1.0, 20.0, 0.0]] * 2)
    blurred = changed_views(images, ~heldout, coords, targets, states, torch.tensor([1, 2]), gen)[0][1:3]
    detail = lambda x: (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., 1:] - x[..., :-1]).abs().mean()  # noqa: E731
    assert detail(sharp) > 1.05 * detail(blurred)

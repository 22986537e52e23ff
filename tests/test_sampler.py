"""Training pixels never include held-out pixels, at the training resolution or above."""
from __future__ import annotations

import torch

from data.pixels import heldout_mask, pixel_grid
from train.sampler import PixelSampler


def lowres_index(coords: torch.Tensor, res: int) -> torch.Tensor:
    """Index of the res x res pixel that contains each coordinate (..., 2) in [-1, 1]."""
    col = ((coords[..., 0] + 1) / 2 * res).floor().long().clamp(0, res - 1)
    row = ((coords[..., 1] + 1) / 2 * res).floor().long().clamp(0, res - 1)
    return row * res + col


def test_all_training_pixels_exclude_heldout():
    images, heldout = torch.rand(3, 3, 12, 12), heldout_mask(3, 12)
    coords, targets = PixelSampler(images, heldout).sample(torch.arange(3), 0, torch.Generator())
    assert coords.shape == (3, 130, 2) and targets.shape == (3, 130, 3)  # 144 - round(14.4)
    picked = lowres_index(coords, 12)  # (3, 130)
    for b in range(3):
        assert not heldout[b].flatten()[picked[b]].any()
        assert torch.equal(targets[b], images[b].flatten(1).T[picked[b]])


def test_random_subsets_and_highres_supervision_exclude_heldout():
    res, big = 8, 20
    images, hr, heldout = torch.rand(4, 3, res, res), torch.rand(4, 3, big, big), heldout_mask(4, res)
    sampler = PixelSampler(images, heldout, hr)
    gen = torch.Generator().manual_seed(0)
    index = torch.tensor([2, 0])
    coords, targets = sampler.sample(index, 30, gen)
    assert coords.shape == (2, 30, 2) and targets.shape == (2, 30, 3)
    hr_grid = pixel_grid(big)
    for row, b in enumerate(index.tolist()):
        assert not heldout[b].flatten()[lowres_index(coords[row], res)].any()
        # the second half comes from the high-res image, at its own pixel centres
        hr_coords = coords[row, 15:]
        match = (hr_coords[:, None] - hr_grid[None]).abs().sum(-1).argmin(1)  # (15,)
        assert torch.allclose(hr_grid[match], hr_coords)
        assert torch.equal(targets[row, 15:], hr[b].flatten(1).T[match])
    # successive draws differ: a fresh subset every step
    assert not torch.equal(sampler.sample(index, 30, gen)[0], coords)


def test_subsampled_loss_gradient_is_an_unbiased_estimate_of_the_all_pixel_one():
    """The default's --pixels 512 is part of the fast path: each step's gradient from a random
    subset must average to the all-pixel gradient (a uniform subset weights every pixel alike)."""
    from models.siren import Siren, SirenConfig

    torch.manual_seed(0)
    images, heldout = torch.rand(2, 3, 16, 16), heldout_mask(2, 16)
    sampler, siren = PixelSampler(images, heldout), Siren(SirenConfig(hidden=16, hidden_layers=1))
    params = {k: v.detach().expand(2, *v.shape).clone().requires_grad_() for k, v in siren.named_parameters()}

    def gradient(count: int, gen: torch.Generator) -> torch.Tensor:
        coords, targets = sampler.sample(torch.arange(2), count, gen)  # (2, P, 2), (2, P, 3)
        loss = (siren.functional(params, coords) - targets).pow(2).mean()
        return torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(params.values()))])

    gen = torch.Generator().manual_seed(1)
    full = gradient(0, gen)
    samples = torch.stack([gradient(24, gen) for _ in range(400)])  # 24 of 230 training pixels each
    one = (samples[0] - full).norm() / full.norm()
    mean = (samples.mean(0) - full).norm() / full.norm()
    assert mean < 0.1 and mean < one / 5, (mean, one)


def test_edge_share_draws_that_share_of_the_high_res_pixels_on_edges_and_never_a_held_out_one():
    from train.sampler import edges

    res, big = 8, 32
    hr = torch.ones(3, 3, big, big)
    hr[:, :, 8:24, 8:24] = 0.2  # a dark square: its outline is the only edge
    hr[2] = 0.5  # a flat icon: no edge, so it draws from all its pixels
    images, heldout = torch.nn.functional.avg_pool2d(hr, 4), heldout_mask(3, res)
    on_edge = edges(hr)  # (3, big*big)
    assert on_edge[0].view(big, big)[7:9, 8:24].all() and not on_edge[0].view(big, big)[12, 12]
    assert not on_edge[2].any()
    gen = torch.Generator().manual_seed(0)
    coords, _ = PixelSampler(images, heldout, hr, edge_share=0.5).sample(torch.arange(3), 100, gen)  # 50 low-res
    hr_grid = pixel_grid(big)
    for b in range(3):
        assert not heldout[b].flatten()[lowres_index(coords[b], res)].any()
        picked = (coords[b, 50:, None] - hr_grid[None]).abs().sum(-1).argmin(1)  # (50,) high-res pixels
        share = on_edge[b][picked].float().mean().item()
        if b < 2:  # half drawn on edges, the other half uniformly (1/8 of this icon's pixels are edges)
            assert 0.5 <= share < 0.8, share
        else:
            assert share == 0
    plain = PixelSampler(images, heldout, hr).sample(torch.arange(3), 100, torch.Generator().manual_seed(0))
    zero = PixelSampler(images, heldout, hr, edge_share=0.0).sample(torch.arange(3), 100, torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(plain, zero))  # 0 draws exactly as before the option

"""The generation measures tell icons from noise, cover from collapse, and new icons from copies
(analysis/scoring/generation.py); the priors sample grids of the right shape and statistics (models/prior.py)."""
from __future__ import annotations

import pytest
import torch

from analysis.scoring.generation import FEATURES, copy_rate, generation_scores, pixel_features, precision_recall
from data.images import load_images
from models.prior import BlendPrior, GaussianPrior, GridFlow


@pytest.fixture(scope="module")
def icons():
    """icons100 (the training stand-in) and icons-large's unseen test icons in two halves, at 48 px."""
    train = load_images("icons100", 48).images
    test = load_images("icons-large", 48, split="test").images
    return train, test[: len(test) // 2], test[len(test) // 2:]


def test_unseen_icons_beat_noise_and_the_mean_icon(icons):
    train, half_a, half_b = icons
    g = torch.Generator().manual_seed(0)
    noise = torch.rand(half_b.shape, generator=g)
    mean = half_a.mean(0, keepdim=True).expand(len(half_b), -1, -1, -1)
    good = generation_scores(half_b, half_a, train, torch.cat([half_a, half_b]))
    for bad in (generation_scores(noise, half_a, train, half_a), generation_scores(mean.clone(), half_a, train, half_a)):
        for space in FEATURES:
            assert good[f"precision/{space}"] > bad[f"precision/{space}"] or good[f"recall/{space}"] > bad[f"recall/{space}"]
            assert good[f"recall/{space}"] > bad[f"recall/{space}"], space  # noise and one image cover nothing
    assert good["recall/pixels"] > 0.5 and good["precision/pixels"] > 0.5


def test_copies_of_training_icons_are_counted_as_copies(icons):
    train, half_a, half_b = icons
    copies = pixel_features(train[:40])
    assert copy_rate(copies, pixel_features(train), pixel_features(half_a)) == 1.0
    fresh = copy_rate(pixel_features(half_b), pixel_features(train), pixel_features(half_a))
    assert fresh < 0.2  # new icons are rarely nearer a training icon than 95% of new icons are


def test_a_collapsed_generator_loses_recall_not_precision(icons):
    _, half_a, half_b = icons
    one = half_b[:1].expand(len(half_b), -1, -1, -1)  # every sample the same real icon
    features = FEATURES["pixels"]
    p_one, r_one = precision_recall(features(half_a), features(one.clone()))
    p_all, r_all = precision_recall(features(half_a), features(half_b))
    assert r_one < r_all and r_one < 0.1


def test_priors_sample_grids_of_the_training_shape():
    g = torch.Generator().manual_seed(0)
    grids = torch.randn(50, 4, 6, 6, generator=g) * torch.tensor([1.0, 2.0, 0.5, 1.0])[:, None, None] + 3
    for prior in (GaussianPrior(grids, rank=8), BlendPrior(grids)):
        assert prior.sample(7, g).shape == (7, 4, 6, 6)
    gauss = GaussianPrior(grids, rank=64).sample(2000, g)
    assert torch.allclose(gauss.mean(0), grids.mean(0), atol=0.3)
    flow = GridFlow(4, 6, width=16)
    flow.fit_scale(grids)
    assert torch.allclose(flow.mean.flatten(), grids.mean((0, 2, 3)), atol=1e-5)
    x = flow.sample(3, g, steps=2)
    assert x.shape == (3, 4, 6, 6)
    # v = 0 at init (zero head): a sample is the noise, scaled back: mean + std * noise
    noise = torch.randn(3, 4, 6, 6, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(flow.sample(3, steps=2, noise=noise), flow.mean + flow.std * noise, atol=1e-6)


def test_the_flow_learns_a_toy_distribution():
    """Flow matching on grids that are +-1 everywhere (two modes): after training, samples land near a mode."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    sign = torch.randint(0, 2, (256, 1, 1, 1), generator=g).float() * 2 - 1
    grids = sign.expand(-1, 4, 4, 4).clone()
    flow = GridFlow(4, 4, width=16)
    flow.fit_scale(grids)
    opt = torch.optim.Adam(flow.parameters(), lr=3e-3)
    for _ in range(300):
        loss = flow.loss(grids[torch.randint(256, (64,), generator=g)], g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = flow.sample(64, g, steps=20)
    off = (x.abs() - 1).abs().mean()
    assert off < 0.35, float(off)  # pure noise through the scale would be ~0.6 off

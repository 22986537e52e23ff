"""The flat-region error (analysis/scoring/flat_error.py): speckle as a number, and a metric that can fail."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from analysis.scoring.flat_error import flat_mask, flat_rmse
from data.images import lanczos_resize, load_images


def _blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    x = torch.arange(-3 * int(sigma) - 1, 3 * int(sigma) + 2, dtype=torch.float32)
    g = torch.exp(-x * x / (2 * sigma * sigma))
    g = g / g.sum()
    c, r = images.shape[1], len(g) // 2
    out = F.conv2d(F.pad(images, (r, r, 0, 0), mode="replicate"), g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(out, (0, 0, r, r), mode="replicate"), g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def test_a_good_upsample_beats_blank_mean_blurred_noisy_speckled_and_nearest_endpoint_outputs():
    truth = load_images("icons100", 256).images[:8]  # (8, 3, 256, 256)
    low = load_images("icons100", 48).images[:8]
    good = lanczos_resize(low, 256)  # what an image resizer gives
    gen = torch.Generator().manual_seed(0)
    flat = flat_mask(truth)
    speckle = 0.04 * torch.sin(torch.randn(truth.shape, generator=gen) * 30)  # high-frequency, zero-mean
    bad = {"blank": torch.ones_like(truth), "mean image": truth.mean(0, keepdim=True).expand_as(truth),
           "blurred": _blur(truth, 8.0), "noisy": truth + 0.05 * torch.randn(truth.shape, generator=gen),
           "speckled flat regions": torch.where(flat, truth + speckle, truth), "nearest endpoint": truth.roll(1, 0)}
    score = flat_rmse(good, truth).mean()
    assert score < 2.0  # grey levels: Lanczos leaves flat colour flat
    for name, output in bad.items():
        assert flat_rmse(output, truth).mean() > score + 1.0, name


def test_units_are_grey_levels_and_only_flat_pixels_count():
    truth = torch.ones(2, 3, 64, 64)
    truth[:, :, :, 32:] = 0.2  # a vertical edge between two flat halves
    mask = flat_mask(truth, radius=4)
    assert mask[:, :, :, :28].all() and mask[:, :, :, 36:].all() and not mask[:, :, :, 28:36].any()
    offset = truth - 1 / 255
    assert torch.allclose(flat_rmse(offset, truth, mask), torch.ones(2), atol=1e-3)
    wrong_at_edge = truth.clone()
    wrong_at_edge[:, :, :, 28:36] = 0.6  # errs only where the truth is not flat
    assert torch.equal(flat_rmse(wrong_at_edge, truth, mask), torch.zeros(2))

"""The metrics and the trivial references can fail: a known-good prediction must beat a blank,
the constant mean image, a blurred and a noisy one, and the truth must beat everything."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from analysis.scoring.evaluate import psnr, reference_scores
from analysis.scoring.references import bicubic_resize, mean_image
from data.images import lanczos_resize, load_images
from data.pixels import heldout_mask, neighbour_fill


def smooth_images(n: int = 6, res: int = 32, seed: int = 0) -> torch.Tensor:
    """Random low-frequency images in [0, 1]: (n, 3, res, res), noise upsampled from 4 x 4."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 4, 4, generator=gen)
    return F.interpolate(coarse, size=(res, res), mode="bicubic", align_corners=True).clamp(0, 1)


def blurred(images: torch.Tensor, k: int = 9) -> torch.Tensor:
    return F.avg_pool2d(images, k, stride=1, padding=k // 2, count_include_pad=False)


def noisy(images: torch.Tensor, sigma: float = 0.1) -> torch.Tensor:
    return (images + sigma * torch.randn(images.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)


def bad_predictions(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Blank (white, the icons' background), the constant mean image, blurred, noisy."""
    return {"blank": torch.ones_like(images), "mean": mean_image(images).expand_as(images),
            "blurred": blurred(images), "noisy": noisy(images)}


def test_psnr_ranks_the_truth_first_and_scores_only_masked_pixels():
    images = smooth_images()
    mask = heldout_mask(len(images), images.shape[-1])
    truth = psnr(images, images, mask).mean()
    for name, pred in bad_predictions(images).items():
        assert psnr(pred, images, mask).mean() < truth - 10, name
    wrong_elsewhere = torch.where(mask, images, 1 - images)  # right on the masked pixels only
    assert psnr(wrong_elsewhere, images, mask).mean() == truth
    assert psnr(wrong_elsewhere, images).mean() < 15
    # Known values: an error of 0.1 everywhere is 20 dB, 0.01 is 40 dB.
    assert psnr(torch.full((1, 3, 4, 4), 0.5), torch.full((1, 3, 4, 4), 0.6)).item() == pytest.approx(20, abs=1e-3)
    assert psnr(torch.full((1, 3, 4, 4), 0.5), torch.full((1, 3, 4, 4), 0.51)).item() == pytest.approx(40, abs=1e-3)


def test_mean_image_is_the_best_constant_and_reads_only_observed_pixels():
    images = smooth_images(8)
    observed = ~heldout_mask(8, 32)
    mean = mean_image(images, observed)  # (1, 3, H, W)

    def mse(pred, mask):  # over the pixels of `mask`, all images
        return ((pred.expand_as(images) - images).pow(2) * mask).sum().item() / mask.sum().item() / 3

    everywhere = torch.ones_like(observed)
    for other in (torch.ones_like(mean), mean + 0.05, mean - 0.05, blurred(mean), noisy(mean)):
        assert mse(mean, observed) < mse(other, observed)  # the best constant on what it read
        assert mse(mean_image(images), everywhere) < mse(other, everywhere)  # and without a mask, on all pixels
    # Held-out values never reach it: change them all, the mean stays.
    changed = torch.where(observed, images, torch.rand_like(images))
    assert torch.equal(mean_image(changed, observed), mean)
    # A pixel observed in no image gets the mean colour of all observed pixels.
    none = observed.clone()
    none[:, :, 0, 0] = False
    filled = mean_image(images, none)[0, :, 0, 0]
    assert torch.allclose(filled, (images * none).sum((0, 2, 3)) / none.sum(), atol=1e-6)


def test_neighbour_fill_beats_bad_predictions_on_held_out_pixels_of_smooth_images():
    images = smooth_images()
    heldout = heldout_mask(len(images), images.shape[-1])
    filled = neighbour_fill(images, ~heldout)
    score = psnr(filled, images, heldout).mean()
    assert score > 35  # smooth images: neighbours say almost everything
    assert psnr(images, images, heldout).mean() > score  # the truth is better still
    for name, pred in bad_predictions(images).items():
        assert psnr(pred, images, heldout).mean() < score - 5, name


def test_neighbour_fill_keeps_observed_pixels_never_reads_held_out_ones_and_widens_rings():
    images = smooth_images(2, 16)
    heldout = heldout_mask(2, 16, fraction=0.3)
    filled = neighbour_fill(images, ~heldout)
    assert torch.equal(filled * ~heldout, images * ~heldout)
    changed = torch.where(heldout, torch.rand_like(images), images)
    assert torch.equal(neighbour_fill(changed, ~heldout), filled)
    # One observed pixel: every pixel takes its colour, through ever wider rings.
    one = torch.zeros(1, 1, 9, 9, dtype=torch.bool)
    one[0, 0, 0, 8] = True
    image = torch.rand(1, 3, 9, 9)
    assert torch.allclose(neighbour_fill(image, one), image[:, :, 0, 8, None, None].expand(1, 3, 9, 9))
    # A held-out pixel with observed 8-neighbours is their mean (the 5 x 5 ring is not read).
    grid = torch.ones(1, 1, 5, 5, dtype=torch.bool)
    grid[0, 0, 2, 2] = grid[0, 0, 1, 1] = False
    image = torch.arange(75, dtype=torch.float32).view(1, 3, 5, 5) / 75
    ring = image[0, :, 1:4, 1:4].sum((1, 2)) - image[0, :, 2, 2] - image[0, :, 1, 1]
    assert torch.allclose(neighbour_fill(image, grid)[0, :, 2, 2], ring / 7)


@pytest.mark.parametrize("resize", [bicubic_resize, lanczos_resize])
def test_upsamplers_beat_bad_predictions_on_smooth_images(resize):
    truth = smooth_images(4, 64)  # (4, 3, 64, 64)
    low = F.avg_pool2d(truth, 4)  # (4, 3, 16, 16), what a 16 px rasterization sees
    score = psnr(resize(low, 64), truth).mean()
    assert score > 30
    for name, pred in bad_predictions(truth).items():
        if name != "noisy":  # sigma 0.1 is 20 dB: far below
            assert psnr(pred, truth).mean() < score - 3, name
    assert psnr(noisy(truth), truth).mean() < score
    nearest = F.interpolate(low, size=(64, 64), mode="nearest")
    assert psnr(nearest, truth).mean() < score


def test_bicubic_matches_lanczos_format_and_preserves_a_constant():
    flat = torch.full((2, 3, 8, 8), 0.6)
    up = bicubic_resize(flat, 32)
    assert up.shape == (2, 3, 32, 32) and up.dtype == torch.float32
    assert torch.allclose(up, lanczos_resize(flat, 32), atol=1 / 255)


def test_reference_scores_on_icons_rank_neighbours_above_the_mean_icon():
    """On real icons at 48 px (and 256 px for upsampling): every tag, finite, in a sane order."""
    train, unseen = load_images("icons100", 48).images[:20], load_images("icons-large", 48, split="test").images[:8]
    heldout, unseen_heldout = heldout_mask(20, 48), heldout_mask(8, 48, seed=1)
    hr = load_images("icons100", 256).images[:20]
    scores = reference_scores(train, heldout, unseen, unseen_heldout, hr)
    assert set(scores) == {"reference/mean_icon_train_pixels", "reference/mean_icon_heldout_pixels",
                           "reference/neighbours_heldout_pixels", "reference/mean_icon_unseen",
                           "reference/mean_icon_unseen_heldout", "reference/neighbours_unseen_heldout",
                           *(f"reference/{r}_256{m}" for r in ("lanczos", "bicubic") for m in ("", "_ssim", "_flat_rmse"))}
    assert scores["reference/lanczos_256_flat_rmse"] < 2 and 0.8 < scores["reference/lanczos_256_ssim"] < 1
    assert 5 < scores["reference/mean_icon_heldout_pixels"] < scores["reference/neighbours_heldout_pixels"] < 40
    assert scores["reference/mean_icon_unseen_heldout"] < scores["reference/neighbours_unseen_heldout"]
    assert 20 < scores["reference/bicubic_256"] < 40 and 20 < scores["reference/lanczos_256"] < 40

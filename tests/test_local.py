"""The local implicit image function (models/local_features.py): bicubic at init, reads only
observed pixels, batched = per image, continuous across pixel cells, learns to upsample."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from analysis.scoring.evaluate import psnr
from data.images import load_images
from data.pixels import heldout_mask, neighbour_fill, pixel_grid
from models.local_features import LocalINR


def _model(res: int = 16, seed: int = 0, residual: bool = True) -> LocalINR:
    torch.manual_seed(seed)
    model = LocalINR(res, channels=8, hidden=16, hidden_layers=2)
    if residual:  # a non-zero residual, as after training
        torch.nn.init.normal_(model.mlp[-1].weight, std=0.3)
    return model


def test_untrained_it_is_bicubic_upsampling_of_the_observed_pixels():
    model = _model(residual=False)
    images = torch.rand(3, 3, 16, 16)
    observed = ~heldout_mask(3, 16)
    rep = model.encode(images * observed, observed, torch.arange(3))
    filled = neighbour_fill(images * observed, observed)
    expected = F.interpolate(filled, size=64, mode="bicubic", align_corners=False)
    assert torch.allclose(model.render(rep, 64), expected, atol=1e-5)
    assert torch.allclose(model.render(rep, 16), filled, atol=1e-5)  # pixel centres: the pixels themselves


def test_held_out_pixels_are_never_read():
    model = _model()
    images = torch.rand(2, 3, 16, 16)
    observed = ~heldout_mask(2, 16)
    changed = torch.where(observed, images, torch.rand_like(images))
    a = model.encode(images * observed, observed, torch.arange(2)).latent
    b = model.encode(changed, observed, torch.arange(2)).latent
    assert torch.equal(a, b)


def test_batched_decode_equals_per_image_decode():
    model = _model()
    images, masks = torch.rand(3, 3, 16, 16), torch.ones(3, 1, 16, 16, dtype=torch.bool)
    rep = model.encode(images, masks, torch.arange(3))
    coords = torch.rand(3, 50, 2) * 2 - 1
    batched = model.decode(rep, coords)
    single = torch.cat([model.decode(rep.select(k), coords[k:k + 1]) for k in range(3)])
    assert torch.allclose(batched, single, atol=1e-6)


def test_the_output_is_continuous_across_pixel_cells():
    """LIIF's local ensemble: a point crossing from one pixel's cell into the next changes the
    output by as little as the step (with only the nearest pixel's feature it would jump)."""
    model = _model()
    rep = model.encode(torch.rand(1, 3, 16, 16), torch.ones(1, 1, 16, 16, dtype=torch.bool), torch.arange(1))
    boundary = torch.arange(1, 16) * 2 / 16 - 1  # x where one pixel cell meets the next (16 px grid)
    y = torch.linspace(-0.9, 0.9, 7)
    x, yy = torch.meshgrid(boundary, y, indexing="ij")
    eps = 1e-4
    left = model.decode(rep, torch.stack([x.flatten() - eps, yy.flatten()], -1))
    right = model.decode(rep, torch.stack([x.flatten() + eps, yy.flatten()], -1))
    assert (left - right).abs().max() < 1e-2
    residual = model.decode(rep, pixel_grid(64)) - F.interpolate(rep.latent.view(1, 11, 16, 16)[:, :3], size=64,
                                                                mode="bicubic", align_corners=False).flatten(2).mT
    assert residual.abs().mean() > 1e-2  # the residual is not zero, so the continuity above is the ensemble's


def test_training_at_true_high_resolution_beats_its_own_bicubic_start():
    """A tiny overfit: 4 icons read at 24 px, supervised at their true 128 px renders."""
    low, high = load_images("icons100", 24).images[:4], load_images("icons100", 128).images[:4]
    model = _model(res=24, residual=False)
    masks = torch.ones(4, 1, 24, 24, dtype=torch.bool)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    coords = pixel_grid(128)
    targets = high.flatten(2).mT  # (4, 128*128, 3)
    with torch.no_grad():
        start = psnr(model.render(model.encode(low, masks, torch.arange(4)), 128), high).mean()
    gen = torch.Generator().manual_seed(0)
    for _ in range(150):
        pick = torch.randint(0, len(coords), (1024,), generator=gen)
        pred = model.decode(model.encode(low, masks, torch.arange(4)), coords[pick])
        loss = (pred - targets[:, pick]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        end = psnr(model.render(model.encode(low, masks, torch.arange(4)), 128), high).mean()
    assert end > start + 1.0, (start, end)


def test_train_hyper_runs_the_local_method_with_high_resolution_supervision(shapes_dir, tmp_path):
    import train_hyper

    metrics = train_hyper.main(["--data", str(shapes_dir), "--out", str(tmp_path / "run"), "--model", "local",
                                "--res", "12", "--hr-res", "24", "--hr-supervision", "24", "--unseen", "",
                                "--feature-channels", "4", "--hidden", "8", "--batch", "2", "--pixels", "16",
                                "--steps", "3", "--device", "cpu"])
    assert metrics["step"] == 3
    for tag in ("psnr/upsample_24", "ssim/upsample_24", "flat_rmse/upsample_24", "reference/lanczos_24_flat_rmse"):
        assert tag in metrics, tag


def test_upsample_scores_unseen_icons_per_icon_against_lanczos(tmp_path):
    import train_hyper
    import upsample
    from common.errors import UserError

    out = tmp_path / "run"
    train_hyper.main(["--out", str(out), "--model", "local", "--hr-res", "0", "--hr-supervision", "0",
                      "--unseen-count", "4", "--feature-channels", "4", "--hidden", "8", "--batch", "2",
                      "--pixels", "16", "--steps", "2", "--device", "cpu"])
    result = upsample.main(["--ckpt", str(out / "ckpt.pt"), "--icons", "0", "--unseen", "3", "--residual",
                            "--out", str(tmp_path / "up")])
    wins = result["unseen_minus_lanczos"]
    assert wins["icons"] == 3 and 0 <= wins["wins"] <= 3 and wins["min"] <= wins["median"] <= wins["max"]
    scores = result["unseen"]
    assert list(scores) == ["lanczos", "local", "local + residual"] and "minus_lanczos" not in scores["lanczos"]
    assert scores["local"]["minus_lanczos"]["n"] == 3 and scores["local"]["minus_lanczos"]["mean"] == pytest.approx(wins["mean"])
    gain = scores["local + residual"]["minus_render"]
    assert gain["mean"] == pytest.approx(scores["local + residual"]["minus_lanczos"]["mean"] - wins["mean"], abs=1e-4)
    train_hyper.main(["--out", str(tmp_path / "table"), "--model", "hyper_table", "--hr-res", "0", "--unseen", "",
                      "--hidden", "8", "--latent-dim", "4", "--hyper-hidden", "8", "--batch", "2", "--pixels", "16",
                      "--steps", "1", "--device", "cpu"])
    try:
        upsample.main(["--ckpt", str(tmp_path / "table" / "ckpt.pt"), "--icons", "0", "--unseen", "3",
                       "--out", str(tmp_path / "up2")])
        raise AssertionError("a code table cannot encode unseen icons")
    except UserError as err:
        assert "--unseen 0" in str(err) and "\n" not in str(err)

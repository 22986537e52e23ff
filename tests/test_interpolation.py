"""Blends, interpolation paths, their metrics, similarity and pair selection, and the three
scripts (interpolate.py, similarity.py, upsample.py) on a tiny checkpoint."""
from __future__ import annotations

import json

import pytest
import torch
from conftest import write_shapes

import interpolate
import similarity
import train_hyper
import upsample
from analysis.figures import save_heatmap
from analysis.interpolation.blend import (
    applicable_modes,
    check_mode,
    interpolation_path,
    lerp,
    slerp,
)
from analysis.interpolation.similarity import weight_similarity
from common.errors import UserError
from models.method import Rep
from train.registry import build_method
from tests.conftest import tiny_config
from train.checkpoint import method_from_checkpoint

TRAIN = ["--res", "12", "--hidden", "16", "--hidden-layers", "1", "--steps", "3", "--hr-res", "0", "--unseen", "",
         "--eval-every", "100", "--device", "cpu", "--lr", "1e-3"]


def test_blends_are_exact_at_the_ends_and_slerp_interpolates_norms():
    a, b = torch.randn(2, 7), 3 * torch.randn(2, 7)
    for fn in (lerp, slerp):
        assert torch.equal(fn(a, b, 0.0), a) and torch.equal(fn(a, b, 1.0), b)
    mid = slerp(a, b, 0.5)
    assert abs(mid.norm() - (a.norm() + b.norm()) / 2) < 1e-4  # norm goes linearly
    cos = lambda x, y: (x.flatten() @ y.flatten() / (x.norm() * y.norm())).item()  # noqa: E731
    assert abs(cos(mid, a) - cos(mid, b)) < 1e-4  # halfway along the great circle
    assert torch.allclose(slerp(a, 2 * a, 0.5), 1.5 * a, atol=1e-5)  # parallel: falls back to lerp


@pytest.mark.parametrize("kind", ["lerp", "slerp"])
@pytest.mark.parametrize("model,mode", [("hyper", "latent"), ("hyper", "weights"), ("concat", "latent")])
def test_path_endpoints_reproduce_endpoint_renders(model, mode, kind):
    torch.manual_seed(0)
    method = build_method(tiny_config(model), 2).eval()
    images = torch.rand(2, 3, 12, 12)
    rep = method.encode(images, torch.ones(2, 1, 12, 12, dtype=torch.bool), torch.arange(2)).detach()
    ends = method.render(rep, 16).clamp(0, 1)  # (2, 3, 16, 16)
    frames = interpolation_path(method, rep.select(0), rep.select(1), [0.0, 0.5, 1.0], mode, 16, kind)
    assert frames.shape == (3, 3, 16, 16)
    assert torch.allclose(frames[0], ends[0], atol=1e-5) and torch.allclose(frames[-1], ends[1], atol=1e-5)
    pixel = interpolation_path(method, rep.select(0), rep.select(1), [0.0, 0.5, 1.0], "pixel", 16)
    assert torch.allclose(pixel[0], ends[0], atol=1e-6) and torch.allclose(pixel[1], (ends[0] + ends[1]) / 2, atol=1e-6)


def test_modes_that_do_not_apply_are_user_errors():
    concat = build_method(tiny_config("concat"), 2)
    hyper = build_method(tiny_config("hyper"), 2)
    ones = torch.ones(1, 1, 8, 8, dtype=torch.bool)
    crep = concat.encode(torch.rand(1, 3, 8, 8), ones, torch.arange(1))
    hrep = hyper.encode(torch.rand(1, 3, 8, 8), ones, torch.arange(1))
    assert applicable_modes(concat, crep) == ["latent", "pixel"]
    assert applicable_modes(hyper, hrep) == ["latent", "weights", "pixel"]
    with pytest.raises(UserError, match="weights.*LatentConcatINR"):
        check_mode(concat, crep, "weights")
    with pytest.raises(UserError, match="latent"):  # a weights-only rep, like MAML's adapted weights
        check_mode(hyper, Rep(params=hrep.params), "latent")


def disc(cx: float, res: int = 48, r: float = 4.0) -> torch.Tensor:
    """A blue disc centred at (cx, res/2) on white: (3, res, res)."""
    yy, xx = torch.meshgrid(torch.arange(res).float(), torch.arange(res).float(), indexing="ij")
    inside = ((xx - cx) ** 2 + (yy - res / 2) ** 2 < r * r).float()  # (res, res)
    colour = torch.tensor([0.2, 0.3, 0.8])[:, None, None]
    return 1 - inside * (1 - colour)


def test_weight_similarity_and_heatmap(tmp_path):
    base = torch.randn(1, 5, 4)
    params = {"w": torch.cat([base, base * 2, -base, torch.randn(1, 5, 4)]), "b": torch.randn(4, 3)}
    sim = weight_similarity(params)  # (4, 4)
    assert sim.shape == (4, 4) and torch.allclose(sim.diagonal(), torch.ones(4), atol=1e-5)
    s = torch.tensor([[1, .9, .8, .1], [.9, 1, .2, .7], [.8, .2, 1, -.5], [.1, .7, -.5, 1]])
    path = save_heatmap(s, tmp_path / "h.png", -1, 1, "test")
    assert path.stat().st_size > 0


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    root = tmp_path_factory.mktemp("interp")
    shapes = write_shapes(root / "shapes", count=6)
    train_hyper.main(["--data", str(shapes), "--out", str(root / "run"), "--model", "hyper", "--encoder", "conv",
                      "--latent-dim", "8", "--hyper-hidden", "16", *TRAIN])
    return root / "run" / "ckpt.pt"


def test_scripts_write_sheets_gifs_and_metrics(tiny_ckpt, tmp_path):
    similarity.main(["--ckpt", str(tiny_ckpt), "--out", str(tmp_path / "sim"), "--device", "cpu"])
    for name in ("similarity_latent.png", "similarity_weights.png", "pixel_psnr.png", "pairs.png", "pairs.json",
                 "similarity_vs_morph_error.png"):
        assert (tmp_path / "sim" / name).is_file(), name
    saved = json.loads((tmp_path / "sim" / "pairs.json").read_text())
    assert saved["measure"] == "weights" and saved["pairs"][-1]["kind"] == "hard" and saved["rule"]
    assert all(p["a"]["name"].startswith("shape") for p in saved["pairs"])

    out = tmp_path / "interp"
    res = interpolate.main(["--ckpt", str(tiny_ckpt), "--a", "0", "--b", "shape03", "--frames", "5", "--res", "16",
                            "--out", str(out), "--device", "cpu"])
    modes = res["pairs"][0]["modes"]
    assert list(modes) == ["latent", "weights", "warp", "aligned", "pixel"]
    for mode, m in modes.items():
        assert (out / f"strip_{mode}.png").is_file() and (out / f"{mode}.gif").is_file()
        # the aligned mode re-encodes its endpoints with every pixel observed, the others reuse the renders
        assert m["morph_error"] >= 0 and m["pdv"] >= 0 and (m["endpoint_error"] < 1e-4 or mode == "aligned")
    assert (out / "sheet.png").is_file() and any((out / "tb").glob("events.out.tfevents.*"))
    assert json.loads((out / "metrics.json").read_text())["b"]["name"] == "shape03"

    many = interpolate.main(["--ckpt", str(tiny_ckpt), "--pairs", str(tmp_path / "sim" / "pairs.json"), "--frames", "3",
                             "--res", "12", "--modes", "weights,warp,pixel", "--slerp", "--random-pairs", "3",
                             "--out", str(tmp_path / "many")])
    assert len(many["pairs"]) == len(saved["pairs"]) and (tmp_path / "many" / "metrics.json").is_file()
    assert set(many["random"]["modes"]) == {"weights", "warp", "pixel"} and len(many["random"]["pairs"]) == 3
    assert many["random"]["modes"]["warp"]["morph_error"]["n"] == 3

    up = upsample.main(["--ckpt", str(tiny_ckpt), "--icons", "0,shape01", "--res", "24", "--out", str(tmp_path / "up")])
    assert (tmp_path / "up" / "sheet.png").is_file() and set(up["mean_psnr"]) == {"lanczos", "hyper"}


@pytest.mark.parametrize("flags,message", [(["--a", "6"], "out of range"), (["--b", "-7"], "out of range"),
                                           (["--a", "nosuch"], "no training image"), (["--b", "0"], "same image"),
                                           (["--modes", "latent,foo"], "unknown mode"), (["--frames", "1"], "frames")])
def test_bad_interpolation_arguments_are_user_errors(tiny_ckpt, tmp_path, flags, message):
    with pytest.raises(UserError, match=message):
        interpolate.main(["--ckpt", str(tiny_ckpt), "--out", str(tmp_path / "x"), "--res", "8", *flags])


def test_maml_blends_weights_only(tmp_path):
    pytest.importorskip("meta.maml")
    train_maml = pytest.importorskip("train_maml")
    shapes = write_shapes(tmp_path / "shapes", count=2)
    train_maml.main(["--data", str(shapes), "--out", str(tmp_path / "run"), *TRAIN])
    assert method_from_checkpoint(tmp_path / "run" / "ckpt.pt")[1]["config"]["model"] == "maml"
    res = interpolate.main(["--ckpt", str(tmp_path / "run" / "ckpt.pt"), "--frames", "3", "--res", "12",
                            "--out", str(tmp_path / "out")])
    assert list(res["pairs"][0]["modes"]) == ["weights", "warp", "aligned", "pixel"]
    assert res["pairs"][0]["modes"]["weights"]["endpoint_error"] < 1e-4
    with pytest.raises(UserError, match="latent"):
        interpolate.main(["--ckpt", str(tmp_path / "run" / "ckpt.pt"), "--modes", "latent", "--out", str(tmp_path / "o2")])

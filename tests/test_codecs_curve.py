"""experiments/codecs_curve.py: the JPEG / WebP reference curves rise with quality, a float16 latent decodes as its
float32 one, and the script end to end on a tiny trained checkpoint and a scaling.json."""
from __future__ import annotations

import json

import pytest
import torch

from experiments import codecs_curve
import train_hyper
from analysis.scoring.evaluate import psnr
from data.images import load_images
from common.errors import UserError
from models.method import Rep
from models.modulated import ModulatedINR
from models.siren import SirenConfig
from tests.conftest import tiny_flags


def test_codec_curves_rise_with_quality():
    icons = load_images("icons-large", 48, split="test").images[:6]
    jpeg = {q: codecs_curve.codec_point(icons, "JPEG", quality=q, optimize=True, subsampling="4:4:4")
            for q in (10, 50, 90)}
    assert jpeg[90]["psnr"] > jpeg[10]["psnr"] + 5
    assert jpeg[10]["bytes"] < jpeg[50]["bytes"] < jpeg[90]["bytes"]
    assert all(0 < p["scan bytes"] < p["bytes"] for p in jpeg.values())  # the headers and tables are left out
    webp = [codecs_curve.codec_point(icons, "WEBP", quality=q, method=6) for q in (10, 50, 90)]
    assert webp[0]["bytes"] < webp[1]["bytes"] < webp[2]["bytes"] and webp[2]["psnr"] > webp[0]["psnr"]
    assert codecs_curve.codec_point(icons, "WEBP", lossless=True)["psnr"] == pytest.approx(100)  # exact: psnr's cap


def test_float16_latent_decodes_as_its_float32_one():
    torch.manual_seed(0)
    model = ModulatedINR(SirenConfig(hidden=16, hidden_layers=1), 24, grid=4, channels=4).eval()
    torch.nn.init.normal_(model.hyper.weight, std=0.05)  # non-zero modulations, as after training
    icons = load_images("icons100", 24).images[:8]
    latent = model.encode(icons, torch.ones_like(icons[:, :1], dtype=torch.bool)).latent  # (8, 64)
    rounded = latent.half().float()
    assert 0 < (rounded - latent).abs().max() < 1e-2 * latent.abs().max()  # rounded, but not by much
    full, half = (psnr(model.render(Rep(latent=z), 24), icons).mean().item() for z in (latent, rounded))
    assert abs(full - half) < 0.1


def test_script_on_a_tiny_checkpoint_and_a_table(tmp_path):
    run = tmp_path / "run"
    metrics = train_hyper.main(["--model", "modulated", "--data", "icons100", "--minutes", "0", "--steps", "2",
                                "--eval-every", "1000000", "--unseen-count", "4", "--hr-res", "0", "--track-every", "0",
                                "--device", "cpu", "--out", str(run), *tiny_flags("modulated")])
    table = tmp_path / "scaling.json"
    rows = [{"icons": n, "changes": c, "grid": g, "modulation": "shift", "floats": f, "steps": 600, "unseen icons": u}
            for n, c, g, f, u in ((100, 0.5, "12 x 12 x 16", 2304, 21.0), (1445, 0.0, "12 x 12 x 16", 2304, 22.5),
                                  (1445, 0.5, "12 x 12 x 16", 2304, 23.0), (1445, 0.5, "6 x 6 x 16", 576, 20.0))]
    table.write_text(json.dumps({"rows": rows}))
    out = tmp_path / "codecs"
    result = codecs_curve.main(["--checkpoints", str(run / "ckpt.pt"), "--table", str(table), "--count", "4",
                                "--qualities", "10,50,90", "--device", "cpu", "--out", str(out)])
    points = [r for r in result["rows"] if r["codec"].startswith("modulated")]
    assert [(p["kind"], p["label"], p["bytes"]) for p in points] == [
        ("pass", "4x4x4", 128), ("steps", "4x4x4, 3 steps", 128), ("table", "6x6x16", 1152),
        ("table", "12x12x16", 4608)]
    one_pass = points[0]
    assert one_pass["psnr float32"] == pytest.approx(metrics["psnr/unseen_images"], abs=1e-3)  # the run's own score
    assert abs(one_pass["psnr"] - one_pass["psnr float32"]) < 0.1
    assert points[3]["psnr"] == 23.0  # per grid: the most icons, the registry's --changes (0.5)
    assert json.loads((out / "codecs.json").read_text())["icons"] == 4
    assert "headers included" in (out / "codecs.md").read_text()
    assert 10_000 < (out / "codecs.png").stat().st_size < 300_000
    with pytest.raises(UserError, match="qualities"):
        codecs_curve.main(["--qualities", "10,101", "--out", str(out)])
    with pytest.raises(UserError, match="--table"):
        codecs_curve.main(["--table", str(run / "metrics.json"), "--count", "2", "--qualities", "50",
                           "--out", str(out)])

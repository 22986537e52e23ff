"""train_hyper.py end to end on a tiny folder: checkpoint, TensorBoard, resume, refusal to overwrite."""
from __future__ import annotations

import json

import pytest
import torch

import train_hyper
from engine.build import method_from_checkpoint
from engine.checkpoint import load_checkpoint
from engine.errors import UserError

TINY = ["--res", "12", "--hidden", "16", "--hidden-layers", "1", "--latent-dim", "8", "--hyper-hidden", "16",
        "--eval-every", "2", "--image-every", "2", "--ckpt-every", "2", "--hr-res", "24", "--unseen", "",
        "--device", "cpu", "--lr", "1e-3"]


@pytest.mark.parametrize("model,encoder", [("hyper", "conv"), ("concat", "table")])
def test_train_writes_checkpoint_events_and_resumes(shapes_dir, tmp_path, model, encoder):
    out = tmp_path / "run"
    args = ["--data", str(shapes_dir), "--out", str(out), "--model", model, "--encoder", encoder, *TINY]
    metrics = train_hyper.main(args + ["--steps", "4"])
    assert load_checkpoint(out / "ckpt.pt")["step"] == 4
    assert any((out / "tb").glob("events.out.tfevents.*"))
    assert (out / "figures" / "reconstruction.png").is_file() and (out / "figures" / "render_24.png").is_file()
    for tag in ("psnr/train_pixels", "psnr/heldout_pixels", "psnr/upsample_24", "psnr/lanczos_24"):
        assert 0 < metrics[tag] < 100, tag
    assert json.loads((out / "metrics.json").read_text())["step"] == 4

    with pytest.raises(UserError, match="already exists"):
        train_hyper.main(args + ["--steps", "4"])
    with pytest.raises(UserError, match="differs from the checkpoint"):
        train_hyper.main(args + ["--steps", "6", "--resume", "--lr", "1e-2"])
    resumed = train_hyper.main(args + ["--steps", "6", "--resume"])
    assert resumed["step"] == 6 and load_checkpoint(out / "ckpt.pt")["step"] == 6

    method, ckpt = method_from_checkpoint(out / "ckpt.pt")  # rebuilt from the checkpoint alone
    assert ckpt["config"]["model"] == model and not method.training


def test_resume_continues_the_same_run(shapes_dir, tmp_path):
    """Stopping at step 3 and resuming to 6 gives the same weights as running 6 straight."""
    common = ["--data", str(shapes_dir), "--batch", "2", "--pixels", "20", "--ckpt-every", "3", *TINY]
    train_hyper.main(common + ["--out", str(tmp_path / "straight"), "--steps", "6"])
    train_hyper.main(common + ["--out", str(tmp_path / "split"), "--steps", "3"])
    train_hyper.main(common + ["--out", str(tmp_path / "split"), "--steps", "6", "--resume"])
    a = load_checkpoint(tmp_path / "straight" / "ckpt.pt")["model"]
    b = load_checkpoint(tmp_path / "split" / "ckpt.pt")["model"]
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name

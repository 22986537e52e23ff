"""train_hyper.py end to end on a tiny folder: checkpoint, TensorBoard, resume, refusal to overwrite."""
from __future__ import annotations

import json

import pytest
import torch

import train_hyper
from errors import UserError
from train.checkpoint import load_checkpoint, method_from_checkpoint
from train.schedule import budget_progress, lr_factor
from train.trainer import Run

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
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(out / "tb"))
    events.Reload()
    assert {"loss/train", "loss/mse", "lr", "psnr/train_pixels", "psnr/heldout_pixels"} <= set(events.Tags()["scalars"])
    lrs = [e.value for e in events.Scalars("lr")]
    assert lrs[-1] < 1e-3  # decayed: the run's last step is the end of its budget
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


def test_resume_continues_the_same_run(shapes_dir, tmp_path, monkeypatch):
    """A run of 6 steps interrupted after its step-3 checkpoint and resumed gives the same
    weights as running 6 straight: model, optimizer, RNG and the lr schedule (step-based with
    --minutes 0) all continue where they were."""
    common = ["--data", str(shapes_dir), "--batch", "2", "--pixels", "20", "--minutes", "0", "--steps", "6", *TINY,
              "--ckpt-every", "3"]  # after TINY: the last flag wins
    train_hyper.main(common + ["--out", str(tmp_path / "straight")])
    step = Run.step

    def interrupted_step(run):
        if run.step_count == 3:
            raise KeyboardInterrupt
        return step(run)

    with monkeypatch.context() as patch:
        patch.setattr(Run, "step", interrupted_step)
        with pytest.raises(KeyboardInterrupt):
            train_hyper.main(common + ["--out", str(tmp_path / "split")])
    assert load_checkpoint(tmp_path / "split" / "ckpt.pt")["step"] == 3
    train_hyper.main(common + ["--out", str(tmp_path / "split"), "--resume"])
    a = load_checkpoint(tmp_path / "straight" / "ckpt.pt")["model"]
    b = load_checkpoint(tmp_path / "split" / "ckpt.pt")["model"]
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name


def test_lr_follows_the_budget():
    """Cosine from --lr to --lr-final x lr over whichever budget (steps or minutes) runs out first."""
    assert lr_factor(0.0, 0.05) == 1.0 and lr_factor(1.0, 0.05) == pytest.approx(0.05)
    assert lr_factor(0.5, 0.0) == pytest.approx(0.5) and lr_factor(0.3, 1.0) == 1.0
    assert budget_progress(50, 0.0, 100, 0.0) == 0.5  # minutes 0: steps alone
    assert budget_progress(10, 45.0, 100, 1.0) == 0.75  # the clock is further along than the steps
    assert budget_progress(300, 0.0, 100, 1.0) == 1.0

"""train_hyper.py end to end on a tiny folder: checkpoint, TensorBoard, resume, refusal to overwrite."""
from __future__ import annotations

import json

import pytest
import torch

import train_hyper
from common.errors import UserError
from train.checkpoint import load_checkpoint, method_from_checkpoint
from train.schedule import fix_horizon, lr_factor
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


LONG_RUN = ["--model", "modulated", "--grid", "3", "--hr-supervision", "0", "--warmup", "2", "--base-lr", "0.3",
            "--clip", "1", "--skip-spikes", "3", "--ema", "0.9"]


@pytest.mark.parametrize("levers", [[], LONG_RUN], ids=["plain", "long-run levers"])
def test_resume_continues_the_same_run(shapes_dir, tmp_path, monkeypatch, levers):
    """A run of 6 steps interrupted after its step-3 checkpoint and resumed gives the same
    weights as running 6 straight: model, optimizer, RNG and the lr schedule (step-based with
    --minutes 0) all continue where they were."""
    common = ["--data", str(shapes_dir), "--batch", "2", "--pixels", "20", "--minutes", "0", "--steps", "6", *TINY,
              "--ckpt-every", "3", *levers]  # after TINY: the last flag wins
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
    straight, split = (load_checkpoint(tmp_path / name / "ckpt.pt") for name in ("straight", "split"))
    for key in ("model", "train_model") if levers else ("model",):  # the weight average and the trained weights
        for name in straight[key]:
            assert torch.allclose(straight[key][name], split[key][name], atol=1e-6), (key, name)
    if levers:
        assert straight["ema_updates"] == split["ema_updates"] == 6
        assert not torch.equal(straight["model"]["siren.layers.0.weight"], straight["train_model"]["siren.layers.0.weight"])


def test_lr_follows_the_budget():
    """Linear warmup, then a cosine from --lr to --lr-final x lr at the step horizon; the horizon is
    --steps, or where --minutes end at the measured step rate, whichever comes first."""
    assert lr_factor(0, 100, 0, 0.05) == 1.0 and lr_factor(100, 100, 0, 0.05) == pytest.approx(0.05)
    assert lr_factor(50, 100, 0, 0.0) == pytest.approx(0.5) and lr_factor(30, 100, 0, 1.0) == 1.0
    assert lr_factor(0, 100, 10, 0.0) == pytest.approx(0.1) and lr_factor(9, 100, 10, 0.0) == 1.0  # the ramp
    assert lr_factor(55, 100, 10, 0.0) == pytest.approx(0.5)  # the cosine's middle, between warmup and horizon
    assert lr_factor(500, 100, 10, 0.05) == pytest.approx(0.05)  # past the horizon: the final rate
    assert fix_horizon(120, 12.0, 10.0, 20000, 0.0) == 20000  # no minutes budget: --steps
    assert fix_horizon(120, 12.0, 10.0, 20000, 1.0) == 120 + 480  # 48 s left at 10 steps/s
    assert fix_horizon(120, 12.0, 10.0, 300, 1.0) == 300  # --steps ends first


def test_minutes_fix_the_horizon_from_the_step_rate(shapes_dir, tmp_path):
    """With --minutes the schedule's horizon is set from the measured rate and saved; the lr reaches
    --lr-final at the horizon, where the run ends (unless the clock ended it first)."""
    out = tmp_path / "run"
    metrics = train_hyper.main(["--data", str(shapes_dir), "--out", str(out), *TINY, "--batch", "2", "--pixels", "20",
                                "--steps", "100000", "--minutes", "0.05", "--eval-every", "1000", "--ckpt-every", "1000",
                                "--image-every", "1000", "--track-every", "0"])
    ckpt = load_checkpoint(out / "ckpt.pt")
    assert ckpt["rate"] > 0 and 120 < ckpt["horizon"] < 100000 and metrics["horizon"] == ckpt["horizon"]
    assert metrics["step"] <= ckpt["horizon"]


def test_a_jumped_loss_is_skipped_not_learned():
    """--skip-spikes: a loss far above the running mean is skipped (True), a level change is followed."""
    from train.health import WARM, LossGuard
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
    guard = LossGuard("/nonexistent", opt, 0, spike=3.0)
    losses = [1.0] * (WARM + 10) + [10.0] + [1.0] * 5
    skips = [guard.check(i, torch.tensor(x), torch.tensor(x)) for i, x in enumerate(losses)]
    assert skips.index(True) == WARM + 10 and sum(skips) == 1 and guard.skipped == 1
    followed = [guard.check(i, torch.tensor(4.0), torch.tensor(4.0)) for i in range(400)]  # a new level, 4x
    assert followed[0] and not any(followed[-100:])  # skipped at first, then the mean follows it
    never = LossGuard("/nonexistent", opt, 0)  # spike 0: the test is off
    assert not any(never.check(i, torch.tensor(x), torch.tensor(x)) for i, x in enumerate(losses))


def test_changes_from_hr_trains_a_modulated_run_and_needs_high_res_renders(shapes_dir, tmp_path):
    common = ["--data", str(shapes_dir), "--model", "modulated", "--grid", "3", "--batch", "2", "--pixels", "20",
              "--steps", "2", *TINY, "--changes", "1", "--changes-from-hr"]
    with pytest.raises(UserError, match="--changes-from-hr renders changed icons"):
        train_hyper.main(common + ["--out", str(tmp_path / "no_hr"), "--hr-supervision", "0"])
    assert not (tmp_path / "no_hr").exists()  # refused before any work
    metrics = train_hyper.main(common + ["--out", str(tmp_path / "hr"), "--hr-supervision", "24"])
    assert metrics["step"] == 2 and 0 < metrics["psnr/train_pixels"] < 100
    assert load_checkpoint(tmp_path / "hr" / "ckpt.pt")["config"]["changes_from_hr"] is True

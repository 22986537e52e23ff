"""--undo-spikes: the update that made the loss jump is taken back, weights and Adam's state (train/undo.py)."""
from __future__ import annotations

import pytest
import torch
from test_train_hyper import TINY

import train_hyper
from common.errors import UserError
from train.undo import UndoSpikes


def model_and_adam():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    return model, torch.optim.Adam(model.parameters(), lr=0.1)


def train_step(model, opt, undo, skip, scale=1.0):
    x = torch.randn(8, 3)
    loss = scale * model(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    undo.keep(skip)
    if not (skip if isinstance(skip, bool) else bool(skip)):
        opt.step()
    undo.restore(skip)


def snapshot(model, opt):
    return [t.clone() for t in UndoSpikes(model, opt)._live()]


@pytest.mark.parametrize("as_tensor", [False, True], ids=["immediate", "on the device"])
def test_a_jumped_loss_takes_back_the_update_before_it(as_tensor):
    flag = (lambda b: torch.tensor(b)) if as_tensor else (lambda b: b)
    model, opt = model_and_adam()
    undo = UndoSpikes(model, opt)
    for _ in range(3):
        train_step(model, opt, undo, flag(False))
    before = snapshot(model, opt)  # the weights and Adam's state before the damaging update
    train_step(model, opt, undo, flag(False), scale=1e4)  # the update that will make the loss jump
    damaged = snapshot(model, opt)
    assert any(not torch.equal(a, b) for a, b in zip(before, damaged))
    train_step(model, opt, undo, flag(True))  # the jump is seen: skip this step and undo the last update
    assert all(torch.equal(a, b) for a, b in zip(before, snapshot(model, opt)))
    train_step(model, opt, undo, flag(True))  # a second skip in a row changes nothing more
    assert all(torch.equal(a, b) for a, b in zip(before, snapshot(model, opt)))
    train_step(model, opt, undo, flag(False))  # and training goes on from there
    assert any(not torch.equal(a, b) for a, b in zip(before, snapshot(model, opt)))


def test_undo_spikes_trains_and_needs_skip_spikes(shapes_dir, tmp_path):
    common = ["--data", str(shapes_dir), "--model", "modulated", "--grid", "3", "--batch", "2", "--pixels", "20",
              "--steps", "3", *TINY, "--hr-supervision", "0", "--undo-spikes"]
    with pytest.raises(UserError, match="--undo-spikes undoes the update"):
        train_hyper.main(common + ["--out", str(tmp_path / "alone"), "--skip-spikes", "0"])
    assert not (tmp_path / "alone").exists()  # refused before any work
    metrics = train_hyper.main(common + ["--out", str(tmp_path / "run"), "--skip-spikes", "3"])
    assert metrics["step"] == 3 and 0 < metrics["psnr/train_pixels"] < 100


def test_the_trainer_puts_back_the_weights_before_the_update_that_made_the_loss_jump(shapes_dir, tmp_path, monkeypatch):
    from train.health import LossGuard
    from train.trainer import Run

    seen = []  # the trained weights after each step
    step, check = Run.step, LossGuard.check

    def recording_step(run):
        out = step(run)
        seen.append({k: v.clone() for k, v in run.method.state_dict().items()})
        return out

    monkeypatch.setattr(Run, "step", recording_step)
    monkeypatch.setattr(LossGuard, "check", lambda self, i, loss, mse: True if i == 3 else check(self, i, loss, mse))
    train_hyper.main(["--data", str(shapes_dir), "--model", "modulated", "--grid", "3", "--batch", "2", "--pixels", "20",
                      "--steps", "5", *TINY, "--hr-supervision", "0", "--skip-spikes", "3", "--undo-spikes",
                      "--out", str(tmp_path / "run")])
    # step 3 (the fourth) saw a jump: the update of step 2 is taken back, so the weights are those after step 1
    assert all(torch.equal(seen[3][k], seen[1][k]) for k in seen[1])
    assert any(not torch.equal(seen[2][k], seen[1][k]) for k in seen[1])
    assert any(not torch.equal(seen[4][k], seen[3][k]) for k in seen[1])  # and training goes on

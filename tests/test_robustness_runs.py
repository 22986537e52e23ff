"""Robustness of runs: corrupt or mismatched checkpoints, script exit codes, training health.

Split from test_robustness.py (inputs); the helpers are repeated where both need them.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import one_line_error

import train_hyper
from common.cli import run_main
from common.errors import UserError
from train.registry import build_method
from train.checkpoint import (
    capture_rng,
    load_checkpoint,
    method_from_checkpoint,
    save_checkpoint,
)

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--res", "12", "--hidden", "16", "--hidden-layers", "1", "--latent-dim", "8", "--hyper-hidden", "16",
        "--hr-res", "0", "--unseen", "", "--device", "cpu", "--eval-every", "1000", "--image-every", "1000"]




# --------------------------------------------------------------------------- checkpoints

def tiny_state() -> dict:
    """A valid checkpoint state of a tiny hypernetwork, as train.trainer writes it."""
    cfg = dataclasses.asdict(train_hyper.HyperConfig(res=12, hidden=16, hidden_layers=1, latent_dim=8, hyper_hidden=16))
    method = build_method(cfg, 2)
    optimizer = torch.optim.Adam(method.parameters())
    return {"script": "train_hyper", "config": cfg, "names": ["a", "b"], "model": method.state_dict(),
            "optimizer": optimizer.state_dict(), "step": 5, "rng": capture_rng(torch.Generator()), "elapsed": 1.0}


def _edited(change):
    def make(path: Path) -> None:
        state = {"format": 1, **tiny_state()}
        change(state)
        torch.save(state, path)  # torch.save directly: save_checkpoint would refuse some of these
    return make


def _shape_edited(state):
    name = next(iter(state["model"]))
    state["model"][name] = torch.zeros(*state["model"][name].shape[:-1], 3)


def _nan_weights(state):
    next(iter(state["model"].values()))[...] = float("nan")


@pytest.mark.parametrize("make,expected", [
    (lambda p: p.write_bytes(p.read_bytes()[:len(p.read_bytes()) // 2]), "corrupt or truncated"),
    (lambda p: p.write_bytes(b""), "corrupt or truncated"),
    (lambda p: p.write_bytes(np.random.default_rng(0).bytes(4096)), "not a checkpoint of this project"),
    (lambda p: torch.save(torch.nn.Linear(2, 2), p), "Unsupported global"),
    (lambda p: torch.save([1, 2, 3], p), "holds a list"),
    (lambda p: torch.save({"model": {"w": torch.ones(2)}}, p), "missing keys"),
    (_edited(lambda s: s.update(format=7)), "has format 7"),
    (_edited(lambda s: s.update(step="5")), "its 'step' is a str"),
    (_edited(_shape_edited), "weights do not fit its own config"),
    (_edited(lambda s: s["model"].pop(next(iter(s["model"])))), "weights do not fit its own config"),
    (_edited(lambda s: s["config"].update(model="gan")), "unknown model 'gan'"),
    (_edited(lambda s: s["config"].pop("hidden")), "config this code cannot build"),
    (_edited(_nan_weights), "NaN/inf weights"),
])
def test_bad_checkpoint_is_a_one_line_error(tmp_path, make, expected):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, tiny_state())
    load_checkpoint(path)  # the untouched one is fine
    make(path)
    with pytest.raises(UserError, match=expected) as err:
        load_checkpoint(path)
    one_line_error(err, str(path))
    with pytest.raises(UserError):
        method_from_checkpoint(path)


def test_checkpoint_with_nan_weights_is_never_written(tmp_path):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, tiny_state())
    state = tiny_state()
    state["step"] = 10
    _nan_weights(state)
    with pytest.raises(UserError, match=r"NaN/inf by step 10 .*the last good checkpoint .* is kept"):
        save_checkpoint(path, state)
    assert load_checkpoint(path)["step"] == 5 and not (tmp_path / "ckpt.pt.tmp").exists()


def test_resume_refuses_another_scripts_checkpoint_and_a_partial_one(shapes_dir, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    args = ["--data", str(shapes_dir), "--out", str(out), "--resume", *TINY]
    (out / "ckpt.pt.tmp").write_bytes(b"partial")  # killed while writing its first checkpoint
    with pytest.raises(UserError, match=r"only a partial ckpt.pt.tmp .* --overwrite"):
        train_hyper.main(args)
    state = tiny_state()
    state["script"] = "train_maml"
    save_checkpoint(out / "ckpt.pt", state)
    with pytest.raises(UserError, match="written by train_maml.py, not train_hyper.py"):
        train_hyper.main(args)


# --------------------------------------------------------------------------- scripts: exit code 2, one line

def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "train_hyper.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})


def assert_one_error_line(stderr: str, *fragments: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in stderr, stderr
    for fragment in fragments:
        assert fragment in lines[0], stderr


def test_script_on_empty_folder_exits_2_with_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    done = run_script("--data", str(tmp_path / "empty"), "--out", str(tmp_path / "out"), *TINY)
    assert done.returncode == 2
    assert_one_error_line(done.stderr, str(tmp_path / "empty"), "contains no")


def test_script_resuming_a_corrupt_checkpoint_exits_2_with_one_line(shapes_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "ckpt.pt").write_bytes(b"PK\x03\x04" + bytes(100))  # zip magic, then nothing useful
    done = run_script("--data", str(shapes_dir), "--out", str(out), "--resume", *TINY)
    assert done.returncode == 2
    assert_one_error_line(done.stderr, str(out / "ckpt.pt"), "corrupt")


@pytest.mark.parametrize("flags,message", [
    (["--res", "0"], "--res must be positive"),
    (["--res", "-5"], "--res must be positive"),
    (["--steps", "0"], "--steps must be positive"),
    (["--res", "5000"], "resolution 5000 is not usable"),
    (["--device", "cuda"], "no CUDA GPU is visible"),
])
def test_bad_flags_exit_2_with_one_line(shapes_dir, tmp_path, capsys, flags, message):
    """Through run_main, as the script's __main__ does (in-process: a subprocess each costs 4 s of imports)."""
    if flags == ["--device", "cuda"] and torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    argv = ["--data", str(shapes_dir), "--out", str(tmp_path / "out"), *TINY, *flags]
    with pytest.raises(SystemExit) as exit_info:
        run_main(train_hyper.main, argv)
    assert exit_info.value.code == 2
    assert_one_error_line(capsys.readouterr().err, message)


# --------------------------------------------------------------------------- training health

def _poison_targets_from(step: int, value: float, monkeypatch) -> None:
    """From training step `step` on, the sampled targets become `value` (NaN, or far outside [0, 1])."""
    from train.sampler import PixelSampler

    original, calls = PixelSampler.sample, {"n": 0}

    def sample(self, index, count, gen):
        coords, targets = original(self, index, count, gen)
        calls["n"] += 1
        return coords, (targets if calls["n"] <= step else torch.full_like(targets, value))

    monkeypatch.setattr(PixelSampler, "sample", sample)


@pytest.mark.parametrize("value,message", [(float("nan"), "loss became nan at step 7"),
                                           (100.0, r"loss exploded \(MSE .* > 10\) at step 7")])
def test_bad_loss_stops_the_run_and_keeps_the_last_good_checkpoint(shapes_dir, tmp_path, monkeypatch, value, message):
    _poison_targets_from(7, value, monkeypatch)
    out = tmp_path / "run"
    with pytest.raises(UserError, match=message) as err:
        train_hyper.main(["--data", str(shapes_dir), "--out", str(out), "--steps", "20", "--ckpt-every", "5",
                          "--lr", "1e-3", *TINY])
    one_line_error(err, "the last good checkpoint", "lower --lr")
    ckpt = load_checkpoint(out / "ckpt.pt")  # would refuse NaN weights
    assert ckpt["step"] == 5 and all(torch.isfinite(t).all() for t in ckpt["model"].values())


def test_diverging_script_exits_2_and_writes_no_checkpoint(shapes_dir, tmp_path):
    out = tmp_path / "out"
    done = run_script("--data", str(shapes_dir), "--out", str(out), "--lr", "1e30", "--steps", "50", *TINY)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]  # the progress bar precedes it on stderr
    assert last.startswith("error: loss ") and "no checkpoint was written" in last, done.stderr
    assert not (out / "ckpt.pt").exists()

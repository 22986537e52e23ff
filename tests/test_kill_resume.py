"""A run killed at any moment resumes from its last checkpoint, which is never half-written.

Checkpoints are written to ckpt.pt.tmp and renamed over ckpt.pt (train.checkpoint), so a
SIGKILL in the middle of training, or even in the middle of writing a checkpoint, leaves
the previous complete ckpt.pt, and `--resume` continues from its step.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import write_shapes

import train_hyper
from train.registry import build_method
from train.checkpoint import capture_rng, load_checkpoint, save_checkpoint
from train.sampler import PixelSampler

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--res", "12", "--hidden", "16", "--hidden-layers", "1", "--latent-dim", "8", "--hyper-hidden", "16",
        "--hr-res", "0", "--unseen", "", "--ckpt-every", "5", "--device", "cpu"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")


def test_sigkilled_run_resumes_from_its_last_checkpoint(tmp_path, caplog, monkeypatch):
    data, out = write_shapes(tmp_path / "shapes"), tmp_path / "run"
    args = ["--data", str(data), "--out", str(out), *TINY]
    proc = subprocess.Popen([sys.executable, "train_hyper.py", *args, "--steps", "400"], cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, step = time.monotonic() + 60, 0
        while step < 5:
            assert proc.poll() is None, f"training exited ({proc.returncode}) before it could be killed"
            assert time.monotonic() < deadline, "no checkpoint at step >= 5 within 60 s"
            if (out / "ckpt.pt").is_file():
                step = load_checkpoint(out / "ckpt.pt")["step"]  # always whole: replaced atomically
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    saved = load_checkpoint(out / "ckpt.pt")["step"]  # a stale ckpt.pt.tmp may sit beside it: harmless
    assert saved >= 5 and saved % 5 == 0

    # Resume in-process (no second 4 s of imports), counting the steps the resumed run takes.
    calls = {"n": 0}
    original = PixelSampler.sample

    def counting_sample(self, *a, **kw):
        calls["n"] += 1
        return original(self, *a, **kw)

    monkeypatch.setattr(PixelSampler, "sample", counting_sample)
    with caplog.at_level(logging.INFO, logger="train.trainer"):
        metrics = train_hyper.main(args + ["--resume", "--steps", str(saved + 10)])
    assert f"at step {saved}" in caplog.text
    assert calls["n"] == 10, "the resumed run should take only the 10 missing steps"
    final = load_checkpoint(out / "ckpt.pt")
    assert metrics["step"] == final["step"] == saved + 10
    assert all(int(s["step"]) == saved + 10 for s in final["optimizer"]["state"].values())  # Adam went on too
    assert not (out / "ckpt.pt.tmp").exists()


def _state(step: int) -> dict:
    cfg = dataclasses.asdict(train_hyper.HyperConfig(hidden=16, hidden_layers=1, latent_dim=8, hyper_hidden=16))
    method = build_method(cfg, 1)
    return {"script": "train_hyper", "config": cfg, "names": ["a"], "model": method.state_dict(),
            "optimizer": torch.optim.Adam(method.parameters()).state_dict(), "step": step,
            "rng": capture_rng(torch.Generator()), "elapsed": 0.0}


# Run in a child: save_checkpoint whose torch.save writes a few bytes, then the process is SIGKILLed.
DIE_WHILE_WRITING = """
import os, signal, sys, torch
from train.checkpoint import save_checkpoint

def dying_save(obj, f):
    f.write(b"PK\\x03\\x04 the first bytes of a checkpoint")
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)

torch.save = dying_save
save_checkpoint(sys.argv[1], {"model": {}, "step": 10})
"""


def test_kill_while_writing_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, _state(5))
    done = subprocess.run([sys.executable, "-c", DIE_WHILE_WRITING, str(path)], cwd=ROOT, env=ENV, timeout=120)
    assert done.returncode == -signal.SIGKILL
    assert (tmp_path / "ckpt.pt.tmp").is_file()  # the partial write went to the temp file only
    assert load_checkpoint(path)["step"] == 5
    save_checkpoint(path, _state(10))  # the next save simply overwrites the stale temp file
    assert load_checkpoint(path)["step"] == 10 and not (tmp_path / "ckpt.pt.tmp").exists()


def test_interrupt_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, _state(5))

    def interrupted_save(obj, f):
        f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, _state(10))
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 5 and not (tmp_path / "ckpt.pt.tmp").exists()

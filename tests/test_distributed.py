"""Data-parallel training under torchrun (gloo, 2 CPU processes): the ranks stay identical,
only rank 0 writes, and the result equals one process training on the whole batch."""
from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from train.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--res", "12", "--hidden", "16", "--hidden-layers", "1", "--hr-res", "0", "--unseen", "", "--device", "cpu",
         "--steps", "4", "--batch", "4", "--eval-every", "2", "--ckpt-every", "2"]
HYPER = [*SMALL, "--latent-dim", "8", "--hyper-hidden", "16"]
MAML = [*SMALL, "--inner-steps", "1"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="needs gloo")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(script: str, args: list[str]) -> None:
    """Two ranks of `script` under torchrun, each saving its final state_dict (tests/ddp_rank.py)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()), "tests/ddp_rank.py", script, *args]
    done = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def single(script: str, args: list[str]) -> dict:
    """One process, in this one, on the whole batch: its final checkpointed weights."""
    importlib.import_module(script).main(args)
    return load_checkpoint(Path(args[args.index("--out") + 1]) / "ckpt.pt")["model"]


def test_ranks_hold_identical_weights_and_only_rank0_writes(shapes_dir, tmp_path):
    out = tmp_path / "ddp"
    torchrun("train_hyper", ["--data", str(shapes_dir), "--out", str(out), *HYPER])
    ranks = [torch.load(out / f"rank{r}.pt") for r in (0, 1)]
    # BatchNorm running statistics are buffers: DDP copies rank 0's to every rank at each forward,
    # so after the last step they differ by that step's shard; the parameters never may.
    names = [k for k in ranks[0] if "running_" not in k and "num_batches" not in k]
    assert len(names) > 10
    for name in names:
        assert torch.equal(ranks[0][name], ranks[1][name]), name
    saved = load_checkpoint(out / "ckpt.pt")
    assert saved["step"] == 4 and all(torch.equal(saved["model"][k], ranks[0][k]) for k in ranks[0])
    assert len(list((out / "tb").glob("events.out.tfevents.*"))) == 1  # one writer
    assert json.loads((out / "metrics.json").read_text())["step"] == 4


@pytest.mark.parametrize("script,flags", [("train_hyper", [*HYPER, "--encoder", "table", "--pixels", "20"]),
                                          ("train_maml", MAML)])
def test_two_ranks_equal_one_process_on_the_whole_batch(shapes_dir, tmp_path, script, flags):
    """Each rank takes half of every batch and DDP averages the gradients: the same update as one
    process on the whole batch, up to the order of float additions."""
    args = ["--data", str(shapes_dir), *flags]
    torchrun(script, [*args, "--out", str(tmp_path / "ddp")])
    reference = single(script, [*args, "--out", str(tmp_path / "one")])
    ranks = [torch.load(tmp_path / "ddp" / f"rank{r}.pt") for r in (0, 1)]
    for name, value in reference.items():
        assert torch.equal(ranks[0][name], ranks[1][name]), name
        assert torch.allclose(ranks[0][name].float(), value.float(), rtol=1e-5, atol=1e-6), name


def test_a_failed_checkpoint_on_rank0_stops_every_rank_and_inner_steps_0_trains(shapes_dir, tmp_path):
    """--inner-steps 0 leaves Meta-SGD's inner rates without a gradient (DDP must be told, or the
    second step fails); rank 0's failed write reaches the other rank through the success flag
    instead of leaving it waiting in its next all-reduce."""
    out = tmp_path / "ddp"
    args = ["--data", str(shapes_dir), "--out", str(out), *SMALL, "--inner-steps", "0", "--ckpt-every", "3"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()), "tests/ddp_rank.py", "train_maml", *args]
    done = subprocess.run(cmd, cwd=ROOT, env={**ENV, "FAIL_RANK0_CHECKPOINT": "1"}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode != 0
    assert "No space left on device" in done.stderr, done.stderr[-3000:]  # rank 0, at step 3: steps 1-3 trained
    assert "rank 0 could not write the checkpoint" in done.stderr, done.stderr[-3000:]  # rank 1 was told

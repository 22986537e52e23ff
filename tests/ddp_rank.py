"""Test helper run under torchrun by test_distributed.py (not a test module): trains one rank
of `train_hyper` or `train_maml` (the first argument; the rest are the script's flags), then
saves this rank's final state_dict to <out>/rank<RANK>.pt so the test can compare ranks."""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import torch

import train.trainer
from common.errors import UserError

runs = []
original_init = train.trainer.Run.__init__


def recording_init(self, *args, **kwargs):
    original_init(self, *args, **kwargs)
    runs.append(self)


if __name__ == "__main__":
    script, argv = sys.argv[1], sys.argv[2:]
    train.trainer.Run.__init__ = recording_init  # test-only: keep a handle on this rank's run
    if os.environ.get("FAIL_RANK0_CHECKPOINT") and os.environ["RANK"] == "0":  # test-only: a full disk on rank 0
        def failing_save(path, state):
            raise UserError(f"cannot write checkpoint {path} (No space left on device): free disk space")
        train.trainer.save_checkpoint = failing_save
    importlib.import_module(script).main(argv)
    out = Path(argv[argv.index("--out") + 1])
    torch.save(runs[-1].method.state_dict(), out / f"rank{os.environ['RANK']}.pt")

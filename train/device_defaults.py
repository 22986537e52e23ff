"""The defaults a GPU run gets in place of the CPU-sized ones: the one place that decides them.

The configs' defaults (train/config.py) were sized on a 2-core CPU, where a step takes about
0.2 s. On a GPU a step takes milliseconds, and what the CPU defaults schedule by step count
would dominate the wall time or end the run early:

  eval_every  500 -> 10,000  an evaluation renders 200 icons at 256 px and scores them with
  image_every 1000 -> 20,000   SSIM and Lanczos references partly on the CPU (~40 s on 2 cores)
  track_every 50 -> 500      the cheap evaluation on 16 + 16 icons, still a curve point every
                             few seconds
  ckpt_every  250 -> 5,000   a checkpoint copies every tensor to the host and fsyncs the file
  steps       20,000 -> 1,000,000 (with --minutes > 0): --minutes ends a GPU run, not the cap
  batch       8 -> 32 (train_maml.py): 8 icons per step leave a large GPU waiting on kernel
                             launches

A value changes only in a fresh run on CUDA, only where no flag set it and the field still
holds its script's default (a method's own default, e.g. train/registry.py's, or a test's tiny size
is kept). A resumed run keeps its checkpoint's values. The figures are reasoned from the CPU
costs, not measured on a GPU (docs/gpu.md).
"""
from __future__ import annotations

import dataclasses

import torch

from train.config import MamlConfig

GPU_DEFAULTS = {"eval_every": 10_000, "image_every": 20_000, "track_every": 500, "ckpt_every": 5_000}
GPU_STEP_CAP = 1_000_000  # with --minutes > 0
GPU_MAML_BATCH = 32


def for_device(cfg, given: set[str], device: torch.device):
    """(cfg with the GPU defaults applied, {field: new value}) for a fresh run on `device`."""
    if device.type != "cuda":
        return cfg, {}
    wanted = dict(GPU_DEFAULTS)
    if cfg.minutes:
        wanted["steps"] = GPU_STEP_CAP
    if isinstance(cfg, MamlConfig):
        wanted["batch"] = GPU_MAML_BATCH
    script_default = type(cfg)()
    changes = {name: value for name, value in wanted.items()
               if name not in given and getattr(cfg, name) == getattr(script_default, name)}
    return dataclasses.replace(cfg, **changes), changes

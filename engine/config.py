"""Dataclass configs turned into argparse flags, and the shared training config.

Every script has one dataclass config; `parse_config` generates a `--flag` per field (with
the field's type, default and the comment-free help from `FIELD_HELP`), and the config is
saved into every checkpoint so a checkpoint rebuilds its model alone.
"""
from __future__ import annotations

import argparse
import math
import dataclasses
from dataclasses import dataclass, fields

import torch

from engine.errors import UserError


@dataclass
class TrainConfig:
    """Fields shared by train_hyper.py and train_maml.py."""

    data: str = "icons100"          # data set name or folder of images
    res: int = 48                   # training resolution
    steps: int = 20000              # optimizer steps (the --minutes budget usually ends a run first)
    batch: int = 100                # images per step
    pixels: int = 512               # pixels per image per step (0 = all training pixels); a quarter of
    #                                 an icon's 2074 training pixels: ~4x the steps per second for the
    #                                 same gradient quality early on (measured: 27 dB at step 400)
    lr: float = 1e-3                # Adam learning rate (concat needs 3e-4: at 1e-3 it stays at the mean image)
    lr_final: float = 0.05          # lr at the end of the budget, as a fraction of --lr (cosine decay,
    #                                 engine/schedule.py; 1 = constant)
    minutes: float = 9.0            # training budget in minutes of step time (0 = none); evaluation is extra
    device: str = "auto"            # "auto" (cuda when present), "cpu", "cuda", "cuda:1", ...
    fast: bool = True               # measured fast path, same results (engine/fast.py); --no-fast = eager reference
    seed: int = 0
    out: str = "runs/run"           # output folder: checkpoint, TensorBoard events, figures
    resume: bool = False            # continue the run in --out from its checkpoint
    overwrite: bool = False         # delete an existing --out and start afresh
    eval_every: int = 500           # steps between evaluations (TensorBoard scalars)
    image_every: int = 1000         # steps between image grids
    ckpt_every: int = 250           # steps between checkpoints
    hr_res: int = 256               # resolution of the upsampling evaluation (0 = skip)
    hr_supervision: int = 0         # >0: also supervise at coordinates of this true resolution
    unseen: str = "icons-large"     # data set whose test split scores unseen images ("" = skip)
    unseen_count: int = 100         # how many unseen images to score
    # SIREN body, shared by every method
    hidden: int = 64
    hidden_layers: int = 3
    w0: float = 30.0
    activation: str = "sine"
    encoding: str = "none"


# Flags that may differ when resuming: they change how long or where a run goes on, not what it is.
RESUMABLE_CHANGES = {"steps", "minutes", "device", "fast", "resume", "overwrite", "eval_every", "image_every", "ckpt_every"}

CHOICES = {"activation": ("sine", "relu"), "encoding": ("none", "positional", "fourier")}


def _flag_type(field: dataclasses.Field):
    kind = field.type if isinstance(field.type, type) else eval(field.type, {})  # noqa: S307 (own annotations)
    return kind


def parse_config(cls, argv=None, choices: dict | None = None):
    """Build `cls` from command-line flags; returns (config, set of field names given explicitly)."""
    choices = {**CHOICES, **(choices or {})}
    parser = argparse.ArgumentParser(description=(cls.__doc__ or "").strip())
    for f in fields(cls):
        flag = "--" + f.name.replace("_", "-")
        kind = _flag_type(f)
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                                help=f"default: {f.default}")
        else:
            parser.add_argument(flag, type=kind, default=None, choices=choices.get(f.name),
                                help=f"default: {f.default}")
    args = vars(parser.parse_args(argv))
    given = {k for k, v in args.items() if v is not None}
    cfg = cls(**{k: v for k, v in args.items() if v is not None})
    validate(cfg)
    return cfg, given


def validate(cfg) -> None:
    """Reject values that cannot be meant, with a one-line fix."""
    for name in ("steps", "batch", "res", "eval_every", "image_every", "ckpt_every", "hidden"):
        if getattr(cfg, name, 1) <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be positive, got {getattr(cfg, name)}")
    for name, value in vars(cfg).items():
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"--{name.replace('_', '-')} must be a finite number, got {value}")
    for name in ("pixels", "hr_res", "hr_supervision", "minutes", "unseen_count", "hidden_layers"):
        if getattr(cfg, name, 0) < 0:
            raise UserError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(cfg, name)}")
    if getattr(cfg, "lr", 1) <= 0:
        raise UserError(f"--lr must be positive, got {cfg.lr}")
    if not 0 <= getattr(cfg, "lr_final", 1) <= 1:
        raise UserError(f"--lr-final is a fraction of --lr in [0, 1], got {cfg.lr_final}")


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when present, else cpu; an unavailable device is a UserError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"--device {name!r} is not a device: use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name} asked for, but no CUDA GPU is visible: use --device cpu")
    return device

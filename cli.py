"""Entry-point plumbing shared by every script: a dataclass config turned into argparse flags,
its validation, the device choice, and user errors printed as one line with exit code 2.

Every script has one dataclass config; `parse_config` generates a `--flag` per field (with
the field's type and default), and training saves the config into every checkpoint so a
checkpoint rebuilds its model alone.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import sys
from dataclasses import fields
from pathlib import Path

import torch

from errors import UserError

CHOICES = {"activation": ("sine", "relu"), "encoding": ("none", "positional", "fourier")}
# Integer fields that must be > 0 (every other integer field must be >= 0, except SIGNED).
POSITIVE = {"steps", "batch", "res", "eval_every", "image_every", "ckpt_every", "hidden", "latent_dim", "hyper_hidden",
            "feature_channels", "interp_res"}
SIGNED = {"seed"}


def run_main(main, argv=None) -> None:
    """Call `main(argv)`; print a UserError as `error: ...` and exit 2, never a traceback."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        main(argv)
    except UserError as err:
        # One line whatever the message holds (a file name may contain a line break).
        print("error: " + str(err).replace("\r", "\\r").replace("\n", "\\n"), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: the last checkpoint is kept; rerun with --resume to continue", file=sys.stderr)
        sys.exit(130)


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
    for f in fields(cfg):  # a negative count means nothing, yet would run (--inner-steps -1: no inner step)
        value = getattr(cfg, f.name)
        if type(value) is int and f.name not in SIGNED and value < (1 if f.name in POSITIVE else 0):
            least = "positive" if f.name in POSITIVE else ">= 0"
            raise UserError(f"--{f.name.replace('_', '-')} must be {least}, got {value}")
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
    if not 0 < getattr(cfg, "support", 1) <= 1:
        raise UserError(f"--support is a fraction of the training pixels in (0, 1], got {cfg.support}")
    if not 0 <= getattr(cfg, "augment", 0) <= 1:
        raise UserError(f"--augment is a probability in [0, 1], got {cfg.augment}")


def check_out_folder(path) -> Path:
    """`--out` as a Path, checked to be a folder or a path that can become one.

    An existing file there (or in place of one of its parent folders) would otherwise end in a
    NotADirectoryError / FileExistsError traceback when the run lists or creates the folder,
    and replacing it with --overwrite would delete a file the user did not mean as a run.
    """
    out = Path(path)
    for place in (out, *out.parents):
        if place.is_dir():
            break
        if place.is_symlink() and not place.exists():
            raise UserError(f"--out {out}: {place} is a broken symbolic link: remove it or pass another --out")
        if place.exists() and not place.is_dir():  # asked again: another rank may create the folder meanwhile
            what = "is an existing file, not a folder" if place == out else f"lies inside {place}, which is a file"
            raise UserError(f"--out {out} {what}: pass a folder path (a new one, or an earlier run's folder)")
    return out


def check_replaceable(out: Path) -> None:
    """Refuse to delete (--overwrite) a folder that holds the working directory, or the home folder:
    `--out . --overwrite` would otherwise remove the project itself."""
    target, here = out.resolve(), Path.cwd().resolve()
    if target == here or target in here.parents or target == Path.home().resolve():
        raise UserError(f"--out {out} is the working directory, one of its parents or the home folder; --overwrite "
                        "would delete it: pass a folder of its own, e.g. runs/name")


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
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise UserError(f"--device {name}: only {count} GPU{'s' if count != 1 else ''} visible (cuda:0 to "
                        f"cuda:{count - 1}): pass one of those, or --device cuda")
    if device.type == "cuda":
        keep_fp32_matmuls()
    return device


def keep_fp32_matmuls() -> None:
    """Full fp32 (IEEE) matmuls on CUDA, set once for every script (resolve_device calls it).

    Why: w0 = 30 is folded into SIREN's first layer, so its pre-activations reach |h| ~ 42.
    With TF32's 10 mantissa bits sin(h) errs by ~0.009 (bf16: up to 0.18; measured on CPU by
    rounding to each format), which caps a fit near 40 dB. PyTorch's default for
    matmuls is fp32 today, but that is a process-wide setting any library may change, so it is
    pinned here. Convolutions (the conv encoder) keep cuDNN's default: no sine follows them
    directly, and a lower precision there is untested (docs/gpu.md).
    """
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):  # torch >= 2.9; mixing it with the legacy flags is an error there
        matmul.fp32_precision = "ieee"
    else:
        matmul.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")

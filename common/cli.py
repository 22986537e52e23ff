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
from typing import NamedTuple

import torch

from common.errors import UserError

CHOICES = {"activation": ("sine", "relu"), "encoding": ("none", "positional", "fourier")}


class Range(NamedTuple):
    """The values a numeric flag takes: low <= value (low < value when `open_low`) <= high; `what`
    says what the number is, in the message that refuses another."""

    low: float = 0
    high: float = math.inf
    open_low: bool = False
    what: str = ""

    def holds(self, value) -> bool:
        return (value > self.low if self.open_low else value >= self.low) and value <= self.high

    def refusal(self, flag: str, value) -> str:
        if self.high < math.inf:
            span = f"in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}]"
        elif (self.low, self.open_low) in ((0, True), (1, False)):
            span = "positive"
        else:
            span = f"{'>' if self.open_low else '>='} {self.low:g}"
        return f"{flag} is {self.what} {span}, got {value}" if self.what else f"{flag} must be {span}, got {value}"


# The range of every numeric flag, by field name: a name means the same in every script's config. A field
# that needs another range declares it beside itself: field(default=..., metadata={"range": Range(...)}).
# Any other number must be >= 0 (a negative count or weight means nothing, yet would run: --inner-steps -1
# would take no inner step).
PROBABILITY = Range(0, 1, what="a probability")
RANGES = {
    **{name: Range(1) for name in (  # counts and sizes of which 0 cannot be meant
        "steps", "batch", "res", "eval_every", "image_every", "ckpt_every", "hidden", "latent_dim", "hyper_hidden",
        "feature_channels", "interp_res", "grid", "grid_channels", "render_res", "threads", "siren_rounds",
        "midpoint_count", "shown", "count", "cols", "n", "width", "sample_steps", "walk_frames")},
    **{name: Range(0, open_low=True) for name in (  # rates and spans: a finite number > 0
        "lr", "latent_lr", "inner_lr", "w0", "max_seconds", "segment_seconds")},
    "seed": Range(-math.inf),
    "lr_final": Range(0, 1, what="a fraction of --lr"),
    "support": Range(0, 1, open_low=True, what="a fraction of the training pixels"),
    "augment": PROBABILITY,
    "changes": PROBABILITY,
    "interp_share": Range(0, 1, what="a fraction of each batch's icons"),
    "edge_share": Range(0, 1, what="a fraction of the high-res pixels"),
    "base_lr": Range(0, open_low=True, what="a multiple of --lr"),
    "ema": Range(0, 1, what="a decay per step (0 = off)"),
    "beta2": Range(0, 0.9999, open_low=True, what="Adam's second-moment decay per step"),
}


def steps_field() -> dataclasses.Field:
    """The --steps of the scripts that encode with a trained model: gradient steps on each image's
    representation at encoding (api.load's `steps`), -1 = the number the method trained with."""
    return dataclasses.field(default=-1, metadata={"range": Range(-1, what="a number of steps (-1 = as trained)")})


def encode_steps(value: int) -> int | None:
    """A --steps value as api.load takes it: None for -1."""
    return None if value < 0 else value


def flag_range(f: dataclasses.Field) -> Range:
    """The range of numeric config field `f`: its own metadata's, else RANGES's for its name, else >= 0."""
    return f.metadata.get("range") or RANGES.get(f.name, Range(0))


def flag_choices(f: dataclasses.Field) -> tuple | None:
    """The values string field `f` takes, where they are fixed: its metadata's "choices", else CHOICES's."""
    return f.metadata.get("choices") or CHOICES.get(f.name)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors (a wrong choice, a number that does not parse, an unknown flag) are a UserError:
    one line that names the flag and the valid values, exit code 2 through run_main, not a usage block."""

    def error(self, message: str):
        raise UserError(f"{message} (see --help)")


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
    choices = choices or {}
    parser = OneLineParser(description=(cls.__doc__ or "").strip())
    for f in fields(cls):
        flag = "--" + f.name.replace("_", "-")
        kind = _flag_type(f)
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                                help=f"default: {f.default}")
        else:
            parser.add_argument(flag, type=kind, default=None, choices=choices.get(f.name) or flag_choices(f),
                                help=f"default: {f.default}")
    args = vars(parser.parse_args(argv))
    given = {k for k, v in args.items() if v is not None}
    cfg = cls(**{k: v for k, v in args.items() if v is not None})
    validate(cfg)
    return cfg, given


def validate(cfg) -> None:
    """Reject values that cannot be meant, with a one-line fix: every number outside its range
    (`flag_range`), every string outside its fixed choices (`flag_choices`). A config built in code (the
    study's per-method configs) is checked by this as well as one parsed from flags."""
    for f in fields(cfg):
        value, flag = getattr(cfg, f.name), "--" + f.name.replace("_", "-")
        allowed = flag_choices(f)
        if allowed is not None and value not in allowed:
            raise UserError(f"{flag} {value!r} is not one of {', '.join(map(str, allowed))}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isfinite(value):
            raise UserError(f"{flag} must be a finite number, got {value}")
        if not flag_range(f).holds(value):
            raise UserError(flag_range(f).refusal(flag, value))


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
    `--out . --overwrite` would otherwise remove the project itself. (runfolder.check_replace adds:
    only a folder a script made.)"""
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

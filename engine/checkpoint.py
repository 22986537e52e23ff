"""Checkpoints: written atomically, checked on load, able to rebuild their model alone.

A checkpoint is a dict {format, script, config, names, model, optimizer, step, rng,
elapsed}. `config` is the script's dataclass as a dict, `names` the training images, so
`engine.build.method_from_checkpoint` needs nothing else.
"""
from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch

from engine.errors import UserError

FORMAT = 1
REQUIRED = ("format", "script", "config", "names", "model", "step")


def save_checkpoint(path: Path, state: dict) -> None:
    """Write `state` to `path` atomically: a temp file in the same folder, fsync, rename.

    A run killed mid-write leaves the previous checkpoint intact.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save({"format": FORMAT, **state}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    """Load and sanity-check a checkpoint; any problem is a one-line UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} not found: train one first or pass the right path")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError) as err:
        raise UserError(f"checkpoint {path} is corrupt or unreadable ({str(err).splitlines()[0]}); "
                        "delete it and retrain, or restore a copy") from None
    if not isinstance(state, dict) or any(k not in state for k in REQUIRED):
        raise UserError(f"{path} is not a checkpoint of this project (missing keys); pass a ckpt.pt written by train_*.py")
    if state["format"] != FORMAT:
        raise UserError(f"checkpoint {path} has format {state['format']}, this code reads format {FORMAT}; "
                        "retrain or check out the matching version")
    return state


def capture_rng(generator: torch.Generator) -> dict:
    """RNG states needed for an exact resume (the step sampler's and torch's global one)."""
    state = {"sampler": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict, generator: torch.Generator) -> None:
    generator.set_state(state["sampler"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])

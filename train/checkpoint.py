"""Checkpoints: written atomically, checked on load, able to rebuild their model alone.

A checkpoint is a dict {format, script, config, names, model, optimizer, step, rng,
elapsed} and, since folders hold images back, `heldback` (a folder's unseen images, by name;
data/split.py). `config` is the script's dataclass as a dict, `names` the training images, so
`method_from_checkpoint` needs nothing else.

Writing never leaves a half-written or NaN checkpoint behind: the file is written to
`ckpt.pt.tmp`, fsynced and renamed over `ckpt.pt` (a run killed at any moment keeps the
previous checkpoint), and weights that are not finite are refused. Loading reads only
tensors and plain values (`weights_only=True`: a file from elsewhere cannot run code) and
turns every problem into a one-line UserError: missing, truncated or random bytes, a torch
file that is not ours, wrong types, NaN weights, or weights that do not fit the config.
"""
from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import torch

from common.errors import UserError
from models.method import Method
from train.registry import build_method

FORMAT = 1
# key -> accepted types; all are written by train.trainer, and a resume needs every one.
SCHEMA = {"format": int, "script": str, "config": dict, "names": list, "model": dict, "optimizer": dict,
          "step": int, "rng": dict, "elapsed": (int, float)}
REQUIRED = tuple(SCHEMA)


def save_checkpoint(path: Path, state: dict) -> None:
    """Write `state` to `path` atomically: a temp file in the same folder, fsync, rename.

    A run killed mid-write leaves the previous checkpoint intact (and at most a stale
    `.tmp`, overwritten by the next save). Non-finite weights are refused with a UserError
    before anything is written, so the last good checkpoint survives a diverged run.
    """
    path = Path(path)
    bad = _non_finite(state.get("model", {}))
    if bad:
        kept = f"the last good checkpoint {path} is kept" if path.is_file() else "no checkpoint was written"
        raise UserError(f"weights became NaN/inf by step {state.get('step')} ({bad}): {kept}; "
                        "lower --lr and rerun with --overwrite")
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save({"format": FORMAT, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:  # incl. KeyboardInterrupt: never leave a partial temp file behind
        tmp.unlink(missing_ok=True)
        if isinstance(err, (OSError, RuntimeError)):  # torch's zip writer reports a full disk as RuntimeError
            reason = err.strerror if isinstance(err, OSError) and err.strerror else _first_sentence(err)
            raise UserError(f"cannot write checkpoint {path} ({reason}): free disk space or fix permissions; "
                            "any previous checkpoint is kept") from None
        raise
    _fsync_dir(path.parent)  # make the rename itself durable (power loss), where the OS allows it


def load_checkpoint(path: Path) -> dict:
    """Load and sanity-check a checkpoint (its weights fit its own config); any problem is a
    one-line UserError."""
    return open_checkpoint(path)[0]


def method_from_checkpoint(path: Path, device: torch.device | str = "cpu") -> tuple[Method, dict]:
    """Rebuild a trained method from its checkpoint alone; returns (method in eval mode, checkpoint)."""
    state, method = open_checkpoint(path)
    return method.to(device).eval(), state


def open_checkpoint(path: Path, state: dict | None = None, config: dict | None = None) -> tuple[dict, Method]:
    """Load and check a checkpoint and build its method with the weights loaded, once.

    state: the checkpoint's dict when already read (`read_checkpoint`); config: the config to
    build from (default the checkpoint's own; a resumed run passes its config, which may
    differ only in flags that do not change the weights). Returns (state, method).
    """
    path = Path(path)
    state = read_checkpoint(path) if state is None else state
    method = _build_fitting(path, state, state["config"] if config is None else config)
    method.load_state_dict(state["model"])
    return state, method


def read_checkpoint(path: Path, map_location="cpu") -> dict:
    """The checkpoint's dict, its schema and finiteness checked (its weights against its
    config are checked when its method is built: `open_checkpoint`)."""
    if not path.is_file():
        if path.with_name(path.name + ".tmp").is_file():
            raise UserError(f"checkpoint {path} not found, only a partial {path.name}.tmp (the run was killed while "
                            "writing its first checkpoint): start it again with --overwrite")
        raise UserError(f"checkpoint {path} not found: train one first or pass the right path")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")  # noise for foreign pickles
            state = torch.load(path, map_location=map_location, weights_only=True)
    except MemoryError:
        raise UserError(f"checkpoint {path} does not fit in memory: is it really a ckpt.pt of this project?") from None
    except Exception as err:  # noqa: BLE001 (torch/pickle raise many types on garbage)
        if "Weights only load failed" in str(err):
            raise UserError(f"{path} is not a checkpoint of this project: it holds more than tensors and plain "
                            f"values, or random bytes ({_weights_only_reason(err)}); pass a ckpt.pt written by "
                            "train_*.py, or restore a copy") from None
        raise UserError(f"checkpoint {path} is corrupt or truncated ({_first_sentence(err)}); "
                        "delete it and retrain, or restore a copy") from None
    _check_schema(path, state)
    bad = _non_finite(state["model"])
    if bad:
        raise UserError(f"checkpoint {path} holds NaN/inf weights ({bad}): the run diverged; retrain with a lower --lr")
    return state


def _check_schema(path: Path, state) -> None:
    """Keys and types of a checkpoint written by train.trainer."""
    if not isinstance(state, dict):
        raise UserError(f"{path} is not a checkpoint of this project (it holds a {type(state).__name__}, not a dict); "
                        "pass a ckpt.pt written by train_*.py")
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise UserError(f"{path} is not a checkpoint of this project (missing keys: {', '.join(missing)}); "
                        "pass a ckpt.pt written by train_*.py")
    if state["format"] != FORMAT:
        raise UserError(f"checkpoint {path} has format {state['format']}, this code reads format {FORMAT}; "
                        "retrain or check out the matching version")
    for key, kind in SCHEMA.items():
        if not isinstance(state[key], kind) or isinstance(state[key], bool):
            raise UserError(f"checkpoint {path} is damaged: its {key!r} is a {type(state[key]).__name__}; "
                            "delete it and retrain, or restore a copy")
    if (state["step"] < 0 or not all(isinstance(n, str) for n in state["names"])
            or not all(isinstance(t, torch.Tensor) for t in state["model"].values())
            or not all(isinstance(state["rng"].get(k), torch.Tensor) for k in ("sampler", "torch"))
            or not all(isinstance(n, str) for n in _list(state.get("heldback", [])))):
        raise UserError(f"checkpoint {path} is damaged (step, names, held-back names, weights or RNG state of the "
                        "wrong kind); delete it and retrain, or restore a copy")


def _build_fitting(path: Path, state: dict, config: dict) -> Method:
    """Build the model the config describes and compare weight names and shapes with the
    checkpoint's: returns the (untrained) model when they fit.

    Catches an edited tensor or a config from another version of the code here, with one
    line, instead of as a load_state_dict traceback wherever the checkpoint is used.
    """
    try:
        # On the CPU: cheaper than the meta device's first use (~2 s), and even the default
        # models are a few MB. fork_rng: building must not move the caller's random stream.
        with torch.random.fork_rng(devices=[]):
            method = build_method(config, len(state["names"]))
            expected = method.state_dict()
    except UserError as err:
        raise UserError(f"checkpoint {path}: {err}") from None
    except Exception as err:  # noqa: BLE001 (a config from another version fails in many ways)
        raise UserError(f"checkpoint {path} has a config this code cannot build ({type(err).__name__}: "
                        f"{_first_sentence(err)}); retrain, or check out the version that wrote it") from None
    model = state["model"]
    problems = [f"missing {k}" for k in expected if k not in model]
    problems += [f"unexpected {k}" for k in model if k not in expected]
    problems += [f"{k} is {tuple(model[k].shape)}, config says {tuple(v.shape)}"
                 for k, v in expected.items() if k in model and model[k].shape != v.shape]
    if problems:
        more = f" and {len(problems) - 2} more" if len(problems) > 2 else ""
        raise UserError(f"checkpoint {path}: its weights do not fit its own config ({'; '.join(problems[:2])}{more}); "
                        "it was edited or written by another version of the code: retrain")
    return method


def check_optimizer_state(path: Path, saved, optimizer: torch.optim.Optimizer, method: torch.nn.Module) -> None:
    """UserError when a checkpoint's optimizer state does not fit the optimizer of `method`.

    torch's `load_state_dict` checks only the number of groups and of parameters per group;
    a moment of the wrong shape loads silently and fails in the first `step()` with a
    traceback (or, broadcast, trains wrongly). So the groups, the parameters of each and the
    shape and finiteness of every state tensor are compared first, by parameter name.
    """
    problem = _optimizer_problem(saved, optimizer, {id(p): n for n, p in method.named_parameters()})
    if problem:
        raise UserError(f"checkpoint {path}: its optimizer state does not fit the model ({problem}); it was edited "
                        "or written by another version of the code: start afresh with --overwrite, or restore a copy")


def _optimizer_problem(saved, optimizer: torch.optim.Optimizer, names: dict[int, str]) -> str:
    """What is wrong with optimizer state dict `saved` for `optimizer`, or ''."""
    if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict) \
            or not isinstance(saved.get("param_groups"), list):
        return "not an optimizer state: no 'state' dict and 'param_groups' list"
    groups, saved_groups = optimizer.param_groups, saved["param_groups"]
    if len(saved_groups) != len(groups):
        return f"{len(saved_groups)} parameter groups, the model's optimizer has {len(groups)}"
    by_id = {}
    for k, (mine, theirs) in enumerate(zip(groups, saved_groups)):
        ids = theirs.get("params") if isinstance(theirs, dict) else None
        if not isinstance(ids, list):
            return f"parameter group {k} lists no parameters"
        if len(ids) != len(mine["params"]):
            return f"parameter group {k} holds {len(ids)} parameters, the model's {len(mine['params'])}"
        by_id.update(zip(ids, mine["params"]))
    for pid, state in saved["state"].items():
        if pid not in by_id or not isinstance(state, dict):
            return f"state for a parameter {pid!r} that no group lists"
        param = by_id[pid]
        name = names.get(id(param), f"parameter {pid}")
        for key, value in state.items():
            if not isinstance(value, torch.Tensor) or key == "step":
                continue
            if value.shape != param.shape:
                return f"{key} of {name} is {tuple(value.shape)}, the parameter is {tuple(param.shape)}"
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                return f"{key} of {name} holds NaN/inf"
    return ""


def _non_finite(tensors: dict) -> str:
    """Name of the first floating tensor holding NaN/inf, or ''."""
    for name, t in tensors.items():
        if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
            return name
    return ""


def _list(value) -> list:
    """`value` when it is a list, else a list that fails the caller's element check."""
    return value if isinstance(value, list) else [None]


def _first_sentence(err: BaseException) -> str:
    text = (str(err).strip().splitlines() or [""])[0]
    return text.split(". ")[0].rstrip(".") or type(err).__name__


def _weights_only_reason(err: BaseException) -> str:
    """The useful part of torch's long weights-only message, e.g. 'Unsupported global: GLOBAL x.Y'."""
    match = re.search(r"WeightsUnpickler error:\s*(.+)", str(err))
    reason = match.group(1) if match else _first_sentence(err)
    return reason.split(" was not an allowed global")[0].strip().rstrip(".")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # not supported on this platform/filesystem; the rename is still atomic
    finally:
        os.close(fd)


def capture_rng(generator: torch.Generator) -> dict:
    """RNG states needed for an exact resume (the step sampler's and torch's global one)."""
    state = {"sampler": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict, generator: torch.Generator, reseed: int) -> bool:
    """Restore the RNG states of `capture_rng`; returns False when the step generator's state came
    from another kind of device and `generator` was seeded with `reseed` instead.

    A run may resume on another device (`--device` is a resumable flag). CPU and CUDA generators
    keep states of different sizes (Mersenne Twister, 5056 bytes; Philox, 16) and each refuses
    the other's, so such a state cannot be restored: the resumed run then draws a fresh,
    deterministic stream (not the one it would have drawn). torch's global CPU state always
    fits; the per-GPU states only where the same number of GPUs is visible.
    """
    saved, current = state["sampler"], generator.get_state()
    exact = saved.dtype == current.dtype and saved.shape == current.shape
    if exact:
        try:
            generator.set_state(saved)
        except RuntimeError:  # the right size, yet refused: treat it like a foreign state
            exact = False
    if not exact:
        generator.manual_seed(reseed)
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if isinstance(cuda, list) and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    return exact

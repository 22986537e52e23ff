"""Refuse a model that cannot fit in memory before allocating it, with the estimate.

Without this, `--hidden 100000` dies in the first layer's 40 GB allocation with a
RuntimeError traceback (or, worse, the machine swaps). The check runs before the model is
built and compares an estimate with the memory that is free now:

* parameters: counted by building the method on the meta device (no storage) with its
  in-place initializers skipped, so every method of train/registry.py is counted exactly without
  knowing its layout (the meta device's own init kernels would first import torch's compiler
  stack: 5 s); x 16 bytes for float32 weights, gradients and Adam's two moments;
* one step's activations, from the config (a model-free estimate, on the low side so that
  nothing that fits is refused): per sampled pixel, each sine layer keeps its pre-activation
  and its output; per image, the emitted SIREN weights (methods that declare
  `emits_weights`: all but concat); MAML's inner steps repeat the
  SIREN over every pixel and keep the graph for the second-order meta-gradient; the conv
  encoder's feature maps.
* the training images on the device: the images, the sampler's copy of their pixels and its
  table of training pixels, and with `--hr-supervision R` the R px images and their table;
* an evaluation's renders (`Method.render`: up to 100 images at `--hr-res`, 2^20 pixel
  evaluations in flight, each through a hidden layer and its sine), which come after a step's
  activations are freed: the larger of the two counts.
* available: the GPU's free memory (CUDA) plus what torch's caching allocator holds but no
  tensor uses (an earlier run in the same process, e.g. the study's previous method), or on the
  CPU the kernel's MemAvailable, lowered to the cgroup's limit when a container sets one.
  When neither can be read, no check.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

from common.errors import UserError
from models.method import Method
from models.siren import Siren
from train.registry import build_method, siren_config

log = logging.getLogger(__name__)

STATE_BYTES = 4 * 4  # float32 weights, gradients, Adam's exp_avg and exp_avg_sq


class _SkipInit(TorchFunctionMode):
    """On meta tensors, value-writing in-place ops (the initializers: normal_, uniform_, zero_, ...)
    do nothing, and clone / *_like give a fresh empty tensor: the meta device's own versions
    would import torch's compiler stack or sympy on first use (1.5 to 5 s). Calls reached from
    inside a handled call bypass the mode (torch's rule), so the tensor may come as a keyword
    (nn.init.normal_(tensor=...))."""

    KEEP = {"requires_grad_", "resize_", "resize_as_", "set_", "as_strided_", "squeeze_", "unsqueeze_", "t_",
            "transpose_", "detach_", "share_memory_"}  # in-place ops that change what a tensor is, not its values

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        first = next((a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)), None)
        if first is not None and first.is_meta:
            if name.endswith("_") and not name.endswith("__") and name not in self.KEEP:
                return first
            if name == "clone" or name.endswith("_like"):
                return torch.empty(first.shape, dtype=kwargs.get("dtype") or first.dtype, device="meta")
        return func(*args, **kwargs)


def meta_method(cfg: dict, num_images: int) -> Method | None:
    """The method `cfg` describes, built without storage (None if it cannot be built on the meta
    device: then the check is skipped, not the run). The caller's random stream is untouched."""
    try:
        with torch.device("meta"), _SkipInit(), torch.random.fork_rng(devices=[]):
            return build_method(cfg, num_images)
    except UserError:
        raise
    except Exception as err:  # noqa: BLE001 (a method may do what the meta device cannot)
        log.debug("parameter count on the meta device failed (%s): no memory check", err)
        return None


def activation_bytes(cfg: dict, num_images: int, emits_weights: bool = True) -> int:
    """About how many bytes one training step's activations take (see the module doc)."""
    batch, res = min(cfg["batch"], num_images), cfg["res"]
    points = cfg["pixels"] or res * res
    inner = cfg.get("inner_steps", 0)
    with torch.device("meta"), _SkipInit():
        siren_size = sum(p.numel() for p in Siren(siren_config(cfg)).parameters())
    per_point = 2 * cfg["hidden"] * (cfg["hidden_layers"] + 1)  # pre-activation and sine output per layer
    floats = batch * (points + 2 * inner * res * res) * per_point
    floats += batch * (1 + inner) * siren_size if emits_weights else 0
    if cfg.get("encoder") == "conv":
        floats += batch * 64 * res * res  # ~8 maps of 32 channels at half resolution
    return 4 * floats


def data_bytes(cfg: dict, num_images: int) -> int:
    """Bytes of the training images on the device (train.trainer.Run, train.sampler.PixelSampler)."""
    res, big = cfg["res"], cfg.get("hr_supervision", 0)
    floats = 2 * num_images * 3 * res * res  # the images and the sampler's pixels
    longs = num_images * res * res  # the sampler's table of training pixels
    if big:
        floats += num_images * 3 * big * big
        longs += num_images * big * big
    return 4 * floats + 8 * longs


RENDER_CHUNK, RENDER_BATCH = 1 << 20, 100  # Method.render's pixel evaluations in flight; render_all's images


def render_bytes(cfg: dict) -> int:
    """Bytes of one evaluation render (analysis.scoring.evaluate.render_all at --hr-res)."""
    big = max(cfg.get("hr_res", 0), cfg["res"])
    chunk = min(RENDER_CHUNK, RENDER_BATCH * big * big)
    return 4 * (chunk * 2 * cfg["hidden"] + RENDER_BATCH * 3 * big * big)  # a layer's input and output; the renders


def available_bytes(device: torch.device) -> tuple[int, str] | None:
    """(free bytes, where) for `device`, or None when it cannot be read."""
    if device.type == "cuda":
        try:
            # mem_get_info counts the allocator's cached blocks as used; they are free to this run
            cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
            return torch.cuda.mem_get_info(device)[0] + cached, f"GPU memory on {device}"
        except RuntimeError:
            return None
    if device.type != "cpu":
        return None
    found = [v for v in (_meminfo_available(), _cgroup_free()) if v is not None]
    if not found:
        try:
            found = [os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")]
        except (ValueError, OSError, AttributeError):
            return None
    return min(found), "RAM"


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_free() -> int | None:
    """A cgroup v2 memory limit minus current use ("max" = none)."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text()))
    except (OSError, ValueError):
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def check_fits(cfg: dict, num_images: int, device: torch.device) -> None:
    """UserError naming the estimate and the flags to lower when the model, its optimizer state
    and one step's activations would not fit in the memory of `device` that is free now."""
    method = meta_method(cfg, num_images)
    free = available_bytes(device)
    if method is None or free is None:
        return
    params = sum(p.numel() for p in method.parameters() if p.requires_grad)
    state, acts = params * STATE_BYTES, activation_bytes(cfg, num_images, method.emits_weights)
    data, renders = data_bytes(cfg, num_images), render_bytes(cfg)
    if state + data + max(acts, renders) <= free[0]:
        return
    if renders > max(state, acts):
        fix = f"a lower --hr-res or a narrower network (now --hr-res {cfg.get('hr_res', 0)}, --hidden {cfg['hidden']})"
    elif state >= acts:
        names = [n for n in ("hidden", "hidden_layers", "hyper_hidden", "latent_dim") if n in cfg]
        fix = "a smaller model (now " + ", ".join(f"--{n.replace('_', '-')} {cfg[n]}" for n in names) + ")"
    else:
        fix = (f"fewer images or pixels per step, or a narrower network (now --batch {cfg['batch']}, "
               f"--pixels {cfg['pixels']}, --res {cfg['res']}, --hidden {cfg['hidden']})")
    raise UserError(f"the {cfg['model']} model would need about {_gib(state + data + max(acts, renders))} "
                    f"({params:,} parameters x {STATE_BYTES} bytes for weights, gradients and Adam's two moments = "
                    f"{_gib(state)}, plus about {_gib(acts)} of activations per step or {_gib(renders)} for an "
                    f"evaluation's renders, whichever is larger, and {_gib(data)} of images), more than the "
                    f"{_gib(free[0])} of {free[1]} free now: use {fix}")

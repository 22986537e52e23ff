"""The fast training path (`--fast`, on by default) and pinned/asynchronous device copies.

Every part was measured against the eager reference (`--no-fast`) on the 2-core CPU
(experiments/bench.py prints the ratios), and none changes the arithmetic beyond float rounding:

1. glibc malloc keeps freed large blocks (CPU). Activations of B x P x 64 floats (59 MB for
   100 icons at all 2074 training pixels) exceed glibc's mmap threshold (at most 32 MB), so
   each one is a fresh mmap, unmapped on free: ~350k page faults and ~1 s of system time per
   step, more than the arithmetic (the batched SIREN step: 2.1-3.0x faster without them). Raising
   M_MMAP_THRESHOLD and M_TRIM_THRESHOLD makes freed blocks reusable (what LD_PRELOAD of
   jemalloc does, without a preload). Bit-identical results; the process keeps its peak heap.
2. Fused Adam: one kernel over all parameters instead of ~10 ops per tensor (16 -> 4 ms per
   step for the hypernetwork's 3.5M parameters). Differs from the loop version by float
   rounding (1e-7 after 50 steps). On CUDA it also lets train.health skip a bad step
   without a host sync.
3. Channels-last input to the conv encoder (ConvSetEncoder(channels_last=True), set at
   construction from the config's `fast` by train/registry.py): oneDNN's NHWC kernels, ~20% faster
   fwd+bwd on CPU.
Measured and NOT used: torch.compile of the SIREN forward (5-35 s compile per process, 5-10%
on the default step once 1-3 are on; needs a working C++ toolchain and Python headers
wherever it runs), a range-reduced polynomial sine (no gain: at these sizes sin runs at the
speed of a copy, memory-bound), a chunked SIREN recomputing activations in cache (slower:
+33% matmul), bf16 autocast on CUDA (w0 = 30 is folded into the weights, so pre-activations
reach |h| ~ 30-50 where bf16 rounds by 0.1-0.25 rad: too coarse for a sine; reasoned, not
measured: no GPU was available).
"""
from __future__ import annotations

import ctypes
import ctypes.util

import torch

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>
KEEP_BYTES = 1 << 30  # blocks up to 1 GiB come from, and go back to, the heap


def keep_freed_memory() -> bool:
    """Tell glibc malloc to reuse freed large blocks instead of unmapping them (process-wide).
    Returns False where that is not possible (not glibc, or mallopt refused)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        return libc.mallopt(M_MMAP_THRESHOLD, KEEP_BYTES) == 1 and libc.mallopt(M_TRIM_THRESHOLD, KEEP_BYTES) == 1
    except (OSError, AttributeError, TypeError):  # no libc found, or one without mallopt (musl, macOS)
        return False


def enable_fast_path(device: torch.device) -> list[str]:
    """Apply the process-wide part of the fast path for `device`; returns what was enabled."""
    return ["malloc keeps freed blocks"] if device.type == "cpu" and keep_freed_memory() else []


def param_groups(method: torch.nn.Module, base_lr: float) -> list[dict]:
    """Adam's parameter groups, each with its `lr_scale` (a fraction of --lr): the shared base network a
    method declares (`Method.shared_base`) at `base_lr`, the rest at 1. One group when base_lr is 1."""
    base = method.shared_base() if base_lr != 1 else []
    if not base:
        return [{"params": list(method.parameters()), "lr_scale": 1.0}]
    ids = {id(p) for p in base}
    return [{"params": [p for p in method.parameters() if id(p) not in ids], "lr_scale": 1.0},
            {"params": base, "lr_scale": base_lr}]


def make_optimizer(params, lr: float, fast: bool, beta2: float = 0.999) -> torch.optim.Adam:
    """Adam (second-moment decay `beta2`): fused with the fast path (where this torch has the fused
    kernel), else the default."""
    params, betas = list(params), (0.9, beta2)
    if fast:
        try:
            return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
        except RuntimeError:  # e.g. a device type without a fused kernel
            pass
    return torch.optim.Adam(params, lr=lr, betas=betas)


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy a CPU tensor to `device`; to CUDA from pinned memory, asynchronously (the copy
    overlaps the GPU's queue; the stream orders it before any use)."""
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)

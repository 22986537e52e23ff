"""Benchmark workers for experiments/bench.py: one process per path, so every ratio is fair.

The fast path changes process-wide state (glibc malloc thresholds, train/fast.py) that
cannot be undone: a heap grown by the fast path also serves the reference's allocations
later. So the eager reference and the fast path each live in a fresh spawned process, and
experiments/bench.py alternates short segments between them (only one runs at a time): load on the
shared cores changes slowly compared with a segment, so it cancels in the ratios.

A worker holds one `train.trainer.Run` (the real training step) and answers commands:
    ("train", k)     k training steps -> seconds (device synced), steps so far
    ("psnr",)        train-pixel PSNR (dB) of the current model, as psnr/train_pixels
    ("render", res)  images rendered per second at res x res (encode excluded)
    ("memory",)      peak memory of training above the state after setup (bytes)
    ("siren", spec)  seconds of one batched SIREN forward+backward (see `siren_step`)
    ("rates", spec)  this machine's matmul GFLOP/s and sin elements/s on the step's shapes
"""
from __future__ import annotations

import multiprocessing as mp
import resource
import time
import traceback

import torch

from analysis.scoring.evaluate import encode_all, psnr, render_all
from data.pixels import pixel_grid
from models.siren import Siren, SirenConfig


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def siren_problem(spec: dict, device: torch.device):
    """A batched SIREN step: params {name: (B, *shape)} requiring grad, coords (P, 2), target (B, P, 3)."""
    torch.manual_seed(0)
    siren = Siren(SirenConfig(hidden=spec["hidden"], hidden_layers=spec["layers"])).to(device)
    b = spec["images"]
    params = {k: (v.detach().expand(b, *v.shape) + 0.01 * torch.randn(b, *v.shape, device=device)).requires_grad_()
              for k, v in siren.named_parameters()}
    coords = pixel_grid(spec["res"], device)  # (P, 2): every pixel of the image
    target = torch.rand(b, len(coords), 3, device=device)
    return siren, params, coords, target


def siren_step(siren: Siren, params: dict, coords: torch.Tensor, target: torch.Tensor) -> None:
    out = siren.functional(params, coords)  # (B, P, 3)
    torch.autograd.grad((out - target).pow(2).mean(), list(params.values()))


def siren_work(spec: dict) -> tuple[float, float]:
    """(matmul FLOPs, sin + cos evaluations) of one SIREN forward+backward. Forward: 2 B P in out
    per layer; backward: the same for the weight gradient, and for the input gradient of every
    layer but the first (coords need none); one sin per hidden unit forward, one cos backward."""
    b, p, h, n = spec["images"], spec["res"] ** 2, spec["hidden"], spec["layers"]
    widths = [2] + [h] * (n + 1) + [3]
    mm = sum(2 * b * p * i * o * (2 if k == 0 else 3) for k, (i, o) in enumerate(zip(widths[:-1], widths[1:])))
    return float(mm), float(2 * b * p * h * (n + 1))


def measure_rates(spec: dict, device: torch.device, repeats: int = 5) -> dict:
    """Best-of-`repeats` rates on the step's own shapes, outputs preallocated (no allocator cost):
    a hidden layer's bmm (B, P, H) @ (B, H, H), and torch.sin over (B, P, H) with arguments
    spread like a SIREN's pre-activations (|h| up to ~30)."""
    b, p, h = spec["images"], spec["res"] ** 2, spec["hidden"]
    x, w = torch.randn(b, p, h, device=device) * 10, torch.randn(b, h, h, device=device)
    out = torch.empty_like(x)
    best = {"mm": float("inf"), "sin": float("inf")}
    for _ in range(repeats + 1):
        for name, fn in (("mm", lambda: torch.bmm(x, w, out=out)), ("sin", lambda: torch.sin(x, out=out))):
            sync(device)
            t0 = time.perf_counter()
            fn()
            sync(device)
            best[name] = min(best[name], time.perf_counter() - t0)
    return {"matmul_gflops": 2 * b * p * h * h / best["mm"] / 1e9, "sin_gelems": x.numel() / best["sin"] / 1e9}


def _serve(conn, cfg, threads: int) -> None:
    """Worker main loop (runs in the spawned process)."""
    torch.set_num_threads(threads)
    from common.cli import resolve_device
    from train.trainer import Run

    device = resolve_device(cfg.device)
    run = Run(cfg, device)
    base_rss = max_rss_bytes()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    state = {"siren": None}
    conn.send(("ok", run.fast_path))
    while True:
        cmd, *args = conn.recv()
        if cmd == "quit":
            return
        try:
            conn.send(("ok", _answer(run, cfg, device, base_rss, state, cmd, args)))
        except Exception:  # noqa: BLE001 (reported to the parent, which raises it)
            conn.send(("error", traceback.format_exc()))


def _answer(run, cfg, device: torch.device, base_rss: int, state: dict, cmd: str, args: list):
    if cmd == "train":
        sync(device)
        t0 = time.perf_counter()
        for _ in range(args[0]):
            run.step()
        run.guard.flush()
        sync(device)
        return time.perf_counter() - t0, run.step_count
    if cmd == "psnr":  # psnr/train_pixels of analysis.scoring.evaluate.Evaluator
        run.method.eval()
        rep = encode_all(run.method, run.images, run.observed)
        value = psnr(render_all(run.method, rep, cfg.res), run.train_set.images, ~run.heldout).mean().item()
        run.method.train()
        return value
    if cmd == "render":
        run.method.eval()
        rep = encode_all(run.method, run.images[:10], run.observed[:10])
        sync(device)
        t0 = time.perf_counter()
        run.method.render(rep, args[0])
        sync(device)
        run.method.train()
        return len(rep) / (time.perf_counter() - t0)
    if cmd == "memory":
        if device.type == "cuda":
            return torch.cuda.max_memory_allocated(device)
        return max_rss_bytes() - base_rss
    if cmd == "siren":
        state["siren"] = state["siren"] or siren_problem(args[0], device)
        siren_step(*state["siren"])  # warm-up
        sync(device)
        t0 = time.perf_counter()
        siren_step(*state["siren"])
        sync(device)
        return time.perf_counter() - t0
    if cmd == "rates":
        return measure_rates(args[0], device)
    raise ValueError(f"unknown benchmark command {cmd!r}")


class Worker:
    """A spawned process holding one training run of `cfg` (fast or reference per cfg.fast)."""

    def __init__(self, cfg, threads: int):
        ctx = mp.get_context("spawn")  # a fresh interpreter: malloc settings untouched
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, cfg, threads), daemon=True)
        self.proc.start()
        self._fast_path = None

    @property
    def fast_path(self) -> list[str]:
        """What the worker's run enabled; waits until the worker is set up."""
        if self._fast_path is None:
            self._fast_path = self._recv()
        return self._fast_path

    def _recv(self):
        while not self.conn.poll(1.0):
            if not self.proc.is_alive():
                raise RuntimeError(f"benchmark worker died (exit code {self.proc.exitcode})")
        status, value = self.conn.recv()
        if status == "error":
            raise RuntimeError(f"benchmark worker failed:\n{value}")
        return value

    def ask(self, *cmd):
        self.fast_path  # noqa: B018 (the set-up answer comes first)
        self.conn.send(cmd)
        return self._recv()

    def close(self) -> None:
        if self.proc.is_alive():
            self.conn.send(("quit",))
            self.proc.join(timeout=30)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()

"""The GPU path, checked on a GPU in a few minutes: `python -m train.gpu_check [--out DIR]`.

On a machine with a CUDA GPU it prints:
  1. per method of train/registry.py at its default size (GPU defaults applied, train/device_defaults.py):
     ms per training step, host syncs per step (torch.cuda.set_sync_debug_mode counts them),
     and peak GPU memory;
  2. `study.py --quick --device cuda`: its exit code and seconds;
  3. a checkpoint trained on the GPU, rendered on the CPU and on the GPU: the largest difference;
  4. that run resumed on the CPU (the RNG state saved on CUDA does not fit a CPU generator:
     reseeded with one log line, no crash);
  5. the tests marked `cuda` (tests/test_gpu_path.py), which skip without a GPU.
Without a CUDA GPU it says so in one line and exits 0. docs/gpu.md says what each part verifies.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

from analysis.endpoints import training_set
from analysis.scoring.evaluate import encode_all
from common.cli import resolve_device
from train.registry import METHODS, spec
from train.checkpoint import method_from_checkpoint
from train.config import method_config
from train.device_defaults import for_device
from train.trainer import Run, train

ROOT = Path(__file__).resolve().parents[1]
WARMUP, TIMED = 3, 10  # steps per method: the first ones allocate and pick kernels
CUDA_TESTS = ["tests/test_gpu_path.py"]


def step_costs(name: str, device: torch.device, out: Path) -> dict:
    """ms per step, host syncs per step and peak MiB of method `name` at its default size."""
    cfg = method_config(name, device=str(device), out=str(out / name), hr_res=0, unseen="")
    cfg, _ = for_device(cfg, set(), device)
    run = Run(cfg, device)
    for _ in range(WARMUP):
        run.step()
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")  # a warning at every synchronizing call
        try:
            t0 = time.perf_counter()
            for _ in range(TIMED):
                run.step()
            torch.cuda.set_sync_debug_mode("default")
            torch.cuda.synchronize(device)
            seconds = time.perf_counter() - t0
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = sum("synchroniz" in str(w.message) for w in caught)
    return {"ms_per_step": 1000 * seconds / TIMED, "syncs_per_step": syncs / TIMED,
            "peak_mib": torch.cuda.max_memory_allocated(device) / 2**20, "batch": cfg.batch}


def render_difference(ckpt: Path, device: torch.device, count: int = 8, res: int = 64) -> float:
    """Largest |render on CPU - render on the GPU| of a checkpoint's first `count` icons."""
    renders = []
    for where in (torch.device("cpu"), device):
        method, state = method_from_checkpoint(ckpt, where)
        images, observed = training_set(state)
        with torch.no_grad():
            rep = encode_all(method, images.images[:count], observed[:count])
            renders.append(method.render(rep, res).cpu())
    return (renders[0] - renders[1]).abs().max().item()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for the runs (default: a temporary one)")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU visible, nothing to check (docs/gpu.md lists what awaits one)")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")  # the resume's reseed line
    device = resolve_device("cuda")
    out = Path(args.out or tempfile.mkdtemp(prefix="gpu_check_"))
    print(f"gpu_check on {torch.cuda.get_device_name(device)}, torch {torch.__version__}, runs in {out}")

    print(f"\n1. training step per method (default sizes, GPU defaults; {TIMED} steps after {WARMUP})")
    print(f"{'method':<14} {'batch':>5} {'ms/step':>8} {'syncs/step':>10} {'peak MiB':>9}")
    for name in METHODS:
        try:
            c = step_costs(name, device, out / "steps")
            print(f"{name:<14} {c['batch']:>5} {c['ms_per_step']:>8.1f} {c['syncs_per_step']:>10.1f} "
                  f"{c['peak_mib']:>9.0f}")
        except Exception as err:  # noqa: BLE001 (report every method, then go on)
            print(f"{name:<14} FAILED: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
        torch.cuda.empty_cache()

    print("\n2. python study.py --quick --device cuda")
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "study.py", "--quick", "--device", "cuda", "--out", str(out / "study")],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    tail = (done.stderr.strip().splitlines() or [""])[-1]
    print(f"exit {done.returncode} after {time.perf_counter() - t0:.0f} s" + (f": {tail}" if done.returncode else ""))

    print("\n3. a GPU checkpoint rendered on the CPU and on the GPU")
    run_dir = out / "resume"
    cfg = method_config("hyper", tiny=True, device="cuda", out=str(run_dir), steps=20, minutes=0.0, hr_res=0,
                        unseen="", eval_every=1000, image_every=1000, track_every=0)
    train(cfg, given={"steps", "device", "eval_every", "image_every", "track_every"}, script=spec("hyper").script)
    print(f"max |CPU - CUDA| of 8 renders at 64 px: {render_difference(run_dir / 'ckpt.pt', device):.2e}")

    print("\n4. that run resumed on the CPU for 5 more steps")
    resumed = dataclasses.replace(cfg, device="cpu", steps=25, resume=True)
    metrics = train(resumed, given={"device", "steps", "resume"}, script=spec("hyper").script)
    print(f"resumed to step {metrics['step']}")

    print(f"\n5. pytest -m cuda {' '.join(CUDA_TESTS)}")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "cuda", *CUDA_TESTS], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    print((done.stdout.strip().splitlines() or ["(no output)"])[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())

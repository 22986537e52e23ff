"""Benchmark training and inference: the default fast path against the plain eager reference.

    python -m experiments.bench --out runs/bench.json                 # ~30 minutes on 2 CPU cores
    python -m experiments.bench --quick                               # smoke run (seconds)

Paths, each method at its default configuration (train/registry.py, train.config.method_config):
    fast   the default: train/fast.py on, --pixels 512 random training pixels per image and step
    ref    the plain eager reference: --no-fast --pixels 0 (every training pixel every step,
           default Adam, default malloc): what a straightforward implementation does
    eager  the default's work without train/fast.py (--no-fast): isolates what the fast path
           alone gives at equal work per step
Each path runs in its own process (train/benchmark.py says why). fast and ref race:
alternating segments of real training steps (train.trainer.Run.step), each followed by a
train-pixel PSNR evaluation (not counted as training time), until 30 dB or --max-seconds of
training; the lr schedule spans --max-seconds, as it spans --minutes in a real run. Then
fast and eager alternate a few timing segments, and: 256 px renders per second, peak memory,
and the batched SIREN step (100 images 48x48, width 64, 3 hidden layers, forward+backward)
against a roofline computed from this machine's own matmul and sin rates. Last, the cost of
high-resolution supervision: hyper's default step with --hr-supervision 256 against without,
alternating segments (--hr-rounds; 0 = skip; `--methods "" ` times only that). Shared cores make
absolute times depend on the load of the moment; ratios between paths measured in
alternating segments of one run cancel most of it.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from common.cli import parse_config, run_main, validate
from data.pixels import HELDOUT_FRACTION
from train.registry import spec
from common.runfolder import check_result_file
from train.benchmark import Worker, siren_work
from train.config import check_config, method_config

SIREN_SPEC = {"images": 100, "res": 48, "hidden": 64, "layers": 3}
QUICK = {"res": 24, "batch": 4, "pixels": 32, "hr_res": 0, "unseen": "", "data": "icons100"}  # on top of the tiny sizes
TARGETS = (25.0, 30.0)
log = logging.getLogger("bench")


@dataclass
class BenchConfig:
    """Time training (to 25 and 30 dB), inference and the SIREN step: fast path vs eager reference."""

    methods: str = "hyper,concat,maml,modulated"  # comma-separated methods of train/registry.py
    max_seconds: float = 300.0          # training-time budget per method and path (the lr schedule's span)
    segment_seconds: float = 10.0       # about this much training between PSNR evaluations
    threads: int = 2                    # torch threads (and OMP_NUM_THREADS) of every worker
    device: str = "cpu"                 # "cpu", "cuda", "auto"
    siren_rounds: int = 5               # alternating repetitions of the SIREN step per path
    render_res: int = 256
    quick: bool = False                 # tiny sizes and budgets: a smoke test in seconds
    hr_rounds: int = 3                  # alternating segments of hyper with and without --hr-supervision 256
    out: str = ""                       # write the results as JSON here, and as Markdown beside it (.md)


PATHS = {"fast": {"fast": True}, "ref": {"fast": False, "pixels": 0}, "eager": {"fast": False}}


def bench_config(name: str, bench: BenchConfig, path: str, out: str):
    """The method's default training config (train/registry.py) on the bench's device, changed as `path` says (PATHS)."""
    spec(name)  # a one-line error for an unknown name
    changes = dict(QUICK) if bench.quick else {}
    if bench.quick and name == "maml":
        changes["batch"] = 2
    # the budget is the bench's seconds alone (steps never end it), so the lr schedule spans them
    changes.update(PATHS[path], device=bench.device, minutes=bench.max_seconds / 60, steps=10**9, out=out)
    return method_config(name, tiny=bench.quick, **changes)


def pixel_evals_per_step(cfg) -> int:
    """SIREN pixel evaluations of one training step: the loss pixels of every image, plus for
    MAML the inner loop's passes over every pixel (forward and backward)."""
    kept = cfg.res ** 2 - round(HELDOUT_FRACTION * cfg.res ** 2)  # training pixels per image (10% held out)
    per_image = cfg.pixels or kept
    if cfg.model == "maml":
        per_image += cfg.inner_steps * cfg.res ** 2
    return cfg.batch * per_image


def train_race(workers: dict, bench: BenchConfig, name: str) -> dict:
    """Alternate training segments between the paths; returns per path the PSNR curve
    [(step, train seconds, dB)] and the segments [(step, steps, seconds)]."""
    race = {path: {"seconds": 0.0, "curve": [], "segments": []} for path in workers}
    k = 2  # the first segment is short: it also measures the step time
    while True:
        active = [p for p, r in race.items()
                  if r["seconds"] < bench.max_seconds and not (r["curve"] and r["curve"][-1][2] >= TARGETS[-1])]
        if not active:
            return race
        for path in active:
            seconds, steps_now = workers[path].ask("train", k)
            race[path]["seconds"] += seconds
            race[path]["segments"].append((steps_now, k, seconds))
            race[path]["curve"].append((steps_now, race[path]["seconds"], workers[path].ask("psnr")))
        log.info("%s: %s", name, ", ".join(f"{p} step {race[p]['curve'][-1][0]} {race[p]['curve'][-1][2]:.2f} dB "
                                           f"after {race[p]['seconds']:.0f} s" for p in active))
        step_time = max(race[p]["segments"][-1][2] for p in active) / k  # the slower path's
        k = max(1, round(bench.segment_seconds / max(step_time, 1e-6)))


def summarize(race: dict, path: str, cfg) -> dict:
    """Throughput over the segments both paths ran (the first, warm-up one excluded), time to
    each PSNR target, last PSNR."""
    mine = race[path]
    paired = min(len(r["segments"]) for r in race.values())
    segs = mine["segments"][1:paired] or mine["segments"]
    steps, seconds = sum(s[1] for s in segs), sum(s[2] for s in segs)
    out = {"steps_per_s": steps / seconds, "pixel_evals_per_s": steps / seconds * pixel_evals_per_step(cfg),
           "train_seconds": mine["seconds"], "steps": mine["curve"][-1][0], "final_psnr": mine["curve"][-1][2],
           "curve": mine["curve"]}
    for target in TARGETS:
        hit = next(((step, sec) for step, sec, db in mine["curve"] if db >= target), None)
        out[f"time_to_{target:g}dB"] = None if hit is None else {"steps": hit[0], "seconds": hit[1]}
    return out


def segment_ratio(race: dict) -> float | None:
    """Median over segments both paths ran with the same step count of t_ref / t_fast."""
    ref, fast = race["ref"]["segments"], race["fast"]["segments"]
    ratios = [r[2] / f[2] for r, f in zip(ref, fast) if r[:2] == f[:2]]
    return statistics.median(ratios) if ratios else None


def equal_work_ratio(workers: dict, bench: BenchConfig, step_time: float, rounds: int = 3) -> float:
    """Median over alternating segments of t_eager / t_fast: the default step with and without
    train/fast.py, same pixels and steps."""
    k = max(1, round(bench.segment_seconds / max(step_time, 1e-6)))
    ratios = []
    for _ in range(rounds):
        seconds = {path: workers[path].ask("train", k)[0] for path in ("eager", "fast")}
        ratios.append(seconds["eager"] / seconds["fast"])
    return statistics.median(ratios)


def bench_method(name: str, bench: BenchConfig, tmp: Path, with_siren: bool) -> dict:
    cfgs = {path: bench_config(name, bench, path, str(tmp / f"{name}_{path}")) for path in PATHS}
    workers = {path: Worker(cfg, bench.threads) for path, cfg in cfgs.items()}
    try:
        race = train_race({p: workers[p] for p in ("ref", "fast")}, bench, name)
        result = {path: summarize(race, path, cfgs[path]) for path in race}
        result["speedup_steps"] = segment_ratio(race)
        result["speedup_equal_work"] = equal_work_ratio(workers, bench, 1 / result["fast"]["steps_per_s"])
        for path in race:
            result[path]["renders_per_s"] = workers[path].ask("render", bench.render_res)
            result[path]["peak_memory_bytes"] = workers[path].ask("memory")
        result["fast_path"] = workers["fast"].fast_path
        result["speedup_renders"] = result["fast"]["renders_per_s"] / result["ref"]["renders_per_s"]
        result["config"] = {path: dataclasses.asdict(cfg) for path, cfg in cfgs.items()}
        if with_siren:  # in the fast and ref processes: one per malloc setting
            result["siren_step"] = bench_siren({p: workers[p] for p in ("ref", "fast")}, bench)
        return result
    finally:
        for worker in workers.values():
            worker.close()


def bench_siren(workers: dict, bench: BenchConfig) -> dict:
    """The batched SIREN step in both processes, alternating, and its roofline."""
    spec = dict(SIREN_SPEC, images=4, res=12) if bench.quick else SIREN_SPEC
    times = {path: [] for path in workers}
    for _ in range(bench.siren_rounds):
        for path, worker in workers.items():
            times[path].append(worker.ask("siren", spec))
    rates = workers["ref"].ask("rates", spec)
    flops, sines = siren_work(spec)
    roofline = flops / (rates["matmul_gflops"] * 1e9) + sines / (rates["sin_gelems"] * 1e9)
    best = {path: min(t) for path, t in times.items()}
    return {"spec": spec, **rates, "matmul_flops": flops, "sin_cos_evals": sines, "roofline_s": roofline,
            "ref_s": best["ref"], "fast_s": best["fast"],
            "speedup": statistics.median(r / f for r, f in zip(times["ref"], times["fast"])),
            "roofline_fraction_ref": roofline / best["ref"], "roofline_fraction_fast": roofline / best["fast"]}


def hr_step_ratio(bench: BenchConfig, tmp: Path) -> dict:
    """Steps per second of hyper's default step with and without --hr-supervision 256 (half its
    pixels drawn from the true 256 px renders, train/sampler.py), alternating segments of equal steps."""
    cfgs = {hr: dataclasses.replace(bench_config("hyper", bench, "fast", str(tmp / f"hr_{hr}")), hr_supervision=hr)
            for hr in (0, 256)}
    workers = {hr: Worker(cfg, bench.threads) for hr, cfg in cfgs.items()}
    try:
        step = max(workers[hr].ask("train", 2)[0] / 2 for hr in workers)  # warm-up, and the step time
        k = max(1, round(bench.segment_seconds / max(step, 1e-6)))
        seconds = {hr: [] for hr in workers}
        for _ in range(bench.hr_rounds):
            for hr, worker in workers.items():
                seconds[hr].append(worker.ask("train", k)[0])
    finally:
        for worker in workers.values():
            worker.close()
    return {"steps_per_s": k / statistics.median(seconds[0]), "steps_per_s_hr": k / statistics.median(seconds[256]),
            "ratio": statistics.median(a / b for a, b in zip(seconds[0], seconds[256]))}


def fmt_time(hit: dict | None, budget: float) -> str:
    return f"not in {budget:.0f} s" if hit is None else f"{hit['seconds']:.0f} s ({hit['steps']} st)"


def markdown(saved: dict) -> str:
    """The saved results (the JSON of --out) as Markdown tables, for the README."""
    budget = saved["bench"]["max_seconds"]
    names = [n for n in saved if n not in ("header", "bench") and not n.startswith("_")]
    rows = ["| method | path | steps/s | pixel evals/s | to 25 dB | to 30 dB | PSNR at end (step) | peak MB | 256 px renders/s |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        for path in ("ref", "fast"):
            p = saved[name][path]
            rows.append(f"| {name} | {path} | {p['steps_per_s']:.2f} | {p['pixel_evals_per_s'] / 1e6:.2f} M | "
                        f"{fmt_time(p['time_to_25dB'], budget)} | {fmt_time(p['time_to_30dB'], budget)} | "
                        f"{p['final_psnr']:.2f} ({p['steps']}) | {p['peak_memory_bytes'] / 2**20:.0f} | {p['renders_per_s']:.2f} |")
    rows += ["", "| method | default step vs eager reference | fast path alone, equal work | 256 px renders |", "|---|---|---|---|"]
    for name in names:
        r = saved[name]
        steps = "n/a" if r["speedup_steps"] is None else f"x{r['speedup_steps']:.2f}"
        rows.append(f"| {name} | {steps} | x{r['speedup_equal_work']:.2f} | x{r['speedup_renders']:.2f} |")
    if "_hr_supervision" in saved:
        h = saved["_hr_supervision"]
        rows += ["", f"hyper with --hr-supervision 256: {h['steps_per_s_hr']:.2f} steps/s against {h['steps_per_s']:.2f} "
                 f"without; step rate ratio {h['ratio']:.2f} (median of alternating segments)."]
    if "_siren_step" not in saved:
        return "\n".join(rows) + "\n"
    s = saved["_siren_step"]
    spec = s["spec"]
    rows += ["", f"SIREN step ({spec['images']} images {spec['res']}x{spec['res']}, width {spec['hidden']}, "
             f"{spec['layers']} hidden layers, forward+backward): ref {s['ref_s']:.3f} s, fast {s['fast_s']:.3f} s "
             f"(x{s['speedup']:.2f}); roofline {s['matmul_flops'] / 1e9:.2f} GFLOP at {s['matmul_gflops']:.0f} GFLOP/s + "
             f"{s['sin_cos_evals'] / 1e6:.1f} M sin/cos at {s['sin_gelems']:.2f} G/s = {s['roofline_s']:.3f} s; "
             f"achieved fraction of the roofline: ref {s['roofline_fraction_ref']:.2f}, fast {s['roofline_fraction_fast']:.2f}."]
    return "\n".join(rows) + "\n"


def main(argv=None) -> dict:
    bench, _ = parse_config(BenchConfig, argv, choices={"device": ("cpu", "cuda", "auto")})
    if bench.quick:
        bench = dataclasses.replace(bench, max_seconds=min(bench.max_seconds, 1.0), segment_seconds=0.3,
                                    siren_rounds=min(bench.siren_rounds, 2), render_res=32)
    # Every method's config on every path is checked, and --out, before the first worker starts.
    for name in (m.strip() for m in bench.methods.split(",") if m.strip()):
        for path in PATHS:
            cfg = bench_config(name, bench, path, "")
            validate(cfg)
            check_config(cfg)
    if bench.out:
        check_result_file(Path(bench.out), ("header", "bench"), "experiments/bench.py", beside=(".md",))
    os.environ["OMP_NUM_THREADS"] = str(bench.threads)  # inherited by the spawned workers
    header = (f"threads: {bench.threads} (torch.set_num_threads, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}) "
              f"on {os.cpu_count()} cores, device {bench.device}, torch {torch.__version__}\n"
              "absolute numbers: measured under whatever load the machine had; ratios: alternating segments, same run\n"
              "peak MB: growth of max RSS over the set-up run (CPU) or max allocated (CUDA); times: training only")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k, name in enumerate(m.strip() for m in bench.methods.split(",") if m.strip()):
            results[name] = bench_method(name, bench, Path(tmp), with_siren=k == 0)
            if k == 0:
                results["_siren_step"] = results[name].pop("siren_step")
        if bench.hr_rounds > 0:
            results["_hr_supervision"] = hr_step_ratio(bench, Path(tmp))
    saved = {"header": header, "bench": dataclasses.asdict(bench), **results}
    tables = markdown(saved)
    print(header, tables, sep="\n")
    for name, r in results.items():
        if not name.startswith("_"):
            print(f"{name} fast path: {'; '.join(r['fast_path'])}")
    if bench.out:
        Path(bench.out).parent.mkdir(parents=True, exist_ok=True)
        Path(bench.out).write_text(json.dumps(saved, indent=1))
        Path(bench.out).with_suffix(".md").write_text(tables)
    return results


if __name__ == "__main__":
    run_main(main)

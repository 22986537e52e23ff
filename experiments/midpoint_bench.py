"""Score trained methods on the known-midpoint benchmark, beside the model-free references.

    python -m experiments.midpoint_bench --ckpt modulated=checkpoints/modulated.pt --ckpt maml=checkpoints/maml.pt \\
        --count 20 --steps 0,3,10 --sets unseen --out runs/midpoints/midpoints.json

Two benchmarks (`analysis.interpolation.known_midpoints.build_benchmark`, 48 px, `--count` icons per kind
of change, 5 kinds, seed 0): the icons100 training icons and the unseen icons of the icons-large test split.
For each checkpoint: its training-pixel and held-out PSNR (from the run's metrics.json), its
endpoint-reconstruction PSNR on each benchmark, and its latent / weights / warp / aligned /
aligned_residual / pixel paths (`analysis.interpolation.method_benchmark`); with `--steps`, a method that adapts is scored
once per number of test-time steps (every encode on its paths takes them). Then the paired
comparisons (`analysis.interpolation.paired`): every path minus the best one through the
representation alone, minus the best of all ("aligned_residual" reads the true end pixels too) and
minus the pixel warp of the true ends, per case, with 95% intervals. Prints markdown; `--out` also writes JSON.
"""
from __future__ import annotations

import json
from pathlib import Path

from analysis.interpolation.method_benchmark import MODES, SETS, benchmark_methods
from analysis.interpolation.paired import flatten, paired_rows, paired_table
from common.cli import OneLineParser, run_main
from common.errors import UserError
from common.runfolder import check_result_file
from train.checkpoint import method_from_checkpoint

SET_NAMES = {"training": [list(SETS)[0]], "unseen": [list(SETS)[1]], "both": list(SETS)}
REFERENCE = "pixel/warp"  # the warp-and-blend morph of the true ends: the target a learned path must reach


def _steps(text: str) -> list[int | None]:
    if not text:
        return [None]
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--steps {text!r}: write whole numbers separated by commas, e.g. 0,3,10") from None
    if not values or min(values) < 0:
        raise UserError(f"--steps {text!r}: write numbers >= 0 separated by commas, e.g. 0,3,10")
    return values


def main(argv=None) -> dict:
    ap = OneLineParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ckpt", action="append", default=[], help="name=path/to/ckpt.pt (repeatable)")
    ap.add_argument("--count", type=int, default=4, help="cases per kind (default 4: 20 cases per benchmark)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", default="", help="test-time steps of the methods that adapt, e.g. 0,3,10 (default: "
                                                "as trained)")
    ap.add_argument("--sets", default="both", choices=list(SET_NAMES), help="which benchmarks (default both)")
    ap.add_argument("--out", default="", help="also write the results to this JSON file")
    args = ap.parse_args(argv)
    if args.count < 1:
        raise UserError(f"--count must be positive, got {args.count}")
    steps = _steps(args.steps)
    if args.out:
        check_result_file(Path(args.out), ("training", "benchmarks"), "experiments/midpoint_bench.py")
    runs = {}
    for item in args.ckpt:
        if "=" not in item:
            raise UserError(f"--ckpt {item!r}: write it as name=path/to/ckpt.pt")
        name, path = item.split("=", 1)
        runs[name] = Path(path)
    results: dict = {"training": {}, "benchmarks": {}, "paired": {}}
    methods = {}
    for name, path in runs.items():
        method = method_from_checkpoint(path)[0]
        for j, k in enumerate(steps if method.adapts else [None]):
            copy = method if j == 0 else method_from_checkpoint(path)[0]  # one per k: each encode reads test_steps
            copy.test_steps = k
            methods[name if k is None else f"{name}, {k} steps"] = copy
    lines = ["| method | steps | train px dB | held-out px dB | unseen icons dB |", "|---|---|---|---|---|"]
    for name, path in runs.items():
        metrics_file = path.parent / "metrics.json"
        m = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        results["training"][name] = {k: m.get(k) for k in ("step", "psnr/train_pixels", "psnr/heldout_pixels",
                                                            "psnr/unseen_images")}
        fmt = lambda v: f"{v:.2f}" if isinstance(v, float) else str(v)  # noqa: E731
        lines.append(f"| {name} | {m.get('step')} | {fmt(m.get('psnr/train_pixels'))} | "
                     f"{fmt(m.get('psnr/heldout_pixels'))} | {fmt(m.get('psnr/unseen_images'))} |")
    print("\n".join(lines))
    modes = (*MODES[:-1], "aligned_residual", MODES[-1])  # the study's modes, and the named one that reads the ends
    for title, bench in benchmark_methods(methods, 48, args.count, args.seed, sets=SET_NAMES[args.sets],
                                          modes=modes).items():
        print(f"\n### {title}: {bench['cases']} cases, 48 px\n")
        print("| method | endpoint reconstruction PSNR dB (mean +- std over 2C) |\n|---|---|")
        for name, e in bench["endpoints"].items():
            print(f"| {name} | " + (f"{e['mean']:.2f} +- {e['std']:.2f} |" if e else "n/a |"))
        print()
        print(bench["table"])
        results["benchmarks"][title] = bench
        flat = flatten(bench["paths"])
        learned = [k for k in flat if "/" in k and not k.startswith(("pixel/", "hold/", "mean/"))]
        # The best path through the representation alone, then the best of all (one that reads the end pixels too).
        pure = [k for k in learned if not k.endswith("/aligned_residual")]
        paired = {}
        for group, what in ((pure, "through the representation alone"), (learned, "of all")):
            if not group:
                continue
            best = max(group, key=lambda k: flat[k]["all"]["frame_psnr"]["mean"])
            if best in paired:
                continue
            paired[best] = paired_rows(flat, best)
            print(f"\nPaired per case, every path minus the best learned one {what} ({best}):\n")
            print(paired_table(paired[best], best))
        paired[REFERENCE] = paired_rows(flat, REFERENCE)
        print(f"\nPaired per case, every path minus the {REFERENCE} reference (the true ends warped and blended):\n")
        print(paired_table(paired[REFERENCE], REFERENCE))
        results["paired"][title] = paired
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    run_main(main)

"""Score trained methods on the known-midpoint benchmark, beside the model-free references.

    python midpoint_bench.py --ckpt hyper=runs/hyper/ckpt.pt --ckpt hyper_interp=runs/hyper_interp/ckpt.pt

Two benchmarks (`analysis.interpolation.known_midpoints.build_benchmark`, 48 px, `--count` icons per kind,
seed 0): the icons100 training icons and the unseen icons of the icons-large test split.
For each checkpoint: its training-pixel and held-out PSNR (from the run's metrics.json),
its endpoint-reconstruction PSNR on each benchmark, and its latent / weights / warp / aligned /
pixel paths (`analysis.interpolation.method_benchmark`). Prints markdown tables; `--out` also writes them as JSON.
"""
from __future__ import annotations

import json
from pathlib import Path

from analysis.interpolation.method_benchmark import benchmark_methods
from cli import OneLineParser, run_main
from errors import UserError
from runfolder import check_result_file
from train.checkpoint import method_from_checkpoint


def main(argv=None) -> dict:
    ap = OneLineParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ckpt", action="append", default=[], help="name=path/to/ckpt.pt (repeatable)")
    ap.add_argument("--count", type=int, default=4, help="cases per kind (default 4: 20 cases per benchmark)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="", help="also write the results to this JSON file")
    args = ap.parse_args(argv)
    if args.count < 1:
        raise UserError(f"--count must be positive, got {args.count}")
    if args.out:
        check_result_file(Path(args.out), ("training", "benchmarks"), "midpoint_bench.py")
    runs = {}
    for item in args.ckpt:
        if "=" not in item:
            raise UserError(f"--ckpt {item!r}: write it as name=path/to/ckpt.pt")
        name, path = item.split("=", 1)
        runs[name] = Path(path)
    results: dict = {"training": {}, "benchmarks": {}}
    methods = {name: method_from_checkpoint(path)[0] for name, path in runs.items()}
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
    for title, bench in benchmark_methods(methods, 48, args.count, args.seed).items():
        print(f"\n### {title}: {bench['cases']} cases, 48 px\n")
        print("| method | endpoint reconstruction PSNR dB (mean +- std over 2C) |\n|---|---|")
        for name, e in bench["endpoints"].items():
            print(f"| {name} | " + (f"{e['mean']:.2f} +- {e['std']:.2f} |" if e else "n/a |"))
        print()
        print(bench["table"])
        results["benchmarks"][title] = bench
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    run_main(main)

"""Score trained methods on the known-midpoint benchmark, beside the model-free references.

    python midpoint_bench.py --ckpt hyper=runs/hyper/ckpt.pt --ckpt hyper_interp=runs/hyper_interp/ckpt.pt

Two benchmarks (`analysis.known_midpoints.build_benchmark`, 48 px, `--count` icons per kind,
seed 0): the icons100 training icons and the unseen icons of the icons-large test split.
For each checkpoint: its training-pixel and held-out PSNR (from the run's metrics.json),
its endpoint-reconstruction PSNR on each benchmark, and its latent / weights / pixel paths
(`analysis.method_benchmark`). Prints markdown tables; `--out` also writes them as JSON.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from analysis.known_midpoints import build_benchmark, mean_image
from analysis.figures import save_png
from analysis.method_benchmark import MODES, endpoint_psnr, known_midpoint_scores, path_sheet, reference_scores, table
from cli import run_main
from data.images import load_images
from errors import UserError
from train.checkpoint import method_from_checkpoint

SETS = {"icons100 (training icons)": ("icons100", "train"), "icons-large test (unseen)": ("icons-large", "test")}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ckpt", action="append", default=[], help="name=path/to/ckpt.pt (repeatable)")
    ap.add_argument("--count", type=int, default=4, help="cases per kind (default 4: 20 cases per benchmark)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="", help="also write the results to this JSON file")
    ap.add_argument("--figures", default="", help="folder for one sheet per benchmark: the first case of each "
                    "kind, the truth and every method's latent path")
    args = ap.parse_args(argv)
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
    for title, (data, split) in SETS.items():
        icons = load_images(data, 256, split=split)
        cases = build_benchmark(icons.images, res=48, count_per_kind=args.count, seed=args.seed, names=icons.names)
        rows = {f"(ref) {ref}": {"true ends": s} for ref, s in reference_scores(cases, mean_image(icons.images, 48)).items()}
        ends = {}
        for name, method in methods.items():
            rows[name] = known_midpoint_scores(method, cases, MODES)
            ends[name] = endpoint_psnr(method, cases)
        print(f"\n### {title}: {len(cases)} cases, 48 px\n")
        print("| method | endpoint reconstruction PSNR dB (mean +- std over 2C) |\n|---|---|")
        for name, e in ends.items():
            print(f"| {name} | " + (f"{e['mean']:.2f} +- {e['std']:.2f} |" if e else "n/a |"))
        print()
        print(table(rows))
        results["benchmarks"][title] = {"cases": len(cases), "endpoints": ends, "paths": rows}
        if args.figures:
            firsts = [next(c for c in cases if c.kind == k) for k in dict.fromkeys(c.kind for c in cases)]
            save_png(path_sheet(methods, firsts, "latent"), Path(args.figures) / f"latent_paths_{data}.png")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    run_main(main)

"""The whole study in one command: train every method, evaluate, upsample, pick pairs,
interpolate, and write the figures and the results table (Markdown and JSON).

    python study.py                      # ~30 min on a 2-core CPU, writes runs/study/
    python study.py --minutes 30         # longer, better run (per method); a GPU is used when present
    python study.py --quick --out /tmp/s # seconds: tiny models, a smoke run

Every method gets the same data (icons100 at 48 px, 10% of each image's pixels held out)
and the same wall-clock training budget. Outputs in --out:
    runs/<method>/            checkpoint, TensorBoard events, figures, metrics.json
    upsample.png              48 px input, Lanczos, each method at 256 px, truth
    similarity/               similarity heatmaps and the chosen pairs (pairs.json)
    interpolation/<method>/   per pair: sheet.png (one row per mode), strips, GIFs, metrics
    interpolation_pair<k>.png every method's rows for pair k (3 similar pairs, then 1 dissimilar)
    curves.png                PSNR on a fixed subset against training seconds, one panel per method,
                              with the trivial references (runs/<method>/track.jsonl, analysis/curves.py)
    results.md, results.json  the table the README shows (methods and the trivial references)
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

import interpolate
import similarity
from analysis.curves import curve_figure
from analysis.endpoints import training_set, training_split
from analysis.figures import from_pil, save_png, stack_labelled
from analysis.upsampling import upsample_sheet, upsampled
from cli import parse_config, resolve_device, run_main
from data.images import load_images
from errors import UserError
from registry import METHODS, spec
from train.checkpoint import method_from_checkpoint
from train.config import method_config
from train.trainer import train

STUDY_METHODS = "concat,hyper,hyper_hr,maml,perimage,concat_table,hyper_table"  # rows of registry.METHODS; perimage is
#   the reference; *_table are the index-coded setting (a code per training icon, no encoder)
QUICK = {"steps": 3, "unseen_count": 4, "eval_every": 1000, "image_every": 1000}  # on top of the registry's tiny sizes


@dataclass
class StudyConfig:
    """Train, evaluate and compare every method; write figures and a results table."""

    out: str = "runs/study"
    minutes: float = 5.0        # training budget per joint method (the perimage reference gets half)
    data: str = "icons100"
    res: int = 48
    hr_res: int = 256           # upsampling target (true renders at this size must exist)
    frames: int = 9             # interpolation frames per pair
    interp_res: int = 128       # interpolation render size
    methods: str = STUDY_METHODS
    quick: bool = False         # tiny models, 3 steps: a smoke run of the whole pipeline
    resume: bool = False        # reuse finished runs in --out, resume unfinished ones
    overwrite: bool = False     # delete --out first
    device: str = "auto"


def train_all(cfg: StudyConfig, out: Path, names: list[str]) -> dict[str, dict]:
    """Train each method (or reuse a finished run with --resume); returns metrics by method."""
    metrics = {}
    for name in names:
        run = out / "runs" / name
        if cfg.resume and (run / "metrics.json").is_file():
            metrics[name] = json.loads((run / "metrics.json").read_text())
            continue
        minutes = cfg.minutes / 2 if name == "perimage" else cfg.minutes
        budget = QUICK if cfg.quick else {"minutes": minutes, "steps": 1_000_000}
        changes = {"data": cfg.data, "res": cfg.res, "hr_res": cfg.hr_res, "out": str(run), "device": cfg.device,
                   "resume": (run / "ckpt.pt").is_file(), **budget}
        run_cfg = method_config(name, tiny=cfg.quick, **changes)
        print(f"\n=== training {name} ({'quick' if cfg.quick else f'{minutes:g} min'}) -> {run}")
        metrics[name] = train(run_cfg, given=set(changes), script=spec(name).script)
    return metrics


def upsample_figure(out: Path, names: list[str], device, count: int = 6) -> dict[str, float]:
    """One sheet: per icon a row of input (nearest), Lanczos, each method, truth; PSNR on these icons."""
    renders, truth, lowres = {}, None, None
    for name in names:
        method, ckpt = method_from_checkpoint(out / "runs" / name / "ckpt.pt", device)
        images, observed = training_set(ckpt)
        if truth is None:
            cfg = ckpt["config"]
            truth = load_images(cfg["data"], cfg["hr_res"], training_split(cfg)).images[:count]  # (K, 3, R, R)
            lowres = images.images[:count]  # (K, 3, r, r)
        renders[name] = upsampled(method, images, observed, list(range(count)), truth.shape[-1])
    sheet, scores = upsample_sheet(lowres, renders, truth)
    save_png(sheet, out / "upsample.png")
    return {label: value.mean().item() for label, value in scores.items()}


def interpolate_all(cfg: StudyConfig, out: Path, names: list[str]) -> dict[str, dict]:
    """Pairs chosen once (on the hypernetwork's weights when trained), then every method blends them."""
    chooser = "hyper" if "hyper" in names else names[0]
    similarity.main(["--ckpt", str(out / "runs" / chooser / "ckpt.pt"), "--out", str(out / "similarity"),
                     "--device", cfg.device])
    results = {}
    for name in names:
        results[name] = interpolate.main([
            "--ckpt", str(out / "runs" / name / "ckpt.pt"), "--pairs", str(out / "similarity" / "pairs.json"),
            "--frames", str(cfg.frames), "--res", str(cfg.interp_res), "--out", str(out / "interpolation" / name),
            "--device", cfg.device, "--overwrite"])  # regenerated on every study run (--resume too)
    # One picture per pair with every method's rows, under a name that does not depend on the pair.
    for k in range(len(results[names[0]]["pairs"])):
        sheets = [Image.open(next((out / "interpolation" / name).glob(f"{k}_*/sheet.png"))) for name in names]
        save_png(stack_labelled([from_pil(sheet) for sheet in sheets], names), out / f"interpolation_pair{k}.png")
    return results


def results_table(train: dict, interp: dict) -> tuple[str, dict]:
    """Markdown tables and a JSON-able summary of every method."""
    def cell(value):
        return "n/a" if value is None else f"{value:.2f}"

    hr = next((k.rsplit("_", 1)[1] for m in train.values() for k in m if k.startswith("psnr/upsample_")), "256")
    keys = {"train_pixels": "psnr/train_pixels", "heldout_pixels": "psnr/heldout_pixels",
            "unseen_images": "psnr/unseen_images", "unseen_heldout_pixels": "psnr/unseen_heldout_pixels",
            "upsample": f"psnr/upsample_{hr}", "unseen_upsample": f"psnr/unseen_upsample_{hr}"}
    lines = [f"| method | parameters | train s | steps | train px dB | held-out px dB | unseen icons dB | "
             f"unseen held-out px dB | {hr} px, training icons dB | {hr} px, unseen icons dB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    summary = {"methods": {}}
    for name, m in train.items():
        row = {"parameters": m["parameters"], "train_seconds": m["train_seconds"], "steps": m["step"],
               **{k: m.get(tag) for k, tag in keys.items()}}
        summary["methods"][name] = row
        lines.append(f"| {name} | {row['parameters']:,} | {row['train_seconds']:.0f} | {row['steps']} | "
                     + " | ".join(cell(row[k]) for k in keys) + " |")
    # The trivial references (analysis/references.py), the same for every run of one data set:
    # the columns each one can be scored on, the others left empty.
    ref_tags = {
        ("mean_icon", "mean icon (reference)"): {
            "train_pixels": "mean_icon_train_pixels", "heldout_pixels": "mean_icon_heldout_pixels",
            "unseen_images": "mean_icon_unseen", "unseen_heldout_pixels": "mean_icon_unseen_heldout"},
        ("neighbours", "neighbour interpolation (reference)"): {
            "heldout_pixels": "neighbours_heldout_pixels", "unseen_heldout_pixels": "neighbours_unseen_heldout"},
        ("lanczos", "Lanczos (reference)"): {"upsample": f"lanczos_{hr}", "unseen_upsample": f"unseen_lanczos_{hr}"},
        ("bicubic", "bicubic (reference)"): {"upsample": f"bicubic_{hr}", "unseen_upsample": f"unseen_bicubic_{hr}"}}
    summary["references"] = {}
    for (key, label), tags in ref_tags.items():
        row = {k: next((m[f"reference/{tag}"] for m in train.values() if f"reference/{tag}" in m), None)
               for k, tag in tags.items()}
        summary["references"][key] = row
        lines.append(f"| {label} | | | | " + " | ".join(cell(row[k]) if k in row else "" for k in keys) + " |")

    lines += ["", "| method | mode | morph error (lower = better) | pdv (unevenness) | band-energy error | "
              "path length (diagnostic) |",
              "|---|---|---|---|---|---|"]
    summary["interpolation"] = {}
    for name, res in interp.items():
        for mode in res["pairs"][0]["modes"]:
            vals = {k: sum(p["modes"][mode][k] for p in res["pairs"]) / len(res["pairs"])
                    for k in ("morph_error", "pdv", "band_energy_error", "path_length")}
            summary["interpolation"][f"{name}/{mode}"] = vals
            lines.append(f"| {name} | {mode} | {vals['morph_error']:.3f} | {vals['pdv']:.3f} | {vals['band_energy_error']:.3f} | "
                         f"{vals['path_length']:.2f} |")
    return "\n".join(lines) + "\n", summary


def main(argv=None) -> dict:
    cfg, _ = parse_config(StudyConfig, argv)
    names = [m.strip() for m in cfg.methods.split(",") if m.strip()]
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise UserError(f"unknown method {unknown[0] if unknown else '(none)'} in --methods: use {','.join(METHODS)}")
    out = Path(cfg.out)
    if out.exists() and any(out.iterdir()) and not cfg.resume:
        if not cfg.overwrite:
            raise UserError(f"{out} already exists: pass --resume to reuse its runs, --overwrite to replace it, "
                            "or another --out")
        shutil.rmtree(out)
    device = resolve_device(cfg.device)
    train = train_all(cfg, out, names)
    tracks = {name: out / "runs" / name / "track.jsonl" for name in names}
    if any(t.is_file() for t in tracks.values()):  # runs reused from before tracking have none
        curve_figure(tracks, out / "curves.png")
    print("\n=== upsampling, similarity and interpolation")
    upsample = upsample_figure(out, names, device)
    interp = interpolate_all(cfg, out, names)
    table, summary = results_table(train, interp)
    summary["upsample_shown_icons"] = upsample
    (out / "results.md").write_text(table)
    (out / "results.json").write_text(json.dumps(summary, indent=2))
    print(f"\n{table}\nwrote {out}/results.md, results.json, curves.png, upsample.png, similarity/, interpolation/")
    print(f"compare the methods in TensorBoard:  tensorboard --logdir {out}/runs")
    return summary


if __name__ == "__main__":
    run_main(main)

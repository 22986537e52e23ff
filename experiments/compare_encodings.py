"""Reproduce the SIREN paper's comparison on the icons: ReLU < positional < Fourier < SIREN.

    python -m experiments.compare_encodings --out results/encodings

Trains the per-image reference (one network per icon, models/per_image.py) with each
coordinate network for the same number of steps, and writes a table (Markdown, JSON) and a
figure of the reconstructions (rows: the four networks, then the truth).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import torch

import train_hyper
from analysis.endpoints import encode_images, training_set
from analysis.figures import make_grid, save_png
from analysis.scoring.evaluate import render_all
from common.cli import check_out_folder, parse_config, run_main
from common.errors import UserError
from common.runfolder import claim, holds_files
from train.checkpoint import method_from_checkpoint

VARIANTS = {  # name -> (activation, encoding)
    "relu": ("relu", "none"),
    "relu+positional": ("relu", "positional"),
    "relu+fourier": ("relu", "fourier"),
    "siren": ("sine", "none"),
}


@dataclass
class EncodingsConfig:
    """Fit the per-image network with each coordinate encoding for the same number of steps."""

    out: str = "runs/encodings"
    steps: int = 300
    res: int = 48
    data: str = "icons100"
    shown: int = 8                 # icons in the figure
    extra: str = ""                # more train_hyper.py flags, space separated (e.g. for a quick run)
    device: str = "auto"


def main(argv=None) -> dict:
    cfg, _ = parse_config(EncodingsConfig, argv)
    out = check_out_folder(cfg.out)
    if holds_files(out):
        raise UserError(f"{out} already exists: pass another --out or delete it")
    runs = {name: ["--model", "perimage", "--activation", activation, "--encoding", encoding, "--data", cfg.data,
                   "--res", str(cfg.res), "--steps", str(cfg.steps), "--minutes", "0", "--unseen", "",
                   "--out", str(out / name.replace("+", "_")), "--device", cfg.device, *cfg.extra.split()]
            for name, (activation, encoding) in VARIANTS.items()}
    for argv in runs.values():  # every run's flags (--extra too) checked before the first trains
        train_hyper.config(argv)
    claim(out, "compare_encodings", dict(vars(cfg)))
    rows, renders = {}, []
    for name, argv in runs.items():
        run = out / name.replace("+", "_")
        metrics = train_hyper.main(argv)
        upsample = next((v for k, v in metrics.items() if k.startswith("psnr/upsample_")), None)
        rows[name] = {"train_pixels": metrics["psnr/train_pixels"], "heldout_pixels": metrics["psnr/heldout_pixels"],
                      "upsample": upsample}
        method, ckpt = method_from_checkpoint(run / "ckpt.pt")
        images, observed = training_set(ckpt)
        renders.append(render_all(method, encode_images(method, images, observed, list(range(cfg.shown))), cfg.res))
    renders.append(images.images[:cfg.shown])
    save_png(make_grid(torch.cat(renders), ncol=cfg.shown), out / "reconstructions.png")
    lines = [f"| network ({cfg.steps} steps) | train px dB | held-out px dB | 256 px (upsampled) dB |", "|---|---|---|---|"]
    lines += [f"| {n} | " + " | ".join("n/a" if v is None else f"{v:.2f}" for v in r.values()) + " |"
              for n, r in rows.items()]
    (out / "encodings.md").write_text("\n".join(lines) + "\n")
    (out / "encodings.json").write_text(json.dumps(rows, indent=2))
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    run_main(main)

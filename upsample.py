"""Upsampling sheet: what a method's continuous image looks like far above its training resolution.

    python upsample.py --ckpt runs/hyper/ckpt.pt --icons grinning_face,cow_face --out runs/upsample

One row per icon, columns: the training-resolution input (nearest-upscaled, so its pixels
show), its Lanczos upsample, the method's render at --res, the true --res image. Writes
sheet.png and metrics.json (PSNR of Lanczos and of the method against the truth, per icon
and mean) into --out, and prints the PSNRs. The encoder sees each icon's observed pixels,
as in training and in the trainer's psnr/upsample_<R> metric. A folder image whose file is
smaller than --res has no true --res version (only its own Lanczos upscale): it is shown, not
scored.

    python upsample.py --ckpt runs/modulated/ckpt.pt --input my.png,my_folder/ --out runs/upsample_mine

--input takes your own image files or folders instead of training icons, read as training
reads a folder (api/inputs.py: upright by EXIF, transparency on white, centre square, Lanczos to
the checkpoint's resolution; a bad file is a one-line error) and encoded whole; the truth
column is the file itself at --res, scored where the file is at least --res px.

    python upsample.py --ckpt runs/study/runs/local/ckpt.pt --unseen 100
    python upsample.py --ckpt checkpoints/modulated.pt --unseen 100 --residual

--unseen K also encodes the first K icons of the run's unseen split (icons-large test for the
bundled sets) from all their pixels and prints, per icon, the method's PSNR at --res minus
Lanczos's: mean, median, min, max and on how many icons the method wins; and the mean PSNR and
flat-region error (analysis/scoring/flat_error.py) of each column.

--residual adds a column: the render plus what the reading missed of the input (its pixels minus
the render at the input's resolution, bilinear between them; analysis/residual.py), which
reproduces the input's pixels exactly.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

import api
from analysis.endpoints import resolve_index, training_split
from analysis.figures import save_png
from analysis.interpolation.known_midpoints import spread
from analysis.reporting.upsampling import upsample_sheet
from analysis.scoring.evaluate import psnr, upsample_scores
from analysis.scoring.flat_error import flat_mask
from common.cli import check_out_folder, encode_steps, parse_config, run_main, steps_field
from data.images import lanczos_resize, load_images
from data.split import unseen_source
from common.errors import UserError
from common.runfolder import check_reuse, claim


@dataclass
class UpsampleConfig:
    """Sheet of low-res input, Lanczos, the method's render and the truth at a high resolution."""

    ckpt: str = "runs/hyper/ckpt.pt"  # checkpoint of any method (hyper, concat, maml)
    icons: str = ""                   # comma list of training-image names or indices ("" = the first 6)
    input: str = ""                   # comma list of your own image files or folders, instead of --icons
    res: int = 256                    # target resolution (the data set must have true images at it)
    out: str = "runs/upsample"
    unseen: int = 0                   # also score this many unseen icons against Lanczos, per icon (0 = skip)
    steps: int = steps_field()        # gradient steps on each image's representation when encoding (-1 = as trained:
    #                                   modulated 0, MAML 3); 3 or 10 sharpen modulated's reading (docs/modulated.md)
    residual: bool = False            # also the render with the input's residual put back (analysis/residual.py)
    device: str = "auto"


def main(argv=None) -> dict:
    cfg, _ = parse_config(UpsampleConfig, argv)
    if cfg.input and cfg.icons:
        raise UserError("--input and --icons both name the images to upsample: pass one of them")
    out = check_out_folder(cfg.out)
    check_reuse(out, "upsample")  # a rerun replaces its own files, never a stranger's (common/runfolder.py)
    inr = api.load(cfg.ckpt, cfg.device, steps=encode_steps(cfg.steps))
    # A file below --res has no true --res version, only its own Lanczos upscale: shown, not scored.
    enc, truth, true, rows = file_rows(inr, cfg.input, cfg.res) if cfg.input else icon_rows(inr, cfg.icons, cfg.res)
    kept = [j for j, ok in enumerate(true) if ok]

    model = inr.kind
    renders = {model: inr.render(enc, cfg.res)}  # (K, 3, R, R)
    if cfg.residual:
        renders[f"{model} + residual"] = inr.render(enc, cfg.res, residual=True)  # (K, 3, R, R)
    sheet, scores = upsample_sheet(enc.images, renders, truth)  # scores: label -> (K,) dB
    save_png(sheet, claim(out, "upsample", dict(vars(cfg))) / "sheet.png")
    rows = [{**row, **({f"psnr_{k}": v[j].item() for k, v in scores.items()} if true[j] else {})}
            for j, row in enumerate(rows)]
    mean = {k: v[kept].mean().item() for k, v in scores.items()} if kept else {}
    labels = ["lanczos", *renders]
    result = {"ckpt": str(cfg.ckpt), "model": model, "train_res": inr.res, "res": cfg.res,
              "columns": ["input (nearest)", *labels, "truth"], "icons": rows, "mean_psnr": mean}
    print(f"PSNR (dB) at {cfg.res} px against the true images, from {inr.res} px:")
    print(f"  {'icon':40s} " + " ".join(f"{k:>12s}" for k in labels))
    for r in rows:
        cells = [f"{r[f'psnr_{k}']:12.2f}" if f"psnr_{k}" in r else f"{'n/a':>12s}" for k in labels]
        print(f"  {r['name'][:40]:40s} {' '.join(cells)}")
    if mean:
        print(f"  {'mean':40s} " + " ".join(f"{mean[k]:12.2f}" for k in labels))
    if len(kept) < len(rows):
        where = "as a file" if cfg.input else f"in {inr.config['data']}"
        print(f"  n/a: below {cfg.res} px {where}, so no true {cfg.res} px version (the sheet's last column is its "
              "Lanczos upscale); not scored")
    if cfg.unseen > 0:
        result["unseen_minus_lanczos"], result["unseen"] = unseen_wins(inr, cfg.res, cfg.unseen, cfg.residual)
    (out / "metrics.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {out / 'sheet.png'}")
    return result


def icon_rows(inr: api.Model, icons: str, res: int) -> tuple[api.Encoding, torch.Tensor, list[bool], list[dict]]:
    """--icons (training images by name or index, default the first 6), encoded from their observed
    pixels as in training: (encoding, truth (K, 3, R, R) from the data set at `res`, whether each
    truth is a true image, the rows' names)."""
    names, data = inr.training.names, inr.config["data"]
    keys = [k for k in icons.split(",") if k.strip()] or [str(k) for k in range(min(6, len(names)))]
    index = [resolve_index(k, names) for k in keys]
    try:
        truth_set = load_images(data, res, training_split(inr.config))
    except UserError as err:
        raise UserError(f"no true {res} px images of {data} to compare against ({err}); pick another --res") from None
    if truth_set.names != names:
        raise UserError(f"the {res} px images of {data} are not the training images: use another --res")
    true = [truth_set.sizes is None or min(truth_set.sizes[i]) >= res for i in index]
    return inr.encode(index), truth_set.images[index], true, [{"index": i, "name": names[i]} for i in index]


def file_rows(inr: api.Model, files: str, res: int) -> tuple[api.Encoding, torch.Tensor, list[bool], list[dict]]:
    """--input (image files and folders), encoded whole: as `icon_rows`, the truth being each file
    read at `res`, true where the file is at least `res` px on its shorter side."""
    paths = [Path(p.strip()) for p in files.split(",") if p.strip()]  # Paths: a missing file is never a name
    enc = inr.encode(paths)
    truth = inr.read(paths, res)  # (K, 3, R, R)
    true = [min(size) >= res for size in truth.sizes]
    return enc, truth.images, true, [{"path": str(p), "name": n} for p, n in zip(enc.inputs.paths, enc.names)]


def unseen_wins(inr: api.Model, res: int, count: int, residual: bool = False) -> tuple[dict, dict]:
    """On `count` unseen icons read whole: (the method's PSNR at `res` minus Lanczos's, per icon, as
    a spread; {column: mean PSNR, SSIM and flat-region error} for Lanczos, the method and, with
    `residual`, the method with the input's residual)."""
    run = inr.config
    source = unseen_source(run["data"], run["unseen"])
    if source is None or not inr.method.handles_unseen_images:
        raise UserError(f"--unseen: this run has no unseen split or its method ({run['model']}) cannot encode "
                        "unseen icons; use --unseen 0")
    low = load_images(source[0], run["res"], split=source[1]).images[:count]  # (K, 3, r, r)
    truth = load_images(source[0], res, split=source[1]).images[:count]  # (K, 3, R, R)
    enc = inr.encode(low)
    columns = {"lanczos": lanczos_resize(low, res), run["model"]: inr.render(enc, res)}  # (K, 3, R, R) each
    if residual:
        columns[f"{run['model']} + residual"] = inr.render(enc, res, residual=True)
    per_icon = {label: psnr(images.clamp(0, 1), truth) for label, images in columns.items()}  # label -> (K,) dB
    diff = per_icon[run["model"]] - per_icon["lanczos"]  # (K,) dB
    wins = {"icons": len(diff), "mean": diff.mean().item(), "median": diff.median().item(),
            "min": diff.min().item(), "max": diff.max().item(), "wins": int((diff > 0).sum())}
    print(f"{run['model']} minus Lanczos at {res} px on {wins['icons']} unseen icons: mean {wins['mean']:+.2f} dB, "
          f"median {wins['median']:+.2f}, min {wins['min']:+.2f}, max {wins['max']:+.2f}; "
          f"wins on {wins['wins']} of {wins['icons']}")
    flat = flat_mask(truth)  # (K, 1, R, R): the truth's flat regions, shared by the columns
    scores = {label: upsample_scores(images, truth, flat) for label, images in columns.items()}
    print(f"  {'unseen, ' + str(res) + ' px':24s} {'PSNR dB':>8s} {'SSIM':>6s} {'flat RMSE':>9s}   minus Lanczos, "
          "per icon: mean [95% interval], wins")
    for label, s in scores.items():
        line = f"  {label:24s} {s['psnr']:8.2f} {s['ssim']:6.3f} {s['flat_rmse']:9.2f}"
        if label != "lanczos":
            d = per_icon[label] - per_icon["lanczos"]  # (K,) dB
            s["minus_lanczos"] = {**spread(d.tolist()), "wins": int((d > 0).sum())}
            m, h = s["minus_lanczos"]["mean"], s["minus_lanczos"]["ci95"]
            line += f"   {m:+.2f} [{m - h:+.2f}, {m + h:+.2f}], {s['minus_lanczos']['wins']} of {len(d)}"
        print(line)
    if residual:  # paired per icon: what the residual adds to the same render
        d = per_icon[f"{run['model']} + residual"] - per_icon[run["model"]]  # (K,) dB
        scores[f"{run['model']} + residual"]["minus_render"] = gain = {**spread(d.tolist()), "wins": int((d > 0).sum())}
        print(f"  the residual minus the render alone, per icon: {gain['mean']:+.2f} dB "
              f"[{gain['mean'] - gain['ci95']:+.2f}, {gain['mean'] + gain['ci95']:+.2f}], higher on {gain['wins']} of {len(d)}")
    return wins, scores


if __name__ == "__main__":
    run_main(main)

"""Interpolate between training images: pixel cross-fade, latent and weight blends, and the
morphs of question 3 (warp-and-blend of the INRs, aligned weight-space blend; analysis/interpolation/paths.py).

    python interpolate.py --ckpt runs/hyper/ckpt.pt --a grinning_face --b cow_face
    python interpolate.py --ckpt runs/hyper/ckpt.pt --pairs runs/similarity/pairs.json --slerp
    python interpolate.py --ckpt runs/hyper/ckpt.pt --a 0 --b 1 --random-pairs 20   # + scores over 20 random pairs

Writes to --out (one subfolder per pair with --pairs): sheet.png (a row per mode, frames
t = 0 .. 1 left to right), strip_<mode>.png, <mode>.gif, metrics.json (morph error, its
evenness part pdv and its detail part, path length; see analysis/scoring/path_metrics.py) and TensorBoard events in tb/.
An existing --out is refused unless --overwrite replaces it: a second run's events written
beside the first's would show both runs' images under one tag in TensorBoard.
"""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter

from analysis.endpoints import encode_images, resolve_index, training_set, training_split
from analysis.figures import label_rows, make_grid, save_gif, save_png
from analysis.interpolation.known_midpoints import spread
from analysis.interpolation.pair_choice import sample_pairs
from analysis.interpolation.paths import MODES, Pair, check_path_mode, modes_for, path_frames
from analysis.interpolation.warp_cache import WarpCache
from analysis.scoring.path_metrics import path_metrics
from cli import check_out_folder, parse_config, resolve_device, run_main
from data.images import lanczos_resize, load_images
from errors import UserError
from runfolder import check_replace, claim, holds_files
from train.checkpoint import method_from_checkpoint

log = logging.getLogger(__name__)


@dataclass
class InterpolateConfig:
    """Interpolate between training images of a checkpoint: cross-fade, blends, warp-and-blend and aligned morphs."""

    ckpt: str = "runs/hyper/ckpt.pt"  # checkpoint of any method (hyper, concat, maml)
    a: str = "0"                      # first image: index into the training set, or its name
    b: str = "1"                      # second image
    pairs: str = ""                   # pairs.json from similarity.py: blend each of its pairs (overrides --a/--b)
    frames: int = 9                   # frames from t = 0 to t = 1, endpoints included
    res: int = 128                    # render resolution
    modes: str = ""                   # comma list of pixel, latent, weights, warp, aligned ("" = all that apply)
    random_pairs: int = 0             # also score this many seeded random pairs (metrics only, mean and spread,
    #                                   rendered at the training resolution, where the path metrics are calibrated)
    seed: int = 0                     # of the random pairs
    pair_pool: int = 0                # draw the random pairs among the first N training images (0 = all), so
    #                                   methods trained on more images (modulated) blend the same pairs as the rest
    slerp: bool = False               # spherical instead of linear blends (latent and weights)
    pixel_source: str = "render"      # the pixel cross-fade blends the method's endpoint renders, or the "truth"
    warps: str = ""                   # a file of fitted warps to reuse and extend (a study shares one across
    #                                   methods: a warp depends only on the two images); "" = fit in memory
    out: str = "runs/interpolate"
    overwrite: bool = False           # replace an existing --out (else refused)
    device: str = "auto"


def real_images(ckpt: dict, train_images: torch.Tensor, res: int) -> torch.Tensor:
    """The data set's true images at `res` (N, 3, res, res) for the "truth" cross-fade;
    the Lanczos upsample of the training images when the data set has no such resolution."""
    try:
        real = load_images(ckpt["config"]["data"], res, training_split(ckpt["config"]))
        if real.names == ckpt["names"]:
            return real.images
    except UserError as err:
        log.info("no true %d px images (%s): the truth cross-fade uses Lanczos upsamples", res, err)
    return lanczos_resize(train_images, res)


def parse_modes(text: str, method, rep) -> list[str]:
    """--modes -> checked list; "" = every mode that applies to the method."""
    if not text.strip():
        return modes_for(method, rep)
    modes = [m.strip() for m in text.split(",") if m.strip()]
    for mode in modes:
        check_path_mode(method, rep, mode)
    return modes


def interpolate_pair(cfg: InterpolateConfig, method, ckpt: dict, images, observed, real: torch.Tensor,
                     ia: int, ib: int, out: Path, writer: SummaryWriter, tag: str, warps: WarpCache) -> dict:
    """All modes for one pair: writes images into `out`, logs under `tag`, returns the metrics."""
    names = ckpt["names"]
    rep = encode_images(method, images, observed, [ia, ib])
    pair = Pair(images.images[ia], images.images[ib], rep.select(0), rep.select(1), warps)
    modes = parse_modes(cfg.modes, method, pair.rep_a)
    ts = [k / (cfg.frames - 1) for k in range(cfg.frames)]  # exact 0.0 and 1.0 at the ends
    kind = "slerp" if cfg.slerp else "lerp"
    ends = method.render(rep, cfg.res).cpu().clamp(0, 1)  # (2, 3, res, res) the endpoint renders
    truth = (real[ia], real[ib]) if cfg.pixel_source == "truth" else (ends[0], ends[1])
    rows, metrics = [], {}
    for mode in modes:
        frames = path_frames(method, pair, ts, mode, cfg.res, kind,
                             endpoints=truth if mode == "pixel" else None)  # (T, 3, res, res)
        m = {k: v for k, v in path_metrics(frames, ts).items() if k != "steps"}
        if mode != "pixel" or cfg.pixel_source == "render":
            # how far the path's ends are from the endpoint renders (float noise only)
            m["endpoint_error"] = max((frames[0] - ends[0]).abs().max().item(), (frames[-1] - ends[1]).abs().max().item())
        metrics[mode] = m
        strip = make_grid(frames, ncol=len(frames))
        save_png(strip, out / f"strip_{mode}.png")
        save_gif(list(frames), out / f"{mode}.gif")
        writer.add_image(f"{tag}/{mode}", strip, 0)
        rows.append(frames)
    label = [f"{m} ({kind})" if m != "pixel" else f"pixel ({cfg.pixel_source})" for m in modes]
    sheet = label_rows(make_grid(torch.cat(rows), ncol=cfg.frames), label, cfg.res + 2, margin=96)
    save_png(sheet, out / "sheet.png")
    writer.add_image(f"{tag}/sheet", sheet, 0)
    table = metrics_table(metrics)
    writer.add_text(f"{tag}/metrics", f"{names[ia]} -> {names[ib]}, {kind}\n\n{table}", 0)
    print(f"\n{names[ia]} ({ia}) -> {names[ib]} ({ib}), {kind}, {cfg.frames} frames at {cfg.res} px\n{table}")
    result = {"a": {"index": ia, "name": names[ia]}, "b": {"index": ib, "name": names[ib]}, "blend": kind,
              "ts": ts, "res": cfg.res, "pixel_source": cfg.pixel_source, "modes": metrics}
    (out / "metrics.json").write_text(json.dumps(result, indent=2))
    return result


@torch.no_grad()
def score_random_pairs(cfg: InterpolateConfig, method, images, observed, modes: list[str], warps: WarpCache) -> dict:
    """Path metrics of every mode over `cfg.random_pairs` seeded random pairs (no pictures):
    {mode: {metric: spread dict (mean, std, ci95, n)}} and the pairs."""
    ts = [k / (cfg.frames - 1) for k in range(cfg.frames)]
    kind = "slerp" if cfg.slerp else "lerp"
    pairs = sample_pairs(min(cfg.pair_pool or len(images.names), len(images.names)), cfg.random_pairs, cfg.seed)
    res = images.images.shape[-1]  # the training resolution
    values: dict[str, dict[str, list[float]]] = {m: {} for m in modes}
    for ia, ib in pairs:
        rep = encode_images(method, images, observed, [ia, ib])
        pair = Pair(images.images[ia], images.images[ib], rep.select(0), rep.select(1), warps)
        for mode in modes:
            m = path_metrics(path_frames(method, pair, ts, mode, res, kind), ts)
            for key in ("morph_error", "pdv", "band_energy_error", "path_length"):
                values[mode].setdefault(key, []).append(m[key])
    return {"pairs": [[a, b] for a, b in pairs],
            "modes": {mode: {k: spread(v) for k, v in vals.items()} for mode, vals in values.items()}}


def metrics_table(metrics: dict) -> str:
    """A markdown table, one row per mode (TensorBoard renders it; readable as plain text)."""
    lines = ["| mode | morph error (lower = better) | pdv (unevenness) | band-energy error (detail lost or added) "
             "| path length (diagnostic) |", "|---|---|---|---|---|"]
    for mode, m in metrics.items():
        lines.append(f"| {mode} | {m['morph_error']:.3f} | {m['pdv']:.3f} | {m['band_energy_error']:.3f} | {m['path_length']:.2f} |")
    return "\n".join(lines)


def read_pairs(path: str, names: list[str]) -> list[tuple[int, int, str]]:
    """pairs.json from similarity.py -> [(a, b, label)]."""
    try:
        data = json.loads(Path(path).read_text())
        pairs = [(resolve_index(p["a"]["name"], names), resolve_index(p["b"]["name"], names), p.get("kind", "pair"))
                 for p in data["pairs"]]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UserError(f"--pairs {path}: not a pairs.json written by similarity.py ({err})") from None
    if not pairs:
        raise UserError(f"--pairs {path} lists no pairs: rerun similarity.py")
    return pairs


def main(argv=None) -> dict:
    cfg, _ = parse_config(InterpolateConfig, argv, choices={"pixel_source": ("render", "truth")})
    if cfg.frames < 2:
        raise UserError(f"--frames must be at least 2 (the two endpoints), got {cfg.frames}")
    bad = [m for m in cfg.modes.split(",") if m.strip() and m.strip() not in MODES]
    if bad:
        raise UserError(f"unknown mode {bad[0]!r} in --modes: use a comma list of {', '.join(MODES)}")
    if cfg.random_pairs < 0:
        raise UserError(f"--random-pairs must be >= 0, got {cfg.random_pairs}")
    out = check_out_folder(cfg.out)
    fresh = not holds_files(out)
    if not fresh and not cfg.overwrite:
        raise UserError(f"output folder {out} already exists (an earlier interpolation): pass --overwrite to replace "
                        "it, or another --out")
    if not fresh and Path(cfg.ckpt).resolve().is_relative_to(out.resolve()):
        raise UserError(f"--out {out} holds the checkpoint {cfg.ckpt}: --overwrite would delete it; pass another --out")
    if not fresh:
        check_replace(out)  # only a folder a script made (runfolder.py)
    method, ckpt = method_from_checkpoint(cfg.ckpt, resolve_device(cfg.device))
    images, observed = training_set(ckpt)
    names = ckpt["names"]
    if cfg.pairs:
        pairs = read_pairs(cfg.pairs, names)
    else:
        pairs = [(resolve_index(cfg.a, names), resolve_index(cfg.b, names), "pair")]
    same = [a for a, b, _ in pairs if a == b]
    if same:
        raise UserError(f"both ends of a pair are the same image ({names[same[0]]}): pick two different images")
    real = real_images(ckpt, images.images, cfg.res)  # (N, 3, res, res)
    warps = WarpCache(cfg.warps or None)  # a bad file is refused here, before --out is replaced
    if not fresh:  # every argument checked: only now is the earlier run replaced
        shutil.rmtree(out)
    claim(out, "interpolate", dict(vars(cfg)))
    writer = SummaryWriter(out / "tb")
    results = []
    for k, (ia, ib, kind) in enumerate(pairs):
        folder = out if len(pairs) == 1 else out / f"{k}_{kind}_{names[ia]}__{names[ib]}"
        folder.mkdir(parents=True, exist_ok=True)
        tag = "interpolation" if len(pairs) == 1 else f"interpolation_{k}_{kind}"
        results.append(interpolate_pair(cfg, method, ckpt, images, observed, real, ia, ib, folder, writer, tag, warps))
    summary = {"ckpt": str(cfg.ckpt), "model": ckpt["config"]["model"], "pairs": results}
    if cfg.random_pairs:
        modes = list(results[0]["modes"])
        summary["random"] = score_random_pairs(cfg, method, images, observed, modes, warps)
        lines = [f"| mode | morph error over {cfg.random_pairs} random pairs (mean +- std) | pdv | band-energy error |",
                 "|---|---|---|---|"]
        for mode, m in summary["random"]["modes"].items():
            lines.append(f"| {mode} | {m['morph_error']['mean']:.3f} +- {m['morph_error']['std']:.3f} | "
                         f"{m['pdv']['mean']:.3f} | {m['band_energy_error']['mean']:.3f} |")
        writer.add_text("interpolation/random_pairs", "\n".join(lines), 0)
        print("\n" + "\n".join(lines))
    writer.close()
    warps.save()
    if len(pairs) > 1 or cfg.random_pairs:
        (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    print(f"\nwrote {out}")
    return summary


if __name__ == "__main__":
    run_main(main)

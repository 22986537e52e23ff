"""Interpolate between two images: pixel cross-fade, latent and weight blends, and the
morphs of question 3 (warp-and-blend of the INRs, aligned weight-space blend; analysis/interpolation/paths.py).

    python interpolate.py --ckpt runs/hyper/ckpt.pt --a grinning_face --b cow_face
    python interpolate.py --ckpt runs/modulated/ckpt.pt --a cat.png --b dog.png --modes aligned,pixel
    python interpolate.py --ckpt runs/hyper/ckpt.pt --pairs runs/similarity/pairs.json --slerp
    python interpolate.py --ckpt runs/hyper/ckpt.pt --a 0 --b 1 --random-pairs 20   # + scores over 20 random pairs

Writes to --out (one subfolder per pair with --pairs): sheet.png (a row per mode, frames
t = 0 .. 1 left to right), strip_<mode>.png, <mode>.gif, metrics.json (morph error, its
evenness part pdv and its detail part, path length; see analysis/scoring/path_metrics.py) and TensorBoard events in tb/.
An existing --out is refused unless --overwrite replaces it: a second run's events written
beside the first's would show both runs' images under one tag in TensorBoard.

--a and --b take training images (by index or name) or image files of your own, read as training
reads a folder and encoded whole (api/inputs.py; a bad file is a one-line error); --pairs reads
the files a pairs.json of `similarity.py --images` names. --random-pairs scores training images.
"""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter

import api
from analysis.endpoints import resolve_index, training_split
from analysis.figures import label_columns, label_rows, make_grid, save_gif, save_png
from analysis.interpolation.known_midpoints import spread
from analysis.interpolation.pair_choice import sample_pairs
from analysis.interpolation.paths import MODES, check_path_mode, modes_for
from analysis.interpolation.warp_cache import WarpCache
from analysis.scoring.path_metrics import path_metrics
from common.cli import check_out_folder, encode_steps, parse_config, run_main, steps_field
from data.images import lanczos_resize, load_images
from common.errors import UserError
from models.method import Rep
from common.runfolder import check_replace, claim, holds_files

log = logging.getLogger(__name__)


@dataclass
class InterpolateConfig:
    """Interpolate between two images (training images or your own files): cross-fade, blends, warp-and-blend and
    aligned morphs."""

    ckpt: str = "runs/hyper/ckpt.pt"  # checkpoint of any method (hyper, concat, maml)
    a: str = "0"                      # first image: an image file (PNG/JPEG/GIF), or a training image's index or name
    b: str = "1"                      # second image
    pairs: str = ""                   # pairs.json from similarity.py: blend each of its pairs (overrides --a/--b)
    frames: int = 9                   # frames from t = 0 to t = 1, endpoints included
    res: int = 128                    # render resolution
    modes: str = ""                   # comma list of pixel, latent, weights, warp, aligned, aligned_residual
    #                                   ("" = all that apply, aligned_residual aside: it reads the end pixels too)
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
    steps: int = steps_field()        # gradient steps of every encode on the path (the ends, the aligned views;
    #                                   -1 = as trained: modulated 0, MAML 3)


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


def true_image(inr: api.Model, end: api.Encoding, res: int) -> torch.Tensor:
    """The true image of one end at `res` (3, res, res) for the "truth" cross-fade: a file read at
    `res`, a training image from its data set (`real_images`)."""
    path, row = end.inputs.paths[0], end.inputs.rows[0]
    if path is not None:
        return inr.read(path, res).images[0]
    return real_images(inr.checkpoint, inr.training.loaded()[0].images, res)[row]


def endpoint(entry: dict, names: list[str]) -> int | Path:
    """A pairs.json end -> what `Model.encode` reads: its file when it has one, else its training row."""
    return Path(entry["path"]) if entry.get("path") else resolve_index(entry["name"], names)


def same_image(ea: api.Encoding, eb: api.Encoding) -> bool:
    """Whether two one-image encodings are one training image or one file."""
    (ra, rb), (pa, pb) = (ea.inputs.rows[0], eb.inputs.rows[0]), (ea.inputs.paths[0], eb.inputs.paths[0])
    return (ra is not None and ra == rb) or (pa is not None and pb is not None and pa.resolve() == pb.resolve())


def describe(end: api.Encoding) -> dict:
    """One end of a pair for metrics.json: its training row (None for a file), name and file."""
    path = end.inputs.paths[0]
    return {"index": end.inputs.rows[0], "name": end.names[0], **({"path": str(path)} if path else {})}


def interpolate_pair(cfg: InterpolateConfig, inr: api.Model, ea: api.Encoding, eb: api.Encoding, out: Path,
                     writer: SummaryWriter, tag: str) -> dict:
    """All modes for one pair of one-image encodings: writes images into `out`, logs under `tag`,
    returns the metrics."""
    name_a, name_b = ea.names[0], eb.names[0]
    modes = parse_modes(cfg.modes, inr.method, ea.rep)
    ts = [k / (cfg.frames - 1) for k in range(cfg.frames)]  # exact 0.0 and 1.0 at the ends
    kind = "slerp" if cfg.slerp else "lerp"
    ends = inr.render(Rep.cat([ea.rep, eb.rep]), cfg.res)  # (2, 3, res, res) the endpoint renders
    truth = ((true_image(inr, ea, cfg.res), true_image(inr, eb, cfg.res)) if cfg.pixel_source == "truth"
             else (ends[0], ends[1]))
    rows, metrics = [], {}
    for mode in modes:
        frames = inr.interpolate(ea, eb, ts, mode, cfg.res, kind,
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
    grid = make_grid(torch.cat(rows), ncol=cfg.frames)
    sheet = label_rows(grid, label, cfg.res + 2, margin=96)
    columns = [f"{name_a} (t=0)" if t == 0 else f"{name_b} (t=1)" if t == 1 else f"t={t:.2f}" for t in ts]
    sheet = label_columns(sheet, [c if len(c) <= cfg.res // 6 else c.split(" ")[-1] for c in columns], cfg.res,
                          left=sheet.shape[-1] - grid.shape[-1])  # a name too long for its column: (t=0) only
    save_png(sheet, out / "sheet.png")
    writer.add_image(f"{tag}/sheet", sheet, 0)
    table = metrics_table(metrics)
    writer.add_text(f"{tag}/metrics", f"{name_a} -> {name_b}, {kind}\n\n{table}", 0)
    where = [end.inputs.rows[0] if end.inputs.paths[0] is None else end.inputs.paths[0] for end in (ea, eb)]
    print(f"\n{name_a} ({where[0]}) -> {name_b} ({where[1]}), {kind}, {cfg.frames} frames at {cfg.res} px\n{table}")
    result = {"a": describe(ea), "b": describe(eb), "blend": kind,
              "ts": ts, "res": cfg.res, "pixel_source": cfg.pixel_source, "modes": metrics}
    (out / "metrics.json").write_text(json.dumps(result, indent=2))
    return result


@torch.no_grad()
def score_random_pairs(cfg: InterpolateConfig, inr: api.Model, modes: list[str]) -> dict:
    """Path metrics of every mode over `cfg.random_pairs` seeded random pairs of training images
    (no pictures): {mode: {metric: spread dict (mean, std, ci95, n)}} and the pairs."""
    ts = [k / (cfg.frames - 1) for k in range(cfg.frames)]
    kind = "slerp" if cfg.slerp else "lerp"
    count = len(inr.training.names)
    pairs = sample_pairs(min(cfg.pair_pool or count, count), cfg.random_pairs, cfg.seed)
    values: dict[str, dict[str, list[float]]] = {m: {} for m in modes}
    for ia, ib in pairs:
        enc = inr.encode([ia, ib])
        for mode in modes:  # at the training resolution, where the path metrics are calibrated
            m = path_metrics(inr.interpolate(enc.select(0), enc.select(1), ts, mode, inr.res, kind), ts)
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


def read_pairs(path: str, names: list[str]) -> list[tuple[int | Path, int | Path, str]]:
    """pairs.json from similarity.py -> [(a, b, label)], each end a training row, or the file it
    names (similarity.py --images)."""
    try:
        data = json.loads(Path(path).read_text())
        pairs = [(endpoint(p["a"], names), endpoint(p["b"], names), p.get("kind", "pair")) for p in data["pairs"]]
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
        check_replace(out)  # only a folder a script made (common/runfolder.py)
    inr = api.load(cfg.ckpt, cfg.device, steps=encode_steps(cfg.steps))
    ends = read_pairs(cfg.pairs, inr.training.names) if cfg.pairs else [(cfg.a, cfg.b, "pair")]
    # names, indices or files (--a cat.png): every end encoded, so a bad one is refused before --out is replaced
    pairs = [(inr.encode_one(a, "--a"), inr.encode_one(b, "--b"), kind) for a, b, kind in ends]
    same = [ea.names[0] for ea, eb, _ in pairs if same_image(ea, eb)]
    if same:
        raise UserError(f"both ends of a pair are the same image ({same[0]}): pick two different images")
    inr.warps = warps = WarpCache(cfg.warps or None)  # a bad file is refused here, before --out is replaced
    if not fresh:  # every argument checked: only now is the earlier run replaced
        shutil.rmtree(out)
    claim(out, "interpolate", dict(vars(cfg)))
    writer = SummaryWriter(out / "tb")
    results = []
    for k, (ea, eb, kind) in enumerate(pairs):
        folder = out if len(pairs) == 1 else out / f"{k}_{kind}_{ea.names[0]}__{eb.names[0]}"
        folder.mkdir(parents=True, exist_ok=True)
        tag = "interpolation" if len(pairs) == 1 else f"interpolation_{k}_{kind}"
        results.append(interpolate_pair(cfg, inr, ea, eb, folder, writer, tag))
    summary = {"ckpt": str(cfg.ckpt), "model": inr.kind, "pairs": results}
    if cfg.random_pairs:
        modes = list(results[0]["modes"])
        summary["random"] = score_random_pairs(cfg, inr, modes)
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

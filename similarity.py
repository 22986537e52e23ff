"""Which training images a method finds alike, and the pairs to interpolate.

    python similarity.py --ckpt runs/hyper/ckpt.pt --out runs/similarity
    python interpolate.py --ckpt runs/hyper/ckpt.pt --pairs runs/similarity/pairs.json

Encodes every training image (from its observed pixels, as in training), prints the most
similar pairs, and writes to --out: similarity_<latent|weights>.png and pixel_psnr.png
heatmaps (rows/columns in one shared order that puts alike images together, see
analysis.interpolation.similarity.spectral_order), pairs.json (the chosen pairs, names + indices + the rule)
and pairs.png (one chosen pair per row, labelled with its kind, similarity and names), and similarity_vs_morph_error.png: over --correlate
random pairs, how the similarity relates to the morph error of the method's own blend (its
Spearman rho decides the rule, analysis/interpolation/pair_choice.py). Measures: analysis/interpolation/similarity.py.

    python similarity.py --ckpt runs/modulated/ckpt.pt --images my_folder/ --out runs/similarity_mine

--measure aligned compares each pair after lining it up (the warp of the aligned interpolation,
fitted per pair): only the --correlate random pairs are measured (a warp fit each), the pairs are
chosen among them, and the score it is correlated with is the morph error of the aligned path.

--images compares your own images instead (a folder or a comma list of files, read as training
reads a folder and encoded whole; a bad file is a one-line error); pairs.json then names their
files, so `interpolate.py --pairs` blends them.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch

import api
from analysis.endpoints import unseen_images
from analysis.figures import label_rows, make_grid, save_heatmap, save_png, upscale_nearest
from analysis.interpolation.aligned_blend import aligned_frames
from analysis.interpolation.blend import interpolation_path
from analysis.interpolation.pair_choice import choose_pairs, correlate, sample_pairs, scatter_png
from analysis.scoring.path_metrics import path_metrics
from analysis.interpolation.warp_cache import WarpCache
from analysis.interpolation.similarity import (
    aligned_similarity,
    choose_measure,
    cosine_matrix,
    pixel_psnr,
    rep_similarities,
    spectral_order,
)
from common.cli import check_out_folder, encode_steps, parse_config, run_main, steps_field
from common.errors import UserError
from common.runfolder import check_reuse, claim

MEASURES = ("auto", "latent", "weights", "pixel", "aligned")
PSNR_CAP = 100.0  # dB shown for identical images when no pair differs (their PSNR is +inf)


@dataclass
class SimilarityConfig:
    """Similarity matrices of a checkpoint's training images (or of your own), and the pairs to interpolate."""

    ckpt: str = "runs/hyper/ckpt.pt"  # checkpoint of any method (hyper, concat, maml)
    images: str = ""                  # a folder or comma list of your own image files to compare ("" = training images)
    measure: str = "auto"             # what "similar" means for pair selection: auto (weights when the
                                      # method has them, else latent), latent, weights, pixel, or aligned (auto's
                                      # measure after a per-pair warp lines the two up; encoders that read pixels)
    pairs: int = 4                    # how many pairs to choose (the last one is the hard, least similar pair)
    correlate: int = 100              # random pairs over which similarity is correlated with the path score
    frames: int = 9                   # frames of each scored path (the path metrics were calibrated at 9)
    top: int = 10                     # how many most-similar pairs to print
    pool: int = 0                     # compare only the first N training images (0 = all; icons-all's first 100 are
    #                                   icons100, the exercise's set)
    unseen: int = 0                   # compare this many unseen test icons (read whole) instead of training images
    seed: int = 0                     # of the random pairs the similarity is correlated over (a second draw: 1)
    out: str = "runs/similarity"
    steps: int = steps_field()        # gradient steps on each image's representation when encoding (-1 = as trained:
    #                                   modulated 0, MAML 3); 3 or 10 sharpen modulated's reading (docs/modulated.md)
    device: str = "auto"


def main(argv=None) -> dict:
    cfg, _ = parse_config(SimilarityConfig, argv, choices={"measure": MEASURES})
    if cfg.pairs < 2 or cfg.top < 0 or cfg.correlate < 3 or cfg.frames < 3:
        raise UserError("--pairs must be >= 2, --top >= 0, --correlate >= 3 and --frames >= 3")
    out = check_out_folder(cfg.out)
    check_reuse(out, "similarity")  # a rerun replaces its own files, never a stranger's (common/runfolder.py)
    inr = api.load(cfg.ckpt, cfg.device, steps=encode_steps(cfg.steps))
    method = inr.method
    if cfg.images and cfg.unseen:
        raise UserError("--images and --unseen both name the images to compare: pass one of them")
    if cfg.images:  # your own files, read whole; else the training images through their observed pixels
        enc = inr.encode([Path(p.strip()) for p in cfg.images.split(",") if p.strip()])
    elif cfg.unseen:
        unseen = unseen_images(inr.config, cfg.unseen)
        if unseen is None:
            raise UserError(f"{inr.config['data']} has no unseen split: pass --images with your own files, not --unseen")
        enc = inr.encode(unseen)
    else:
        count = len(inr.training.names)
        enc = inr.encode(list(range(min(cfg.pool, count) if cfg.pool else count)))
    names, rep = enc.names, enc.rep
    if len(names) < 2:
        given = f"--images {cfg.images} holds" if cfg.images else f"{cfg.ckpt} was trained on"
        raise UserError(f"{given} {len(names)} image: similarity needs at least two")

    sims = rep_similarities(rep)  # (N, N) cosine similarities by representation
    pix = pixel_psnr(enc.images)  # (N, N) dB, +inf diagonal
    aligns = sims and method.handles_unseen_images  # aligned views are new images: the encoder must read pixels
    measure = choose_measure(cfg.measure, [*sims, *(["aligned"] if aligns else [])], type(method).__name__)
    base = choose_measure("auto", list(sims), type(method).__name__)  # what the aligned measure compares
    warps = WarpCache()  # in memory: each sampled pair's warp serves its similarity and its path
    if measure == "aligned":  # per pair: only the correlated pairs are measured (nan elsewhere: not candidates)
        chosen = torch.full_like(pix, float("nan"))  # (N, N)
        reference = rep.detach()  # the set the aligned views are centred on, once
        for i, j in sample_pairs(len(names), cfg.correlate, cfg.seed):
            warp = warps.fit(enc.images[i], enc.images[j])
            chosen[i, j] = chosen[j, i] = aligned_similarity(method, enc.images[i], enc.images[j], warp, base, reference)
    else:
        chosen = pix if measure == "pixel" else sims[measure]

    claim(out, "similarity", dict(vars(cfg)))
    order = spectral_order(sims.get(measure, cosine_matrix(enc.images)))  # (N,) shared display order
    reorder = (order[:, None], order[None, :])  # rows and columns alike
    for name, sim in sims.items():
        save_heatmap(sim[reorder], out / f"similarity_{name}.png", -1.0, 1.0, f"{name} cosine ({len(names)} images)")
    # Identical images (the diagonal, or a file given twice) are +inf dB: shown at the largest finite
    # value, or at PSNR_CAP when every pair is identical, so that the colour range stays finite.
    finite = pix[torch.isfinite(pix)]
    top = finite.max().item() if finite.numel() else PSNR_CAP
    shown = pix.clamp(max=top)
    save_heatmap(shown[reorder], out / "pixel_psnr.png", min(shown.min().item(), top - 1), top, "pixel PSNR (dB)")

    # Which pairs interpolate well? Score the method's own blend over random pairs and ask
    # whether the similarity predicts it (analysis/interpolation/pair_choice.py); the rule follows the answer.
    blend = "weights" if rep.params is not None else "latent" if method.decodes_latent else "pixel"
    ts = [k / (cfg.frames - 1) for k in range(cfg.frames)]

    def score(i: int, j: int) -> float:
        if measure == "aligned":  # the path this measure is for: the aligned blend along the pair's warp
            warp = warps.fit(enc.images[i], enc.images[j])
            frames = aligned_frames(method, enc.images[i], enc.images[j], warp, ts, inr.res, base)  # (T, 3, r, r)
        else:
            frames = interpolation_path(method, rep.select(i), rep.select(j), ts, blend, inr.res)  # (T, 3, r, r)
        return path_metrics(frames, ts)["morph_error"]

    corr = correlate(chosen, score, cfg.correlate, cfg.seed)
    path = "aligned path" if measure == "aligned" else f"{blend} blend"
    scatter_png(corr["similarity"], corr["score"], out / "similarity_vs_morph_error.png",
                f"{measure} similarity vs morph error of the {path}, rho = {corr['spearman']:.2f} "
                f"({corr['count']} pairs)", xlabel=f"{measure.removesuffix('s')} similarity (cosine)", ylabel="morph error (lower = better)")
    pix_ok = pix < (finite.median() if finite.numel() else PSNR_CAP)  # (N, N): pairs that look different in pixels
    pairs, rule = choose_pairs(chosen, corr["spearman"], corr["count"], higher_is_better=False, count=cfg.pairs,
                               eligible=pix_ok)
    iu = torch.triu_indices(len(names), len(names), offset=1)  # (2, M)
    sim_flat = chosen[iu[0], iu[1]].nan_to_num(nan=-math.inf)  # (M,): an unmeasured pair last
    print(f"most similar pairs by {measure} ({type(method).__name__}):")
    for m in torch.argsort(sim_flat, descending=True)[:min(cfg.top, int(torch.isfinite(sim_flat).sum()))].tolist():
        a, b = int(iu[0, m]), int(iu[1, m])
        print(f"  {sim_flat[m]:+.3f}  {names[a]} ({a}) ~ {names[b]} ({b})   pixel PSNR {pix[a, b]:.1f} dB")
    low, high = corr["ci95"]
    print(f"Spearman rho of {measure} similarity with the morph error over {corr['count']} random pairs (seed "
          f"{cfg.seed}): {corr['spearman']:+.2f}, 95% interval [{low:+.2f}, {high:+.2f}]")
    print(f"rule: {rule}\nchosen pairs:")
    for p in pairs:
        p["pixel_psnr"] = float(pix[p["a"], p["b"]])  # inf for identical images, null in pairs.json
        p["a"], p["b"] = end(enc, p["a"]), end(enc, p["b"])
        print(f"  {p['kind']:10s} {p['similarity']:+.3f}  {p['a']['name']} ~ {p['b']['name']}   "
              f"pixel PSNR {p['pixel_psnr']:.1f} dB")

    if pairs:
        idx = [i for p in pairs for i in (p["a"]["index"], p["b"]["index"])]
        grid = make_grid(upscale_nearest(enc.images[idx], 96), ncol=2)  # a pair per row
        labels = [f"{p['kind']}, similarity {p['similarity']:+.2f}\n{p['a']['name']}\n{p['b']['name']}" for p in pairs]
        save_png(label_rows(grid, labels, row_height=98), out / "pairs.png")  # the margin fits the names
    result = {"ckpt": str(cfg.ckpt), "model": inr.kind, "images": cfg.images, "measure": measure, "rule": rule,
              "blend_scored": "aligned" if measure == "aligned" else blend, "spearman": corr["spearman"], "spearman_ci95": corr["ci95"],
              "correlated_pairs": corr["count"], "seed": cfg.seed,
              "significant": corr["significant"], "pairs": pairs, "order": order.tolist()}
    out.mkdir(parents=True, exist_ok=True)
    # Strict JSON: inf (identical images) and nan (a correlation over one pair) are written as null.
    strict = [{**p, "pixel_psnr": finite_or_none(p["pixel_psnr"])} for p in pairs]
    (out / "pairs.json").write_text(json.dumps({**result, "pairs": strict, "spearman": finite_or_none(corr["spearman"]),
                                                "spearman_ci95": [finite_or_none(v) for v in corr["ci95"]]},
                                               indent=2, allow_nan=False))
    print(f"wrote {out}")
    return result


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def end(enc: api.Encoding, k: int) -> dict:
    """Image k of the compared set for pairs.json: its row, name and, for a file, the file, which
    `interpolate.py --pairs` then reads."""
    path = enc.inputs.paths[k]
    return {"index": k, "name": enc.names[k], **({"path": str(path)} if path is not None else {})}


if __name__ == "__main__":
    run_main(main)

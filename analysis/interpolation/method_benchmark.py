"""Any method's interpolations on the known-midpoint benchmark (`analysis.interpolation.known_midpoints`).

    warps = WarpCache()                   # each case's warp, fitted on first use and shared by every method
    scores = known_midpoint_scores(method, cases, MODES, warps)
    # {mode: known_midpoints.evaluate dict, or None where the mode or the method does not apply}
    ends = endpoint_psnr(method, cases)   # spread dict of the endpoint renders' PSNR, or None
    refs = reference_scores(cases, mean)  # {reference: dict} for pixel/crossfade, hold/nearest, mean
    print(table({"hyper": scores, **{r: {"true ends": s} for r, s in refs.items()}}))

For every case the method encodes `case.start` and `case.end` (res px images, every pixel
observed; index = a dummy 0..2C-1, as these are not training images), then renders the
frames at `case.ts` with `analysis.interpolation.paths.path_frames` for each mode: "latent" (decode the
blended latent), "weights" (decode the blended SIREN weights), "warp" (warp-and-blend of the
two endpoint INRs), "aligned" (weights blended after aligning by the warp), "aligned_residual" (the same with the
ends' residuals carried along, so it reads the true end pixels too), "pixel" (a
cross-fade of the method's OWN endpoint renders, so it separates what the blend adds from
what the endpoints lose). The warp of a case is fitted once on its two endpoint images, with
no knowledge of the change, and shared by every method and the "pixel/warp" reference.
Only methods that can encode unseen images (`handles_unseen_images`) are scored; for others,
and for modes a method lacks (concat has no weights), the entry is None ("n/a" in `table`).

Every dict is `known_midpoints.evaluate`'s (per kind and "all": mean, std, ci95, n of frame
PSNR and SSIM; "cases") plus "by_t": the same spreads at each t of the cases (`score_paths`).
The endpoint PSNR caps what a method's own paths can score: an in-between can hardly be better
than the method's reconstructions of the start and the end ("aligned_residual" puts the true
end pixels back, so its cap is the pixel warp's).
"""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import torch

from analysis.interpolation.known_midpoints import (
    REFERENCES,
    Case,
    evaluate,
    psnr,
    reference_frames,
    score_frames,
    spread,
)
from analysis.interpolation.morph import morph_frames
from analysis.interpolation.paths import Pair, applies, path_frames
from analysis.interpolation.sampling import image_sampler
from analysis.interpolation.warp_cache import WarpCache
from analysis.scoring.evaluate import encode_all
from models.method import Method, Rep

MODES = ("latent", "weights", "warp", "aligned", "pixel")  # the study's; midpoint_bench adds "aligned_residual"


def encode_endpoints(method: Method, cases: Sequence[Case]) -> Rep:
    """Encode every case's start (rows 0..C-1) and end (rows C..2C-1), all pixels observed:
    a detached Rep of 2C images. Eval mode (the encoder's running statistics)."""
    images = torch.cat([torch.stack([c.start for c in cases]), torch.stack([c.end for c in cases])])  # (2C, 3, H, W)
    masks = torch.ones_like(images[:, :1], dtype=torch.bool)  # (2C, 1, H, W)
    return encode_all(method, images, masks)


@contextmanager
def _in_eval(method: Method):
    """The method in eval mode, its previous mode restored afterwards."""
    was = method.training
    method.eval()
    try:
        yield
    finally:
        method.train(was)


def known_midpoint_scores(method: Method, cases: Sequence[Case], modes: Sequence[str] = MODES,
                          warps: WarpCache | None = None) -> dict:
    """{mode: `known_midpoints.evaluate` dict} for each of `modes`; None for a mode that does
    not apply to the method, and for every mode when the method cannot encode unseen images.
    warps: where the cases' warps are kept (fitted on first use; a fresh cache when not given)."""
    if not method.handles_unseen_images:
        return {mode: None for mode in modes}
    warps = WarpCache() if warps is None else warps  # fitted on first use, once per case
    with _in_eval(method):
        rep = encode_endpoints(method, cases)
        n, res = len(cases), cases[0].start.shape[-1]
        pairs = [Pair(c.start, c.end, rep.select(i), rep.select(n + i), warps) for i, c in enumerate(cases)]
        out = {}
        for mode in modes:
            if not applies(method, rep.select(0), mode):
                out[mode] = None
                continue
            frames = [path_frames(method, pair, c.ts, mode, res) for pair, c in zip(pairs, cases)]  # [(T, 3, res, res)]
            out[mode] = score_paths(cases, frames)
    return out


def score_paths(cases: Sequence[Case], frames: Sequence[torch.Tensor]) -> dict:
    """`known_midpoints.evaluate` of the given frames (frames[i]: (T, 3, res, res) at
    cases[i].ts), plus "by_t": {t: {"frame_psnr": spread, "ssim": spread}} over the cases at
    each t of the first case's ts (every case of `build_benchmark` shares them)."""
    by_id = {id(c): f for c, f in zip(cases, frames)}
    out = evaluate(cases, lambda c: by_id[id(c)])
    by_t = {}
    for j, t in enumerate(cases[0].ts):
        scores = [score_frames(f[j:j + 1], c.truth[j:j + 1]) for c, f in zip(cases, frames)]
        by_t[f"{t:g}"] = {m: spread([s[m] for s in scores]) for m in ("frame_psnr", "ssim")}
    out["by_t"] = by_t
    return out


def reference_scores(cases: Sequence[Case], mean: torch.Tensor, references: Sequence[str] = REFERENCES,
                     warps: WarpCache | None = None) -> dict:
    """{reference: `score_paths` dict} for the model-free references (pixel/crossfade of the
    TRUE endpoints, hold/nearest, mean/constant; `mean` is the (3, res, res) mean icon), and,
    with `warps`, "pixel/warp": the warp-and-blend morph of the true endpoint images."""
    out = {ref: score_paths(cases, [reference_frames(c, ref, mean) for c in cases]) for ref in references}
    if warps is not None:
        res = cases[0].start.shape[-1]
        out["pixel/warp"] = score_paths(cases, [
            morph_frames(image_sampler(c.start), image_sampler(c.end), warps.fit(c.start, c.end), c.ts, res).clamp(0, 1)
            for c in cases])
    return out


@torch.no_grad()
def endpoint_psnr(method: Method, cases: Sequence[Case]) -> dict | None:
    """Spread (mean, std, ci95, n) over the 2C endpoint images of the PSNR of the method's
    render against the true start or end; None when it cannot encode unseen images."""
    if not method.handles_unseen_images:
        return None
    with _in_eval(method):
        rep = encode_endpoints(method, cases)
        res = cases[0].start.shape[-1]
        renders = torch.cat([method.render(rep.select(slice(i, i + 100)), res).cpu() for i in range(0, len(rep), 100)])
    truth = torch.cat([torch.stack([c.start for c in cases]), torch.stack([c.end for c in cases])])  # (2C, 3, H, W)
    return spread(psnr(renders, truth).tolist())


def table(rows: dict, labels: dict[str, str] | None = None) -> str:
    """Markdown table of {row name: {mode: `score_paths` dict or None}}, one line per (row,
    mode) that applies (rows with no mode at all are listed as n/a below the table): overall frame
    PSNR and SSIM (mean +- std over cases), the frame PSNR mean at each t, then the per-kind frame
    PSNR means. labels: {row name: the name shown} where it differs."""
    labels = labels or {}
    kinds = [k for r in rows.values() for s in r.values() if s for k in s if k not in ("all", "cases", "by_t")]
    kinds = list(dict.fromkeys(kinds))
    ts = next((list(s["by_t"]) for r in rows.values() for s in r.values() if s), [])
    head = ("| method | mode | n | frame PSNR dB | SSIM | " + " | ".join(f"t={t} dB" for t in ts) + " | "
            + " | ".join(f"{k} dB" for k in kinds) + " |")
    lines = [head, "|" + "---|" * (5 + len(ts) + len(kinds))]
    unable = [name for name, scores in rows.items() if all(s is None for s in scores.values())]
    for name, scores in rows.items():
        for mode, s in scores.items():
            if s is None:  # a mode the method lacks (concat has no weights): no row
                continue
            p, q = s["all"]["frame_psnr"], s["all"]["ssim"]
            per_t = " | ".join(f"{s['by_t'][t]['frame_psnr']['mean']:.2f}" if t in s.get("by_t", {}) else "" for t in ts)
            per_kind = " | ".join(f"{s[k]['frame_psnr']['mean']:.2f}" if k in s else "" for k in kinds)
            lines.append(f"| {labels.get(name, name)} | {mode} | {p['n']} | {p['mean']:.2f} +- {p['std']:.2f} | "
                         f"{q['mean']:.3f} +- {q['std']:.3f} | {per_t} | {per_kind} |")
    if unable:
        lines += ["", "n/a (cannot encode an image it was not trained on): " + ", ".join(unable)]
    return "\n".join(lines)


def path_sheet(methods: dict, cases: Sequence[Case], mode: str = "latent", upscale: int = 1,
               warps: WarpCache | None = None, columns: int = 2, title: str = "") -> torch.Tensor:
    """A figure: per case a block of rows, the truth (start, true frames at case.ts, end), then
    each method's `mode` path from its own encodings (frames at 0, case.ts, 1), with the path's
    frame PSNR against the true frames at the right of its row (the benchmark's score, on this
    case alone). The blocks are laid out `columns` to a row, under `title`. methods:
    {name: Method}; methods that cannot encode unseen images or lack the mode are left out.
    warps: the cases' warps when already fitted (e.g. by `benchmark_methods`).
    Returns a (3, H, W) image, each tile upscaled `upscale`x (nearest). At the study's 5 cases,
    6 methods and 48 px, two columns keep it near 850 x 1,250 px."""
    from analysis.figures import add_title, grid_of_blocks, label_columns, label_rows, make_grid, upscale_nearest

    blocks = []
    warps = WarpCache() if warps is None else warps
    for c in cases:
        res = c.start.shape[-1]
        rows, names = [torch.cat([c.start[None], c.truth, c.end[None]])], ["truth"]  # (T+2, 3, res, res)
        for name, method in methods.items():
            if not method.handles_unseen_images:
                continue
            with _in_eval(method):
                device = next(method.parameters()).device
                pair = torch.stack([c.start, c.end]).to(device)  # (2, 3, res, res)
                rep = method.encode(pair, torch.ones_like(pair[:, :1], dtype=torch.bool), torch.arange(2, device=device)).detach()
                if not applies(method, rep.select(0), mode):
                    continue
                pair = Pair(c.start, c.end, rep.select(0), rep.select(1), warps)
                frames = path_frames(method, pair, (0.0, *c.ts, 1.0), mode, res).cpu()
            rows.append(frames)
            score = score_frames(frames[1:-1], c.truth)["frame_psnr"]  # the in-between frames only
            names.append(f"{name}: {score:.1f} dB")
        tile = res * upscale
        grid = make_grid(upscale_nearest(torch.cat(rows), tile), ncol=len(c.ts) + 2)  # (R*(T+2) tiles)
        labelled = label_rows(grid, names, row_height=tile + 2, size=14)  # the margin fits the names
        margin = labelled.shape[-1] - grid.shape[-1]
        ts = ["start", *(f"{t:g}" for t in c.ts), "end"]
        block = label_columns(labelled, ts, tile, size=12, left=margin)
        blocks.append(add_title(block, f"{c.kind}: {c.name}".replace("_", " "), size=14))
    sheet = grid_of_blocks(blocks, columns)
    return add_title(sheet, title) if title else sheet


# The two benchmarks: changed training icons (icons100), and changed unseen icons.
SETS = {"icons100 (training icons)": ("icons100", "train"), "icons-large test (unseen)": ("icons-large", "test")}


def benchmark_methods(methods: dict[str, Method], res: int = 48, count: int = 4, seed: int = 0,
                      warps: WarpCache | None = None, sets: Sequence[str] = tuple(SETS),
                      modes: Sequence[str] = MODES) -> dict:
    """Every method (and the references) on both benchmarks of SETS, `count` cases per kind;
    the cases' warps are fitted once (into `warps` when given, e.g. a study's file).
    Returns {set title: {"cases": C, "endpoints": {name: spread or None}, "paths": {row: {mode:
    score_paths dict or None}}, "table": markdown}}; reference rows are named "(ref) <name>"."""
    from analysis.interpolation.known_midpoints import build_benchmark, mean_image
    from data.images import load_images

    results = {}
    warps = WarpCache() if warps is None else warps  # each case's warp fitted once, for every method
    for title in sets:
        data, split = SETS[title]
        icons = load_images(data, 256, split=split)
        cases = build_benchmark(icons.images, res=res, count_per_kind=count, seed=seed, names=icons.names)
        refs = reference_scores(cases, mean_image(icons.images, res), warps=warps)
        rows = {f"(ref) {ref}": {"true ends": score} for ref, score in refs.items()}
        ends = {}
        for name, method in methods.items():
            rows[name] = known_midpoint_scores(method, cases, modes, warps)
            ends[name] = endpoint_psnr(method, cases)
        results[title] = {"cases": len(cases), "endpoints": ends, "paths": rows, "table": table(rows)}
    return results


def flat_scores(paths: dict) -> dict:
    """{"<method>/<mode>" or "<reference>": {"frame_psnr": dB, "ssim": ...}} of a `benchmark_methods`
    "paths" entry: the overall means, for tools to read."""
    out = {}
    for row, modes in paths.items():
        for mode, score in modes.items():
            if score is not None:
                label = row.removeprefix("(ref) ") if row.startswith("(ref) ") else f"{row}/{mode}"
                out[label] = {"frame_psnr": score["all"]["frame_psnr"]["mean"], "ssim": score["all"]["ssim"]["mean"],
                              "frame_psnr_std": score["all"]["frame_psnr"]["std"], "n": score["all"]["frame_psnr"]["n"]}
    return out

"""Any method's interpolations on the known-midpoint benchmark (`analysis.known_midpoints`).

    scores = known_midpoint_scores(method, cases, modes=("latent", "weights", "pixel"))
    # {mode: known_midpoints.evaluate dict, or None where the mode or the method does not apply}
    ends = endpoint_psnr(method, cases)   # spread dict of the endpoint renders' PSNR, or None
    refs = reference_scores(cases, mean)  # {reference: dict} for pixel/crossfade, hold/nearest, mean
    print(table({"hyper": scores, **{r: {"true ends": s} for r, s in refs.items()}}))

For every case the method encodes `case.start` and `case.end` (res px images, every pixel
observed; index = a dummy 0..2C-1, as these are not training images), then renders the
frames at `case.ts` with `interpolation_path` for each mode: "latent" (decode the blended
latent), "weights" (decode the blended SIREN weights), "pixel" (a cross-fade of the method's
OWN endpoint renders, so it separates what the blend adds from what the endpoints lose).
Only methods that can encode unseen images (`handles_unseen_images`) are scored; for others,
and for modes a method lacks (concat has no weights), the entry is None ("n/a" in `table`).

Every dict is `known_midpoints.evaluate`'s (per kind and "all": mean, std, ci95, n of frame
PSNR and SSIM; "cases") plus "by_t": the same spreads at each t of the cases (`score_paths`).
The endpoint PSNR caps what a method can score: an in-between can hardly be better than the
method's own reconstructions of the start and the end.
"""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import torch

from analysis.evaluate import encode_all
from analysis.interpolation import applicable_modes, interpolation_path
from analysis.known_midpoints import REFERENCES, Case, evaluate, psnr, reference_frames, score_frames, spread
from models.method import Method, Rep

MODES = ("latent", "weights", "pixel")


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


def known_midpoint_scores(method: Method, cases: Sequence[Case], modes: Sequence[str] = MODES) -> dict:
    """{mode: `known_midpoints.evaluate` dict} for each of `modes`; None for a mode that does
    not apply to the method, and for every mode when the method cannot encode unseen images."""
    if not method.handles_unseen_images:
        return {mode: None for mode in modes}
    with _in_eval(method):
        rep = encode_endpoints(method, cases)
        n, res = len(cases), cases[0].start.shape[-1]
        ok = applicable_modes(method, rep.select(0))
        out = {}
        for mode in modes:
            if mode not in ok:
                out[mode] = None
                continue
            frames = [interpolation_path(method, rep.select(i), rep.select(n + i), c.ts, mode, res)
                      for i, c in enumerate(cases)]  # [(T, 3, res, res)] per case
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


def reference_scores(cases: Sequence[Case], mean: torch.Tensor, references: Sequence[str] = REFERENCES) -> dict:
    """{reference: `score_paths` dict} for the model-free references (pixel/crossfade of the
    TRUE endpoints, hold/nearest, mean/constant; `mean` is the (3, res, res) mean icon)."""
    return {ref: score_paths(cases, [reference_frames(c, ref, mean) for c in cases]) for ref in references}


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


def table(rows: dict) -> str:
    """Markdown table of {row name: {mode: `score_paths` dict or None}}, one line per (row,
    mode): overall frame PSNR and SSIM (mean +- std over cases), the frame PSNR mean at each t,
    then the per-kind frame PSNR means."""
    kinds = [k for r in rows.values() for s in r.values() if s for k in s if k not in ("all", "cases", "by_t")]
    kinds = list(dict.fromkeys(kinds))
    ts = next((list(s["by_t"]) for r in rows.values() for s in r.values() if s), [])
    head = ("| method | mode | n | frame PSNR dB | SSIM | " + " | ".join(f"t={t} dB" for t in ts) + " | "
            + " | ".join(f"{k} dB" for k in kinds) + " |")
    lines = [head, "|" + "---|" * (5 + len(ts) + len(kinds))]
    for name, scores in rows.items():
        for mode, s in scores.items():
            if s is None:
                lines.append(f"| {name} | {mode} | | n/a | n/a |" + " |" * (len(ts) + len(kinds)))
                continue
            p, q = s["all"]["frame_psnr"], s["all"]["ssim"]
            per_t = " | ".join(f"{s['by_t'][t]['frame_psnr']['mean']:.2f}" if t in s.get("by_t", {}) else "" for t in ts)
            per_kind = " | ".join(f"{s[k]['frame_psnr']['mean']:.2f}" if k in s else "" for k in kinds)
            lines.append(f"| {name} | {mode} | {p['n']} | {p['mean']:.2f} +- {p['std']:.2f} | "
                         f"{q['mean']:.3f} +- {q['std']:.3f} | {per_t} | {per_kind} |")
    return "\n".join(lines)


def path_sheet(methods: dict, cases: Sequence[Case], mode: str = "latent", upscale: int = 2) -> torch.Tensor:
    """A figure: per case a block of rows, the truth (start, true frames at case.ts, end), then
    each method's `mode` path from its own encodings (frames at 0, case.ts, 1). methods:
    {name: Method}; methods that cannot encode unseen images or lack the mode are left out.
    Returns a (3, H, W) image, each tile upscaled `upscale`x (nearest) for visibility."""
    from analysis.figures import label_rows, make_grid, stack_labelled, upscale_nearest

    blocks, labels = [], []
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
                if mode not in applicable_modes(method, rep.select(0)):
                    continue
                rows.append(interpolation_path(method, rep.select(0), rep.select(1), (0.0, *c.ts, 1.0), mode, res))
            names.append(name)
        tiles = upscale_nearest(torch.cat(rows), res * upscale)  # (R*(T+2), 3, up, up)
        grid = make_grid(tiles, ncol=len(c.ts) + 2)
        blocks.append(label_rows(grid, names, row_height=res * upscale + 2, margin=90))
        labels.append(f"{c.kind}\n{c.name[:14]}")
    return stack_labelled(blocks, labels, margin=110)

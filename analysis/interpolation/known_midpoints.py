"""Known-midpoint benchmark: pairs of frames whose true in-between frames are known exactly.

A case is one icon under a continuous change: the start is the icon in state p0, the end the
same icon in state p1, and the truth at t is the icon in state (1 - t) p0 + t p1 (every
parameter moves linearly; `data.transforms`). Each frame is rendered from the TRUE 256 px
icon (warp, then hue, then one antialiased reduction to `res`), so an interpolation from the
start to the end can be scored against frames that are right by construction, not against a
guess of what a morph should look like.

Kinds and magnitudes (drawn per case from a seeded generator). The icons fill ~16..239 of
256 px (measured on icons100), so any shift or rotation pushes some of the icon out of frame;
the magnitudes are large enough to be obvious at 48 px (several pixels of motion, i.e. far
beyond the 1-2 px edge width, so a cross-fade visibly ghosts) and small enough to keep most
of the icon in frame:
    translate  a shift of 0.15-0.30 of the width in a random direction, centred on the icon
               (from -v/2 to +v/2), so each end loses at most ~15% of the width, not 30%
    scale      between 1.0 and 0.6-0.7 (shrinking or growing at random): below 0.6 a 48 px
               icon keeps too few pixels of detail; 1.0 keeps the icon whole
    rotate     30-45 degrees in total, random sign, centred (from -a/2 to +a/2), so that the
               corners a turn clips off a full-frame icon are shared by both ends
    combo      shift 0.10-0.20 + scale 1.0 -> 0.7-0.85 + rotation 15-30 degrees together
    hue        hue turned by 90-180 degrees (random sign) from the icon's own colours; past
               180 the shorter way round the hue circle is the other direction, so the
               in-between would be ambiguous; white stays white (greys have no hue)
An in-between is only well defined if the change is the simplest one between its ends; these
magnitudes keep it so (turns < 180 degrees, shifts < half the width, scales < 2x), except for
an icon with rotational symmetry, whose turn is ambiguous anyway. A case whose change is
invisible (a grey icon's hue turn) is skipped (`build_benchmark`).

References that need no model, scored by the same `score_frames`:
    pixel/crossfade   (1 - t) start + t end
    hold/nearest      start for t < 0.5, end for t >= 0.5
    mean/constant     the mean icon of the set at `res` as every frame

    python -m analysis.interpolation.known_midpoints --res 48 --count 4
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from analysis.scoring.ssim import ssim
from common.cli import parse_config, run_main
from data.augment import KINDS, draw_change
from data.transforms import State, reduce, render

TS = (0.25, 0.5, 0.75)
REFERENCES = ("pixel/crossfade", "hold/nearest", "mean/constant")
PSNR_CAP_DB = 100.0  # a frame equal to the truth scores this instead of +inf (MSE floor 1e-10)
VISIBLE_DB = 30.0  # a case whose end is this close to its start (PSNR) shows no change: skipped


@dataclass
class Case:
    """One known-midpoint pair. start, end: (3, res, res); truth: (len(ts), 3, res, res), the
    true frames at `ts`; params: {"from": State dict, "to": State dict}; source: the 256 px
    icon (3, 256, 256), kept to render the truth at any t (`frames`)."""

    kind: str
    index: int
    name: str
    params: dict
    ts: tuple[float, ...]
    start: torch.Tensor
    end: torch.Tensor
    truth: torch.Tensor
    source: torch.Tensor

    def frames(self, ts: Sequence[float]) -> torch.Tensor:
        """The true frames at any ts in [0, 1]: (len(ts), 3, res, res)."""
        p0, p1 = State(**self.params["from"]), State(**self.params["to"])
        res = self.start.shape[-1]
        return torch.cat([render(self.source[None], p0.lerp(p1, float(t)), res) for t in ts])


def build_benchmark(images_256: torch.Tensor, res: int = 48, count_per_kind: int = 4, seed: int = 0,
                    names: Sequence[str] | None = None, kinds: Sequence[str] = KINDS,
                    ts: Sequence[float] = TS) -> list[Case]:
    """A fixed, seeded set of cases: `count_per_kind` distinct icons per kind (drawn without
    replacement within a kind), each with its own seeded magnitudes. An icon whose change is
    invisible (end within VISIBLE_DB of start: a grey icon under a hue turn, a round one under
    a rotation) is skipped for the next one, so a kind may have fewer cases if the set runs out.

    images_256: (N, 3, 256, 256) in [0, 1] on white, e.g. load_images("icons100", 256).images
    or load_images("icons-large", 256, split="test").images. Returns cases in kind order."""
    gen = torch.Generator().manual_seed(seed)
    names = list(names) if names is not None else [str(i) for i in range(len(images_256))]
    ts = tuple(float(t) for t in ts)
    cases = []
    for kind in kinds:
        taken = 0
        for index in torch.randperm(len(images_256), generator=gen).tolist():
            if taken == count_per_kind:
                break
            p0, p1 = draw_change(kind, gen)
            src = images_256[index]  # (3, 256, 256)
            frames = torch.cat([render(src[None], p0.lerp(p1, t), res) for t in (0.0, *ts, 1.0)])  # (T+2, 3, res, res)
            if psnr(frames[0], frames[-1]) > VISIBLE_DB:
                continue
            taken += 1
            cases.append(Case(kind, index, names[index], {"from": p0.as_dict(), "to": p1.as_dict()}, ts,
                              frames[0], frames[-1], frames[1:-1], src))
    return cases


def mean_image(images_256: torch.Tensor, res: int = 48) -> torch.Tensor:
    """The mean icon of the set at `res`, reduced like the benchmark frames: (3, res, res)."""
    return torch.stack([reduce(images_256[i:i + 64], res).sum(0) for i in range(0, len(images_256), 64)]).sum(0) \
        / len(images_256)


def reference_frames(case: Case, reference: str, mean: torch.Tensor | None = None) -> torch.Tensor:
    """A model-free path at case.ts: (T, 3, res, res). reference: one of REFERENCES
    ("mean/constant" needs `mean`, the (3, res, res) mean icon)."""
    ts = torch.tensor(case.ts)[:, None, None, None]  # (T, 1, 1, 1)
    if reference == "pixel/crossfade":
        return torch.lerp(case.start[None], case.end[None], ts)
    if reference == "hold/nearest":
        return torch.where(ts < 0.5, case.start[None], case.end[None])
    if reference == "mean/constant":
        if mean is None:
            raise ValueError("mean/constant needs the mean icon (mean_image)")
        return mean[None].expand(len(case.ts), -1, -1, -1).clone()
    raise ValueError(f"unknown reference {reference!r}: use one of {', '.join(REFERENCES)}")


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """PSNR (dB) of (..., 3, H, W) images in [0, 1] (x clamped) -> (...,), capped at PSNR_CAP_DB."""
    mse = (x.clamp(0, 1) - y).pow(2).flatten(-3).mean(-1)
    return (-10 * torch.log10(mse.clamp_min(1e-10))).clamp_max(PSNR_CAP_DB)


def score_frames(frames: torch.Tensor, truth: torch.Tensor) -> dict:
    """How close frames are to the true frames at the same ts. frames, truth: (T, 3, H, W).
    Returns {"frame_psnr": mean over frames of the per-frame PSNR in dB (higher better, capped
    at 100), "ssim": mean over frames of SSIM (Wang et al. 2004; in [-1, 1], higher better)}."""
    if frames.shape != truth.shape:
        raise ValueError(f"frames {tuple(frames.shape)} and truth {tuple(truth.shape)} differ in shape")
    return {"frame_psnr": psnr(frames, truth).mean().item(),  # (T,) -> ()
            "ssim": ssim(frames.clamp(0, 1), truth).mean().item()}


def spread(values: Sequence[float]) -> dict:
    """{"mean", "std" (sample std, 0 for one value), "ci95" (half-width of the normal-theory 95%
    interval of the mean, 1.96 std / sqrt(n)), "n"} of a list of numbers."""
    v = torch.tensor(list(values), dtype=torch.float64)
    std = float(v.std()) if len(v) > 1 else 0.0
    return {"mean": float(v.mean()), "std": std, "ci95": 1.96 * std / math.sqrt(len(v)), "n": len(v)}


def summarize(kinds: Sequence[str], scores: Sequence[dict]) -> dict:
    """Per-kind and overall spread of every score. kinds[i] is the kind of scores[i] (a
    `score_frames` dict). Returns {kind: {metric: spread dict}, ..., "all": {metric: spread}}."""
    out: dict = {}
    for kind in [*dict.fromkeys(kinds), "all"]:
        rows = [s for k, s in zip(kinds, scores) if kind in ("all", k)]
        out[kind] = {m: spread([r[m] for r in rows]) for m in rows[0]}
    return out


def evaluate(cases: Sequence[Case], path: Callable[[Case], torch.Tensor]) -> dict:
    """Score any interpolation over the benchmark: path(case) returns its frames at case.ts,
    (T, 3, res, res), made from case.start and case.end only. Returns `summarize`'s dict plus
    "cases": [{kind, index, name, frame_psnr, ssim}, ...]."""
    scores = [score_frames(path(c), c.truth) for c in cases]
    out = summarize([c.kind for c in cases], scores)
    out["cases"] = [{"kind": c.kind, "index": c.index, "name": c.name, **s} for c, s in zip(cases, scores)]
    return out


def evaluate_references(cases: Sequence[Case], mean: torch.Tensor) -> dict:
    """{reference: `evaluate` dict} for every model-free reference in REFERENCES."""
    return {ref: evaluate(cases, lambda c, ref=ref: reference_frames(c, ref, mean)) for ref in REFERENCES}


def table(results: dict) -> str:
    """Markdown table of {path name: `evaluate` dict}: one row per path and kind, mean +- std."""
    lines = ["| path | kind | n | frame PSNR dB (mean +- std) | SSIM (mean +- std) |", "|---|---|---|---|---|"]
    for name, res in results.items():
        for kind, m in res.items():
            if kind == "cases":
                continue
            p, s = m["frame_psnr"], m["ssim"]
            lines.append(f"| {name} | {kind} | {p['n']} | {p['mean']:.2f} +- {p['std']:.2f} | "
                         f"{s['mean']:.3f} +- {s['std']:.3f} |")
    return "\n".join(lines)


@dataclass
class BenchmarkConfig:
    """Build the known-midpoint benchmark from the shipped 256 px icons and print the references' table."""

    data: str = "icons100"  # icons100 (its 100 training icons) or icons-large (its 150 unseen test icons)
    res: int = 48           # working resolution
    count: int = 4          # cases per kind
    seed: int = 0


def main(argv: Sequence[str] | None = None) -> dict:
    from data.images import load_images

    cfg, _ = parse_config(BenchmarkConfig, argv, choices={"data": ("icons100", "icons-large")})
    icons = load_images(cfg.data, 256, split="test" if cfg.data == "icons-large" else "train")
    cases = build_benchmark(icons.images, cfg.res, cfg.count, cfg.seed, icons.names)
    results = evaluate_references(cases, mean_image(icons.images, cfg.res))
    print(f"known-midpoint benchmark: {icons.source}, {len(cases)} cases, {cfg.res} px, ts {TS}, seed {cfg.seed}")
    print(table(results))
    return results


if __name__ == "__main__":
    run_main(main)

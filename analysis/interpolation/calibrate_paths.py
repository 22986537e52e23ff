"""Calibration of the path metrics on true morphs: does each metric rank the truth above
every degenerate path? The table behind `analysis.scoring.path_metrics`' claims.

For every known-midpoint case, the true morph at T evenly spaced ts is scored next to the
degenerate paths between its true endpoints (`analysis.scoring.degenerate_paths`) and two harder
ones that are not degenerate frames but degenerate timing:
    eased      the true morph timed by smoothstep 3t^2 - 2t^3 (slow in, slow out): right
               frames, uneven speed
    retimed    the cross-fade re-timed so that its consecutive SSIM steps are equal: a
               ghosting path made perfectly even, the way to beat pdv alone

    python -m analysis.interpolation.calibrate_paths --res 48 --frames 9 --count 10 --seed 1
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from analysis.interpolation.known_midpoints import KINDS, BenchmarkConfig, build_benchmark, mean_image
from analysis.scoring.degenerate_paths import DEGENERATE, degenerate_paths
from analysis.scoring.path_metrics import path_metrics
from analysis.scoring.ssim import ssim_distance
from common.cli import parse_config, run_main
from common.errors import UserError

SCORES = ("morph_error", "pdv", "band_energy_error")  # lower is better
TIMING = ("eased", "retimed")


def retimed_crossfade(a: torch.Tensor, b: torch.Tensor, count: int, grid: int = 129) -> torch.Tensor:
    """The cross-fade from a to b (3, H, W) at `count` ts chosen on a grid of `grid` ts so that
    consecutive frames are as equally far apart in SSIM distance as the grid allows:
    (count, 3, H, W). Bisection on the common step; each frame's distances to the later grid
    frames are computed once (the distance grows with t along a cross-fade)."""
    fade = torch.lerp(a[None], b[None], torch.linspace(0, 1, grid)[:, None, None, None])  # (grid, 3, H, W)
    rows: dict[int, torch.Tensor] = {}

    def walk(step: float) -> list[int]:
        at = [0]
        while at[-1] < grid - 1 and len(at) < count:
            i = at[-1]
            if i not in rows:
                rows[i] = ssim_distance(fade[i][None], fade[i + 1:])  # (grid - 1 - i,)
            far = (rows[i] >= step).nonzero()
            at.append(i + 1 + int(far[0]) if len(far) else grid - 1)
        return at

    lo, hi = 0.0, float(ssim_distance(a, b))
    for _ in range(20):
        step = (lo + hi) / 2
        lo, hi = (step, hi) if walk(step)[-1] < grid - 1 else (lo, step)  # short of b: step too short
    at = walk(hi)
    at = (at + [grid - 1] * count)[:count - 1] + [grid - 1]
    return fade[at]


def calibrate(images_256: torch.Tensor, res: int = 48, frames: int = 9, count: int = 10, seed: int = 0,
              kinds: Sequence[str] = KINDS, timing: bool = True) -> dict:
    """{kind: {path name: [path_metrics dict per case]}} for "truth", every DEGENERATE path and
    (timing=True) the TIMING paths, all at `frames` evenly spaced ts."""
    ts = [k / (frames - 1) for k in range(frames)]
    mean = mean_image(images_256, res)
    rows: dict = {}
    for case in build_benchmark(images_256, res, count, seed, kinds=kinds):
        truth = case.frames(ts)  # (T, 3, res, res)
        paths = {"truth": truth, **degenerate_paths(truth[0], truth[-1], ts, mean, seed)}
        if timing:
            paths["eased"] = case.frames([3 * t * t - 2 * t ** 3 for t in ts])
            paths["retimed"] = retimed_crossfade(truth[0], truth[-1], frames)
        for name, path in paths.items():
            rows.setdefault(case.kind, {}).setdefault(name, []).append(path_metrics(path, ts))
    return rows


def wins(rows: dict, kind: str, name: str, score: str) -> tuple[int, int]:
    """(cases where the truth scores strictly lower than path `name` on `score`, cases)."""
    pairs = list(zip(rows[kind]["truth"], rows[kind][name]))
    return sum(t[score] < p[score] for t, p in pairs), len(pairs)


def table(rows: dict) -> str:
    """Markdown: per kind and path, the mean of each score and the truth's per-case wins."""
    head = "| kind | path | " + " | ".join(SCORES) + " | path_length | truth wins (" + ", ".join(SCORES) + ") |"
    lines = [head, "|" + "---|" * (len(SCORES) + 4)]
    for kind, paths in rows.items():
        for name, ms in paths.items():
            means = [sum(m[s] for m in ms) / len(ms) for s in (*SCORES, "path_length")]
            won = "" if name == "truth" else ", ".join("%d/%d" % wins(rows, kind, name, s) for s in SCORES)
            lines.append(f"| {kind} | {name} | " + " | ".join(f"{v:.3f}" for v in means) + f" | {won} |")
    return "\n".join(lines)


@dataclass
class CalibrationConfig(BenchmarkConfig):
    """Score true morphs and degenerate paths of the known-midpoint benchmark with the path metrics."""

    count: int = 10  # cases per kind
    frames: int = 9  # frames per path, the ends included (>= 3)


def main(argv: Sequence[str] | None = None) -> dict:
    from data.images import load_images

    cfg, _ = parse_config(CalibrationConfig, argv, choices={"data": ("icons100", "icons-large")})
    if cfg.frames < 3:
        raise UserError(f"--frames must be at least 3 (two ends and an in-between), got {cfg.frames}")
    icons = load_images(cfg.data, 256, split="test" if cfg.data == "icons-large" else "train")
    rows = calibrate(icons.images, cfg.res, cfg.frames, cfg.count, cfg.seed)
    print(f"path metric calibration: {icons.source}, {cfg.res} px, {cfg.frames} frames, {cfg.count} cases per "
          f"kind, seed {cfg.seed}; lower is better; degenerate paths: {', '.join(DEGENERATE)}; timing: "
          f"{', '.join(TIMING)}")
    print(table(rows))
    return rows


if __name__ == "__main__":
    run_main(main)

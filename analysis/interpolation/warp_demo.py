"""Quick known-midpoint check of the warp-and-blend morph (a tuning harness, not the benchmark).

    python -m analysis.interpolation.warp_demo                 # 10 icons x 4 transforms, prints a Markdown table
    python -m analysis.interpolation.warp_demo --icons 3 --kinds shift

An icon (256 px) is shrunk to `--base` of the frame so that no transform crops it; that is
image a. A known similarity transform T (shift, scale, rotation or all three) gives image b
= a o T^-1, and the true frame at time t is a o T_t^-1 with T_t = exp(t log T) about the
frame centre: shift t d, scale s^t, rotation t * angle (the constant-velocity path of the
similarity group; a linear scale path 1 - t + t s differs from s^t by at most 1.5% of the
size at s = 0.7). Every image is made at 256 px and reduced to `--res` (antialiased), so
the endpoints carry no resampling of one another. Scored at t = 0.25, 0.5, 0.75 by PSNR
against the true frame: the pixel cross-fade and the warp-and-blend of the pixel images
(the warp fitted on the two `--res` endpoints alone).
"""
from __future__ import annotations

import argparse
import functools
import math
import time

import torch
import torch.nn.functional as F

from analysis.interpolation.morph import morph_frames
from analysis.interpolation.sampling import image_sampler, resize
from analysis.interpolation.warp_fit import fit_warp

#: kind -> (shift (x, y) in domain units (the domain is 2 wide), scale, angle in degrees)
TRANSFORMS = {
    "shift": ((0.5, 0.2), 1.0, 0.0),       # 0.25 and 0.1 of the width
    "scale": ((0.0, 0.0), 0.7, 0.0),
    "rotate": ((0.0, 0.0), 1.0, 30.0),
    "all": ((0.4, -0.2), 0.7, 30.0),
    "elastic": None,  # a random smooth velocity field (`elastic`), not a similarity
}
#: elastic: control velocities on a 4 x 4 grid, this std in domain units (0.15 = 3.6 px at 48 px)
ELASTIC_STD = 0.15
TS = (0.25, 0.5, 0.75)


def transform(image: torch.Tensor, shift, scale: float, angle_deg: float, t: float) -> torch.Tensor:
    """image (3, H, W) o T_t^-1 with T_t = exp(t log T) about the centre, white outside: (3, H, W).

    T(p) = s R p + d; its constant-velocity path is p -> s^t R(t a) p + d_t, where d_t is the
    path of the centre under the flow of the velocity log T (`analysis.interpolation.warp.affine_velocity`
    gives it), so the shape moves along the same curve a fitted SVF would follow.
    """
    from analysis.interpolation.warp import affine_velocity

    matrix, offset = affine_velocity(torch.zeros(2), torch.tensor(shift, dtype=torch.float32), scale,
                                     math.radians(angle_deg))  # velocity of T about the centre
    m = t * matrix  # (2, 2), log of the linear part of T_t
    lin = torch.linalg.matrix_exp(m)  # (2, 2)
    eye = torch.eye(2)
    # exp of the affine velocity (M, c) for time t: p -> e^{tM} p + (e^{tM} - I) M^-1 c
    d = (lin - eye) @ torch.linalg.solve(matrix, offset) if matrix.norm() > 1e-6 else t * offset  # (2,)
    inv = torch.linalg.inv(lin)  # sampling needs T_t^-1(x) = lin^-1 (x - d)
    theta = torch.cat([inv, (-inv @ d)[:, None]], 1)[None]  # (1, 2, 3), maps output x to input coords
    grid = F.affine_grid(theta, (1, 3, *image.shape[-2:]), align_corners=False)  # (1, H, W, 2)
    return F.grid_sample(image[None] - 1, grid, mode="bicubic", padding_mode="zeros", align_corners=False)[0].clamp(-1, 0) + 1


def elastic(image: torch.Tensor, t: float, seed: int) -> torch.Tensor:
    """image (3, H, W) o exp(-t v) for a random smooth velocity v (4 x 4 control grid, seeded),
    white outside: (3, H, W). The true frames of a non-rigid change, so the grid part of the
    warp is tested, not only its affine part."""
    from analysis.interpolation.warp import Warp
    from data.pixels import pixel_grid

    gen = torch.Generator().manual_seed(seed)
    v = Warp.identity()
    v.grid = ELASTIC_STD * torch.randn(2, 4, 4, generator=gen)  # (2, 4, 4)
    res = image.shape[-1]
    coords = v.flow(pixel_grid(res), -t).view(1, res, res, 2)  # (1, H, W, 2)
    return F.grid_sample(image[None] - 1, coords, mode="bicubic", padding_mode="zeros", align_corners=False)[0].clamp(-1, 0) + 1


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    return float(-10 * torch.log10((x.clamp(0, 1) - y).pow(2).mean().clamp_min(1e-10)))


def mean_psnr(frames, truth) -> float:
    """Mean PSNR of frames against the true frames (same order)."""
    return sum(psnr(f, g) for f, g in zip(frames, truth)) / len(truth)


def run(icons: int, kinds: list[str], res: int, base: float, **fit_kwargs) -> dict:
    """{kind: {column: [per-icon mean PSNR over TS], "seconds": [fit CPU s]}}. Columns: "crossfade",
    "warp" (pixel warp-and-blend). Trained methods' modes are scored by study.py on the
    known-midpoint benchmark (analysis/interpolation/known_midpoints.py)."""
    from data.images import load_images

    images = load_images("icons100", 256).images
    picks = torch.linspace(0, len(images) - 1, icons).round().long()
    fit_warp(images[0, :, ::8, ::8], images[1, :, ::8, ::8], **fit_kwargs)  # warm-up, untimed: torch's first Adam costs ~2 s
    out = {}
    for kind in kinds:
        rows: dict[str, list[float]] = {}
        for k in picks.tolist():
            icon = transform(images[k], (0.0, 0.0), base, 0.0, 1.0)  # (3, 256, 256), shrunk into the frame
            if kind == "elastic":
                truth = [resize(elastic(icon, t, seed=k), res) for t in (0.0, *TS, 1.0)]
            else:
                truth = [resize(transform(icon, *TRANSFORMS[kind], t), res) for t in (0.0, *TS, 1.0)]
            a, b = truth[0], truth[-1]  # (3, res, res) each
            start = time.process_time()  # CPU time of this process: the machine is shared
            warp = fit_warp(a, b, **fit_kwargs)
            rows.setdefault("seconds", []).append(time.process_time() - start)
            score = functools.partial(mean_psnr, truth=truth[1:-1])
            rows.setdefault("crossfade", []).append(score([torch.lerp(a, b, t) for t in TS]))
            rows.setdefault("warp", []).append(score(morph_frames(image_sampler(a), image_sampler(b), warp, TS, res)))
        out[kind] = rows
    return out


COLUMNS = {"crossfade": "cross-fade dB", "warp": "warp-and-blend dB"}


def table(results: dict) -> str:
    """Markdown: per kind, mean ± std over icons of the frame PSNR of each column, the pixel
    warp's gain over the cross-fade (mean and worst icon), the fit's CPU time."""
    def ms(v):
        v = torch.tensor(v)
        return f"{v.mean():.2f} ± {v.std():.2f}" if len(v) > 1 else f"{v.mean():.2f}"
    cols = [c for c in COLUMNS if c in next(iter(results.values()))]
    lines = ["| transform | icons | " + " | ".join(COLUMNS[c] for c in cols) + " | gain dB (min) | fit CPU s/pair |",
             "|---|---|" + "---|" * (len(cols) + 2)]
    for kind, r in results.items():
        gain = torch.tensor(r["warp"]) - torch.tensor(r["crossfade"])
        lines.append(f"| {kind} | {len(r['warp'])} | " + " | ".join(ms(r[c]) for c in cols)
                     + f" | {gain.mean():.2f} ({gain.min():.2f}) | {torch.tensor(r['seconds']).mean():.2f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--icons", type=int, default=10)
    p.add_argument("--kinds", default=",".join(TRANSFORMS))
    p.add_argument("--res", type=int, default=48)
    p.add_argument("--base", type=float, default=0.6, help="icon size as a fraction of the frame")
    p.add_argument("--smooth", type=float, default=None)
    p.add_argument("--no-init", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    kwargs = {} if args.smooth is None else {"smooth": args.smooth}
    if args.no_init:
        kwargs["init"] = False
    print(table(run(args.icons, args.kinds.split(","), args.res, args.base, **kwargs)))


if __name__ == "__main__":
    main()

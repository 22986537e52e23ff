"""Draw new icons from the prior over `modulated`'s latent grids: a sheet and a walk.

    python sample.py --ckpt checkpoints/modulated.pt --n 64 --out runs/samples

Writes samples.png (each sample beside its nearest training icon, with their PSNR: a copy shows as
twins), walk.gif (a slow walk through the prior: the noise moves along great circles between
seeds, and every frame is a sample of the prior), and samples.json (each sample's nearest training
icon and PSNR). The prior is `<checkpoint name>_prior.pt` beside the checkpoint (train one with
train_prior.py), or --prior. The same --seed gives the same icons on any device.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

import api
from analysis.figures import save_gif, save_png, upscale_nearest
from analysis.reporting.sample_sheet import sample_sheet
from analysis.scoring.generation import nearest, pixel_features
from common.cli import check_out_folder, parse_config, run_main
from common.runfolder import check_reuse, claim
from models.method import Rep
from train.prior import prior_path


@dataclass
class SampleConfig:
    """New icons from a modulated checkpoint's prior: a sheet beside their nearest training icons, and a walk."""

    ckpt: str = "checkpoints/modulated.pt"  # a modulated checkpoint
    prior: str = ""                         # its prior file ("" = <checkpoint name>_prior.pt beside it)
    n: int = 64                             # samples on the sheet
    seed: int = 0
    sample_steps: int = 25                  # Heun steps from noise to a latent grid
    walk: int = 6                           # seeds the walk passes through (0 = no GIF)
    walk_frames: int = 12                   # frames between two of them
    out: str = "runs/samples"
    device: str = "auto"


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """The great-circle blend of two noise draws (B, ...) at t: stays a typical draw of N(0, I) (Shoemake 1985)."""
    dot = (a * b).flatten(1).sum(1) / (a.flatten(1).norm(dim=1) * b.flatten(1).norm(dim=1))  # (B,)
    angle = torch.arccos(dot.clamp(-1, 1))[:, None, None, None]  # (B, 1, 1, 1)
    return (torch.sin((1 - t) * angle) * a + torch.sin(t * angle) * b) / torch.sin(angle).clamp_min(1e-6)


def main(argv=None) -> dict:
    cfg, _ = parse_config(SampleConfig, argv)
    out = check_out_folder(cfg.out)
    check_reuse(out, "sample")  # a rerun replaces its own files, never a stranger's
    inr = api.load(cfg.ckpt, cfg.device)
    prior = cfg.prior or None
    samples = inr.sample(cfg.n, cfg.seed, prior=prior, steps=cfg.sample_steps)  # (n, 3, res, res)
    train = inr.training.loaded()[0].images  # (N, 3, res, res)
    distance, index = nearest(pixel_features(samples), pixel_features(train))  # (n,), (n,)
    near = train[index]  # (n, 3, res, res)
    psnr = (-10 * torch.log10((samples - near).pow(2).mean((1, 2, 3)).clamp_min(1e-10))).tolist()
    claim(out, "sample", dict(vars(cfg)))
    save_png(sample_sheet(samples, near, psnr, title=f"{cfg.n} samples of the prior (seed {cfg.seed})"), out / "samples.png")
    names = inr.training.names
    rows = [{"sample": i, "nearest": names[int(j)], "psnr": p} for i, (j, p) in enumerate(zip(index, psnr))]
    if cfg.walk >= 2:
        flow = inr.prior(prior)
        g = torch.Generator().manual_seed(cfg.seed + 1)
        keys = torch.randn(cfg.walk, flow.channels, flow.grid, flow.grid, generator=g)  # (K, C, G, G)
        noise = torch.cat([slerp(keys[k:k + 1], keys[(k + 1) % cfg.walk:(k + 1) % cfg.walk + 1], f / cfg.walk_frames)
                           for k in range(cfg.walk) for f in range(cfg.walk_frames)])  # (K*F, C, G, G), a closed loop
        grids = flow.sample(len(noise), steps=cfg.sample_steps, noise=noise)
        frames = upscale_nearest(inr.render(Rep(latent=grids.flatten(1))), 3 * inr.res)  # (K*F, 3, 3res, 3res)
        save_gif(list(frames), out / "walk.gif", ms_per_frame=80, bounce=False)
    result = {"ckpt": cfg.ckpt, "prior": cfg.prior or str(prior_path(Path(cfg.ckpt))), "seed": cfg.seed,
              "n": cfg.n, "samples": rows, "median_psnr_to_nearest": float(torch.tensor(psnr).median())}
    (out / "samples.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {out / 'samples.png'}" + (f" and {out / 'walk.gif'}" if cfg.walk >= 2 else "")
          + f": median PSNR to the nearest training icon {result['median_psnr_to_nearest']:.1f} dB")
    return result


if __name__ == "__main__":
    run_main(main)

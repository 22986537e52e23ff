"""Fit a prior over a `modulated` checkpoint's latent grids, so that sample.py can draw new icons.

    python train_prior.py --ckpt checkpoints/modulated.pt --out runs/prior        # 15 minutes on 2 CPU cores

Encodes the checkpoint's training icons and their mirror images into latent grids, trains a
flow-matching prior over them (models/prior.py; samples logged to TensorBoard as it trains),
then scores it against the simpler priors (a Gaussian in the grids' PCA basis, the blend of two
training grids) and the references (the unseen test icons, the training icons, noise, the mean
icon) by precision, recall and copy rate (analysis/scoring/generation.py). Writes prior.pt (the
prior: copy it beside the checkpoint as <name>_prior.pt), prior.md and prior.json (the table),
samples.png and TensorBoard events.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter

from analysis.endpoints import training_set
from analysis.figures import make_grid, save_png
from common.cli import check_out_folder, parse_config, resolve_device, run_main
from common.errors import UserError
from common.runfolder import check_replace, check_resume, claim, holds_files
from models.prior import GridFlow
from train.checkpoint import method_from_checkpoint
from train.prior import decode_grids, fit_flow, prior_table, score_priors, simple_priors, training_grids


@dataclass
class PriorConfig:
    """Fit a flow-matching prior over a modulated checkpoint's latent grids; score it against simpler priors."""

    ckpt: str = "checkpoints/modulated.pt"  # a modulated checkpoint
    out: str = "runs/prior"
    minutes: float = 15.0         # a cap on the training time in minutes of step time (0 = none)
    steps: int = 7000             # optimizer steps, the cosine's horizon (about 14.5 minutes on 2 CPU cores)
    batch: int = 32               # grids per step
    lr: float = 1e-3              # Adam
    warmup: int = 200             # steps of linear lr warmup
    ema: float = 0.999            # decay of the weight average that is saved and sampled (train/ema.py)
    width: int = 32               # the U-Net's channels at full grid resolution (twice that at half)
    mirror: bool = True           # also the mirror image of every training icon
    sample_steps: int = 25        # Heun steps from noise to a grid when sampling
    image_every: int = 500        # steps between TensorBoard sheets of samples
    ckpt_every: int = 500         # steps between checkpoints
    seed: int = 0
    device: str = "auto"
    resume: bool = False          # continue the run in --out from its prior.pt
    overwrite: bool = False       # replace an existing --out (a folder this script made)


def main(argv=None) -> dict:
    cfg, _ = parse_config(PriorConfig, argv)
    out = check_out_folder(cfg.out)
    state = None
    if cfg.resume:
        if not (out / "prior.pt").is_file():
            raise UserError(f"nothing to resume in {out}: no prior.pt there; drop --resume")
        check_resume(out)
        state = torch.load(out / "prior.pt", map_location="cpu", weights_only=True)
    elif holds_files(out):
        if not cfg.overwrite:
            raise UserError(f"output folder {out} already exists: pass --resume to continue it, --overwrite to replace "
                            "it, or another --out")
        check_replace(out)
    device = resolve_device(cfg.device)
    method, ckpt = method_from_checkpoint(Path(cfg.ckpt), device)  # refused, if at all, before anything is deleted
    grids = training_grids(method, ckpt, cfg.mirror).to(device)  # (N, C, G, G)
    if cfg.overwrite and not cfg.resume and out.exists():
        shutil.rmtree(out)
    claim(out, "train_prior", dataclasses.asdict(cfg))
    torch.manual_seed(cfg.seed)
    flow = GridFlow(method.channels, method.grid, cfg.width).to(device)
    flow.fit_scale(grids)
    res = ckpt["config"]["res"]
    writer = SummaryWriter(out / "tb")
    fixed_noise = torch.randn(16, method.channels, method.grid, method.grid,
                              generator=torch.Generator().manual_seed(cfg.seed))  # the same 16 draws at every preview

    def preview(module: GridFlow, step: int) -> None:
        icons = decode_grids(method, module.sample(16, steps=cfg.sample_steps, noise=fixed_noise), res)
        writer.add_image("prior/samples", make_grid(icons, ncol=8), step)

    print(f"{len(grids)} training grids of {tuple(grids.shape[1:])}; fitting the prior")
    flow, trained = fit_flow(grids, cfg, flow, state, out, writer, preview)
    preview(flow, trained["step"])
    train_icons = training_set(ckpt)[0].images
    priors = {"flow-matching prior (ours)": _Sampler(flow, cfg.sample_steps), **simple_priors(grids.cpu())}
    scores = score_priors(priors, method, ckpt, train_icons, cfg.seed)
    table = prior_table(scores)
    print(table)
    (out / "prior.md").write_text(f"Samples against the unseen test icons ({cfg.ckpt}; prior trained "
                                  f"{trained['step']} steps, {trained['train_seconds']:.0f} s):\n\n{table}\n")
    result = {"scores": scores, **trained, "grids": len(grids), "config": dataclasses.asdict(cfg),
              "parameters": sum(p.numel() for p in flow.parameters())}
    (out / "prior.json").write_text(json.dumps(result, indent=2))
    g = torch.Generator().manual_seed(cfg.seed)
    save_png(make_grid(decode_grids(method, flow.sample(32, g, cfg.sample_steps), res), ncol=8), out / "samples.png")
    writer.close()
    print(f"wrote {out / 'prior.pt'}: copy it beside the checkpoint as {Path(cfg.ckpt).stem}_prior.pt for sample.py")
    return result


class _Sampler:
    """The flow as a prior with `sample(n, generator)` (its Heun steps fixed)."""

    def __init__(self, flow: GridFlow, steps: int):
        self.flow, self.steps = flow, steps

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.flow.sample(n, generator, self.steps).cpu()


if __name__ == "__main__":
    run_main(main)

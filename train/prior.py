"""Fit a prior over a `modulated` checkpoint's latent grids, and score it against simpler priors.

    grids = training_grids(method, ckpt)               # (N, C, G, G): the training icons and their mirrors
    flow, ema = fit_flow(grids, cfg, out, writer)      # flow matching (models/prior.py), --minutes or --steps
    table = score_priors({...}, method, ckpt, n=75)    # analysis/scoring/generation.py, per prior

The run ends after --steps steps (the cosine's horizon) or --minutes of step time, whichever
comes first. The grids are the encoder's one-pass grids of every training icon read in full (as an unseen
icon is encoded), and of their mirror images (a mirrored icon is an icon: twice the data). The
flow is trained with Adam, a cosine from --lr, gradient clipping and a weight average (EMA), the
recipe of the main training loop; samples go to TensorBoard as it trains. A prior file holds the
average's weights, its config, and the checkpoint it belongs to.
"""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from analysis.endpoints import training_set
from analysis.scoring.evaluate import encode_all
from analysis.scoring.generation import generation_scores
from common.errors import UserError
from data.images import load_images
from models.method import Method, Rep
from models.prior import BlendPrior, GaussianPrior, GridFlow
from train.checkpoint import save_checkpoint
from train.ema import WeightAverage
from train.schedule import lr_factor

PRIOR_FORMAT = 1


def training_grids(method: Method, ckpt: dict, mirror: bool = True) -> torch.Tensor:
    """One-pass latent grids of the checkpoint's training icons read in full (and their mirrors): (N, C, G, G)."""
    if ckpt["config"]["model"] != "modulated":
        raise UserError(f"a prior is fitted to modulated's latent grids, and this checkpoint is {ckpt['config']['model']}: "
                        "pass a modulated checkpoint (e.g. checkpoints/modulated.pt)")
    images = training_set(ckpt)[0].images  # (N, 3, res, res)
    if mirror:
        images = torch.cat([images, images.flip(-1)])  # (2N, 3, res, res)
    full = torch.ones_like(images[:, :1], dtype=torch.bool)
    latent = encode_all(method, images, full).latent  # (N, C*G*G)
    return latent.view(len(latent), method.channels, method.grid, method.grid).cpu()


def decode_grids(method: Method, grids: torch.Tensor, res: int) -> torch.Tensor:
    """Icons (N, 3, res, res) in [0, 1] from latent grids (N, C, G, G)."""
    device = next(method.parameters()).device
    out = [method.render(Rep(latent=grids[i:i + 100].flatten(1).to(device)), res).cpu() for i in range(0, len(grids), 100)]
    return torch.cat(out).clamp(0, 1)


def fit_flow(grids: torch.Tensor, cfg, flow: GridFlow, state: dict | None, out: Path, writer=None,
             preview=None) -> tuple[GridFlow, dict]:
    """Train `flow` on `grids` for cfg.steps steps or cfg.minutes of step time; `state` continues a run
    (from its checkpoint). Checkpoints every cfg.ckpt_every steps; `preview(module, step)` every cfg.image_every."""
    device = grids.device
    optimizer = torch.optim.Adam(flow.parameters(), lr=cfg.lr)
    ema = WeightAverage(flow, cfg.ema)
    step, seconds = 0, 0.0
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    if state is not None:
        flow.load_state_dict(state["train_model"])
        optimizer.load_state_dict(state["optimizer"])
        ema = WeightAverage(flow, cfg.ema, state["ema_updates"])
        ema.module.load_state_dict(state["model"])
        step, seconds = state["step"], state["elapsed"]
        gen.manual_seed(cfg.seed + step)  # a resumed run draws afresh, seeded by its step
    budget = 60 * cfg.minutes if cfg.minutes else math.inf
    bar = tqdm(total=cfg.steps, initial=step, desc="prior", dynamic_ncols=True, mininterval=2.0)
    save = lambda: save_prior(out / "prior.pt", cfg, ema, flow, optimizer, step, seconds)  # noqa: E731
    while step < cfg.steps and seconds < budget:
        start = time.perf_counter()
        for group in optimizer.param_groups:  # the cosine over --steps (the minutes end it earlier, at a higher lr)
            group["lr"] = cfg.lr * lr_factor(step, cfg.steps, cfg.warmup, 0.05)
        batch = grids[torch.randint(len(grids), (cfg.batch,), generator=gen, device=device)]  # (B, C, G, G)
        loss = flow.loss(batch, gen)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(flow.parameters(), 1.0)
        optimizer.step()
        ema.update(flow)
        step += 1
        seconds += time.perf_counter() - start
        bar.update(1)
        if step % 10 == 0:
            value = loss.item()
            if not math.isfinite(value):
                bar.close()
                raise UserError(f"the prior's loss became {value} at step {step}: lower --lr and rerun with --overwrite")
            bar.set_postfix(loss=f"{value:.3f}", refresh=False)
            if writer is not None:
                writer.add_scalar("prior/loss", value, step)
        if step % cfg.ckpt_every == 0:
            save()
        if preview is not None and step % cfg.image_every == 0:
            preview(ema.module, step)
    bar.close()
    save()
    return ema.module, {"step": step, "train_seconds": seconds}


def save_prior(path: Path, cfg, ema: WeightAverage, flow: GridFlow, optimizer, step: int, seconds: float) -> None:
    """The prior file, atomically: the average's weights ("model", what sample.py reads), and what a resume needs."""
    save_checkpoint(path, {"kind": "grid_flow", "prior_format": PRIOR_FORMAT, "config": dataclasses.asdict(cfg),
                           "shape": [flow.channels, flow.grid, flow.width], "model": ema.module.state_dict(),
                           "train_model": flow.state_dict(), "ema_updates": ema.updates,
                           "optimizer": optimizer.state_dict(), "step": step, "elapsed": seconds})


def unseen_halves(ckpt: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The unseen test icons (icons-large's test split, never trained on) at the checkpoint's resolution, in two
    halves: each is the other's reference, so the halves score what a perfect generator would."""
    test = load_images("icons-large", ckpt["config"]["res"], split="test").images
    return test[: len(test) // 2], test[len(test) // 2:]


def score_priors(priors: dict, method: Method, ckpt: dict, train_icons: torch.Tensor, seed: int = 0) -> dict:
    """{row: measures} for every prior (an object with `sample(n, generator)`) and the references: the unseen
    icons themselves, the training icons fed back as samples, noise and the mean icon. Each row is the mean of
    two draws, one against each half of the unseen icons (the other half setting the copy bar too)."""
    half_a, half_b = unseen_halves(ckpt)
    res = ckpt["config"]["res"]
    g = torch.Generator().manual_seed(seed)
    rows: dict[str, list[dict]] = {}

    def add(name: str, samples: torch.Tensor, reference: torch.Tensor, other: torch.Tensor) -> None:
        rows.setdefault(name, []).append(generation_scores(samples, reference, train_icons, other))

    for reference, other in ((half_a, half_b), (half_b, half_a)):
        n = len(reference)
        add("unseen icons (the other half)", other, reference, other)
        add("training icons fed back", train_icons[torch.randperm(len(train_icons), generator=g)[:n]], reference, other)
        add("uniform noise", torch.rand(n, 3, res, res, generator=g), reference, other)
        add("mean icon", train_icons.mean(0, keepdim=True).expand(n, -1, -1, -1).clone(), reference, other)
        for name, prior in priors.items():
            add(name, decode_grids(method, prior.sample(n, g), res), reference, other)
    return {name: {k: sum(d[k] for d in draws) / len(draws) for k in draws[0]} for name, draws in rows.items()}


def simple_priors(grids: torch.Tensor) -> dict:
    """The references a learned prior must beat: a PCA Gaussian and the blend of two training grids."""
    return {"Gaussian in the grids' PCA basis": GaussianPrior(grids), "blend of two training grids": BlendPrior(grids)}


def prior_table(scores: dict) -> str:
    """Markdown: one row per prior or reference, precision and recall in both feature spaces, the copy rate."""
    head = "| samples | precision, pixels | recall, pixels | precision, structure | recall, structure | copy rate |"
    lines = [head, "|---|---|---|---|---|---|"]
    for name, s in scores.items():
        lines.append(f"| {name} | {s['precision/pixels']:.2f} | {s['recall/pixels']:.2f} | {s['precision/structure']:.2f} "
                     f"| {s['recall/structure']:.2f} | {100 * s['copy_rate']:.0f}% |")
    return "\n".join(lines)


def prior_path(ckpt_path: Path) -> Path:
    """Where a checkpoint's prior lies by default: beside it, `<name>_prior.pt`."""
    return Path(ckpt_path).with_name(Path(ckpt_path).stem + "_prior.pt")


def load_prior(path: Path, ckpt: dict, device: torch.device | str = "cpu") -> GridFlow:
    """A prior file written by train_prior.py, for the checkpoint `ckpt`, in eval mode; one-line UserErrors."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no prior at {path}: train one with python train_prior.py --ckpt <checkpoint> --out <folder>, "
                        "or pass --prior")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 (torch/pickle raise many types on garbage)
        raise UserError(f"{path} is not a prior file of this project ({type(err).__name__}): pass a prior.pt "
                        "written by train_prior.py") from None
    if not isinstance(state, dict) or state.get("kind") != "grid_flow" or "model" not in state:
        raise UserError(f"{path} is not a prior file of this project: pass a prior.pt written by train_prior.py")
    channels, grid, width = state["shape"]
    if (channels, grid) != (ckpt["config"]["grid_channels"], ckpt["config"]["grid"]):
        raise UserError(f"{path} is a prior over {channels} x {grid} x {grid} grids, the checkpoint's are "
                        f"{ckpt['config']['grid_channels']} x {ckpt['config']['grid']} x {ckpt['config']['grid']}: "
                        "pass the prior trained for this checkpoint")
    flow = GridFlow(channels, grid, width)
    flow.load_state_dict(state["model"])
    return flow.to(device).eval()


def ship_prior(src: Path, dst: Path) -> None:
    """Write prior file `src` to `dst` with only what sampling reads (the average's weights, its shape and config):
    a third of its size, for use, not for resuming its training."""
    if Path(dst).exists():
        raise UserError(f"--ship {dst} exists: remove it first or pass another path")
    state = torch.load(src, map_location="cpu", weights_only=True)
    save_checkpoint(Path(dst), {k: state[k] for k in ("kind", "prior_format", "config", "shape", "model", "step", "elapsed")
                                if k in state})

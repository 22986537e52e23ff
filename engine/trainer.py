"""The one training loop, shared by train_hyper.py and train_maml.py.

A step: pick images, encode them from their observed (non-held-out) pixels, decode at a
sample of training pixels, MSE + the method's penalty, Adam. Every `eval_every` steps the
shared `Evaluator` logs the same TensorBoard tags for every method; every `ckpt_every`
steps an atomic checkpoint lets a killed run resume exactly (step, optimizer, RNG).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import shutil
import time
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from data.images import load_images
from data.pixels import heldout_mask
from engine.build import build_method
from engine.checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint
from engine.config import RESUMABLE_CHANGES, resolve_device
from engine.errors import UserError
from engine.evaluate import Evaluator
from engine.figures import save_png
from engine.sampler import PixelSampler

log = logging.getLogger(__name__)


def prepare_run(cfg, given: set[str], script: str):
    """Apply --resume / --overwrite to the output folder; returns (config, checkpoint or None)."""
    out = Path(cfg.out)
    ckpt_path = out / "ckpt.pt"
    if cfg.resume:
        ckpt = load_checkpoint(ckpt_path)
        if ckpt["script"] != script:
            raise UserError(f"{ckpt_path} was written by {ckpt['script']}.py, not {script}.py: resume it with that script")
        saved = ckpt["config"]
        for name in sorted(given - RESUMABLE_CHANGES - {"out"}):
            if saved.get(name) != getattr(cfg, name):
                raise UserError(f"--{name.replace('_', '-')} {getattr(cfg, name)} differs from the checkpoint's "
                                f"{saved.get(name)}: drop the flag to resume, or use a new --out")
        changes = {name: getattr(cfg, name) for name in given & RESUMABLE_CHANGES}
        known = {f.name for f in dataclasses.fields(cfg)}
        return type(cfg)(**{**{k: v for k, v in saved.items() if k in known}, **changes}), ckpt
    if out.exists() and any(out.iterdir()):
        if not cfg.overwrite:
            raise UserError(f"output folder {out} already exists: pass --resume to continue it, "
                            "--overwrite to replace it, or another --out")
        shutil.rmtree(out)
    return cfg, None


def train(cfg, given: set[str], script: str) -> dict:
    """Train the method described by `cfg` (a TrainConfig subclass); returns the final metrics."""
    cfg, ckpt = prepare_run(cfg, given, script)
    device = resolve_device(cfg.device)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)

    train_set = load_images(cfg.data, cfg.res)
    if ckpt is not None and ckpt["names"] != train_set.names:
        raise UserError(f"{out / 'ckpt.pt'} was trained on other images than {cfg.data}: use the same --data")
    heldout = heldout_mask(len(train_set), cfg.res, seed=0)  # (N, 1, res, res), fixed for every run
    hr_images = load_images(cfg.data, cfg.hr_supervision).images if cfg.hr_supervision else None
    sampler = PixelSampler(train_set.images, heldout, hr_images).to(device)
    images, observed = train_set.images.to(device), (~heldout).to(device)  # (N,3,res,res), (N,1,res,res)

    method = build_method(dataclasses.asdict(cfg), len(train_set)).to(device)
    optimizer = torch.optim.Adam(method.parameters(), lr=cfg.lr)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    step, elapsed = 0, 0.0
    if ckpt is not None:
        method.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        restore_rng(ckpt["rng"], gen)
        step, elapsed = ckpt["step"], ckpt["elapsed"]
        log.info("resuming %s at step %d", out, step)

    evaluator = Evaluator(train_set, heldout, cfg.hr_res, cfg.data, cfg.unseen, cfg.unseen_count)
    writer = SummaryWriter(out / "tb", purge_step=step if step else None)
    num_params = sum(p.numel() for p in method.parameters() if p.requires_grad)

    def checkpoint() -> None:
        save_checkpoint(out / "ckpt.pt", {
            "script": script, "config": dataclasses.asdict(cfg), "names": train_set.names,
            "model": method.state_dict(), "optimizer": optimizer.state_dict(),
            "step": step, "rng": capture_rng(gen), "elapsed": elapsed})

    def evaluate(with_images: bool) -> dict:
        scalars, grids = evaluator(method, with_images)
        for tag, value in scalars.items():
            writer.add_scalar(tag, value, step)
        for tag, grid in grids.items():
            writer.add_image(tag, grid, step)
        writer.flush()
        return {**scalars, **{"_grids": grids}}

    n = len(train_set)
    bar = tqdm(total=cfg.steps, initial=step, desc=f"{script} {cfg.model}", dynamic_ncols=True, mininterval=2.0)
    while step < cfg.steps and not (cfg.minutes and elapsed >= 60 * cfg.minutes):
        t0 = time.perf_counter()
        index = torch.randperm(n, generator=gen, device=device)[:cfg.batch] if cfg.batch < n else torch.arange(n, device=device)
        coords, targets = sampler.sample(index, cfg.pixels, gen)  # (B, P, 2), (B, P, 3)
        rep = method.encode(images[index], observed[index], index)
        mse = (method.decode(rep, coords) - targets).pow(2).mean()
        loss = mse + method.penalty(rep)
        # Health check, before the step so a bad loss never reaches the weights. The run stops if
        # the loss is NaN/inf or has exploded: MSE > 10. Targets lie in [0, 1] and every method
        # starts below MSE 1.3 (measured: hyper/concat/perimage/maml x sine/relu x all encodings),
        # so MSE > 10 (RMS error > 3 image ranges) is divergence, not a transient spike. A fixed bound
        # needs no reference value, so a resumed run applies exactly the same test.
        # save_checkpoint separately refuses NaN/inf weights, so the last checkpoint stays good.
        loss_value, mse_value = torch.stack([loss.detach(), mse.detach()]).tolist()  # one host sync
        if not (math.isfinite(loss_value) and mse_value <= 10.0):
            what = (f"loss became {loss_value}" if not math.isfinite(loss_value)
                    else f"loss exploded (MSE {mse_value:.3g} > 10)")
            kept = (f"the last good checkpoint {out / 'ckpt.pt'} is kept" if (out / "ckpt.pt").is_file()
                    else "no checkpoint was written")
            bar.close()  # end the progress line, so the error message starts a line of its own
            raise UserError(f"{what} at step {step}: {kept}; lower --lr and rerun with --overwrite")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        elapsed += time.perf_counter() - t0
        bar.update(1)
        if step % 10 == 0 or step == cfg.steps:
            mse_value = mse.item()  # one host sync every 10 steps, not every step
            writer.add_scalar("loss/train", loss.item(), step)
            bar.set_postfix(loss=f"{mse_value:.2e}", psnr=f"{-10 * math.log10(max(mse_value, 1e-10)):.1f}")
        if step % cfg.eval_every == 0:
            evaluate(step % cfg.image_every == 0)
        if step % cfg.ckpt_every == 0:
            checkpoint()
    bar.close()

    checkpoint()
    final = evaluate(with_images=True)
    for tag, grid in final.pop("_grids").items():
        save_png(grid, out / "figures" / (tag.split("/", 1)[1] + ".png"))
    metrics = {**final, "step": step, "train_seconds": elapsed, "parameters": num_params, "images": n}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    writer.close()
    log.info("done: %s", ", ".join(f"{k}={v:.2f}" for k, v in final.items()))
    return metrics

"""The checkpoints shipped in checkpoints/: their manifest, and the check that each still scores
what it records (tests/test_shipped.py runs it on every listed file).

    python -m api.shipped checkpoints/modulated.pt --data icons-large --split test --count 8 --res 48

measures a checkpoint and prints its manifest entry's "check" (the lead pastes it, with the
training command and the run's scores, into checkpoints/manifest.json). The score: the first
--count images of --data/--split, read at the model's resolution, encoded from all their pixels,
rendered at --res and compared with the true --res images (PSNR in dB, mean over the images).
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch

from analysis.endpoints import training_split
from analysis.scoring.evaluate import psnr
from api.model import Model, load
from data.images import load_images
from common.errors import UserError
from train.checkpoint import read_checkpoint, save_checkpoint
from train.prior import ship_prior

FOLDER = Path(__file__).resolve().parents[1] / "checkpoints"
MANIFEST = FOLDER / "manifest.json"
TOLERANCE = 0.05  # dB: a re-measurement on another CPU or torch build differs by float noise only
ENTRY = {"file": str, "command": str, "scores": dict, "check": dict}
CHECK = {"data": str, "split": str, "count": int, "res": int, "psnr": (int, float)}
# A prior's entry (a file train_prior.py wrote, for the checkpoint `of`): its first `count` samples of `seed`,
# rendered at `res`, mean PSNR (dB) against their nearest training icons of that checkpoint.
PRIOR_CHECK = {"of": str, "count": int, "seed": int, "res": int, "psnr": (int, float)}


def read_manifest(path: Path = MANIFEST) -> list[dict]:
    """The manifest's entries, each checked to have its fields; a missing file is an empty list."""
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text())["checkpoints"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UserError(f"{path} is not a manifest ({type(err).__name__}: {err}): write "
                        '{"checkpoints": [...]} as checkpoints/README.md describes') from None
    if not isinstance(entries, list):
        raise UserError(f"{path}: its \"checkpoints\" is a {type(entries).__name__}, not a list: "
                        "see checkpoints/README.md")
    for k, entry in enumerate(entries):
        problem = _problem(entry)
        if problem:
            raise UserError(f"{path}: entry {k} {problem}: see checkpoints/README.md")
    return entries


def _problem(entry) -> str:
    """What is wrong with one manifest entry, or ''."""
    if not isinstance(entry, dict):
        return "is not an object"
    bad = [name for name, kind in ENTRY.items() if not isinstance(entry.get(name), kind)]
    if not bad:
        schema = PRIOR_CHECK if "of" in entry["check"] else CHECK
        bad = [f"check.{name}" for name, kind in schema.items() if not isinstance(entry["check"].get(name), kind)]
    return f"lacks or mistypes {', '.join(bad)}" if bad else ""


def score(model: Model, data: str, split: str, count: int, res: int) -> float:
    """Mean PSNR (dB) of the model's renders at `res` of the first `count` images of data/split,
    each encoded from all its pixels at the model's resolution, against the true `res` images."""
    low = load_images(data, model.res, split).images[:count]  # (K, 3, r, r)
    truth = load_images(data, res, split).images[:count]  # (K, 3, R, R)
    return psnr(model.render(low, res), truth).mean().item()


def score_prior(model: Model, prior: Path, count: int, seed: int, res: int) -> float:
    """Mean PSNR (dB) of the prior's first `count` samples of `seed` at `res` against their nearest training icons
    (pixel distance at the model's resolution): a number that moves when the prior's weights or the sampler do."""
    samples = model.sample(count, seed, size=res, prior=prior)  # (K, 3, R, R)
    train = model.training.loaded()[0].images  # (N, 3, r, r)
    low = torch.nn.functional.interpolate(samples, size=model.res, mode="area")  # (K, 3, r, r)
    index = torch.cdist(low.flatten(1), train.flatten(1)).argmin(1)  # (K,)
    truth = train if res == model.res else load_images(model.config["data"], res, training_split(model.config)).images
    return psnr(samples, truth[index]).mean().item()


def verify(entry: dict, folder: Path = FOLDER) -> float:
    """Re-measure a manifest entry's checkpoint; returns the score, UserError when it is missing
    or scores other than it records (beyond the entry's "tolerance", default TOLERANCE)."""
    path = folder / entry["file"]
    if not path.is_file():
        raise UserError(f"{path} is listed in the manifest but missing: commit it, or remove its entry")
    check = entry["check"]
    if "of" in check:
        measured = score_prior(load(folder / check["of"], "cpu"), path, check["count"], check["seed"], check["res"])
        what = f"{check['count']} samples of seed {check['seed']} against their nearest training icons"
    else:
        measured = score(load(path, "cpu"), check["data"], check["split"], check["count"], check["res"])
        what = f"{check['count']} {check['data']}/{check['split']} images"
    tolerance = check.get("tolerance", TOLERANCE)
    if not math.isclose(measured, check["psnr"], abs_tol=tolerance):
        raise UserError(f"{path} scores {measured:.3f} dB on {what} at {check['res']} px, its manifest records "
                        f"{check['psnr']:.3f} (tolerance {tolerance}): the code changed what it computes, or the file; "
                        "retrain or re-record it")
    return measured


def ship(src: Path, dst: Path) -> None:
    """Write checkpoint `src` to `dst` without the optimizer's moments, and with only the weights that are
    used (the weight average, where the run kept one): what a user needs to encode, render and blend (a
    shipped checkpoint is for use; resuming its training needs the run's own)."""
    if dst.exists():
        raise UserError(f"--ship {dst} exists: remove it first or pass another path")
    state = {k: v for k, v in read_checkpoint(src).items() if k not in ("train_model", "ema_updates")}
    save_checkpoint(dst, {**state, "optimizer": {}})


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Measure a checkpoint for checkpoints/manifest.json.")
    parser.add_argument("ckpt", type=Path)
    parser.add_argument("--data", default="icons-large")
    parser.add_argument("--split", default="test")
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--res", type=int, default=48)
    parser.add_argument("--prior-of", type=Path, default=None,
                        help="CKPT is a prior file (train_prior.py) for this checkpoint: measure its samples instead")
    parser.add_argument("--seed", type=int, default=0, help="with --prior-of: the samples' seed")
    parser.add_argument("--ship", type=Path, default=None,
                        help="also write the checkpoint here without its optimizer state (a third of its size), "
                             "as shipped in checkpoints/")
    args = parser.parse_args(argv)
    if args.count < 1:
        raise UserError(f"--count must be positive, got {args.count}")
    if args.prior_of is not None:
        if args.ship is not None:
            ship_prior(args.ckpt, args.ship)
            args.ckpt = args.ship  # measure what is shipped
        measured = score_prior(load(args.prior_of, "cpu"), args.ckpt, args.count, args.seed, args.res)
        check = {"of": args.prior_of.name, "count": args.count, "seed": args.seed, "res": args.res,
                 "psnr": round(measured, 3)}
        print(json.dumps({"check": check}, indent=2))
        return check
    if args.ship is not None:
        ship(args.ckpt, args.ship)
        args.ckpt = args.ship  # measure what is shipped
    measured = score(load(args.ckpt, "cpu"), args.data, args.split, args.count, args.res)
    check = {"data": args.data, "split": args.split, "count": args.count, "res": args.res, "psnr": round(measured, 3)}
    print(json.dumps({"check": check}, indent=2))
    return check


if __name__ == "__main__":
    from common.cli import run_main

    run_main(main)

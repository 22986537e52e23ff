"""The modulated method's training recipe: variants trained for the same steps, scored alike.

    python -m experiments.recipe --out results/recipe          # the variants below, 600 steps each

Each variant is the registry's `modulated` plus a few train_hyper.py flags, trained for --steps
steps (a step budget, so that runs compare whatever the load of the machine) on icons-all and
scored on the same 100 unseen icons (icons-large's test split). Beside the training run's own
metrics, the table gives PSNR after 0, 1 and 3 latent steps at test time: on icons100's held-out
pixels (what the test-time rate is chosen by) and on the unseen icons. Writes recipe.md and
recipe.json; a rerun reuses finished runs.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

from analysis.scoring.inner_steps import inner_step_table
from common.cli import parse_config, run_main
from common.errors import UserError
from common.runfolder import check_reuse, claim
from experiments.scaling import COLUMNS, train_run
from train.checkpoint import method_from_checkpoint
from analysis.endpoints import training_set, unseen_images

# name -> train_hyper.py flags on top of the registry's modulated (one lever each against "default")
# The registry's modulated before the long-run recipe (one rate of 1e-3, no warmup, clipping or weight average):
# the variants measured against it keep their meaning as the registry's defaults move on.
EARLIER = "--lr 1e-3 --base-lr 1 --warmup 0 --clip 0 --skip-spikes 0 --ema 0"
STABLE = "--warmup 100 --clip 1 --skip-spikes 3 --ema 0.999"
# name -> train_hyper.py flags on top of the registry's modulated (one lever each against its reference)
VARIANTS = {
    "grid12x16": f"{EARLIER} --grid 12 --grid-channels 16 --hr-supervision 0",  # the same floats, coarser and deeper
    "grid24x4": f"{EARLIER} --hr-supervision 0",                  # the 24 x 24 x 4 grid, 48 px targets only
    "latent_steps1": f"{EARLIER} --latent-steps 1 --hr-supervision 0",  # one trained first-order Meta-SGD step
    "hr256": EARLIER,                                             # the earlier default: half of each step's pixels
    #                                                               from true 256 px renders
    "lr3e-3": f"{EARLIER} --lr 3e-3",
    "pixels256": f"{EARLIER} --pixels 256",
    "edges": f"{EARLIER} --edge-share 0.5",                       # half of the 256 px pixels drawn on edges
    "ensemble": f"{EARLIER} --grid-read ensemble",                # LIIF's local ensemble of the 4 nearest cells
    "hidden128": f"{EARLIER} --hidden 128",                       # a shared SIREN twice as wide (not per icon)
    "lr3e-3_pixels256": f"{EARLIER} --lr 3e-3 --pixels 256",      # both: the faster rate on cheaper steps
    # Training that can run long (train/schedule.py, train/health.py, train/ema.py): warmup, gradient
    # clipping (the global norm is ~0.1-0.2 after the first steps, so 1 clips only jumps), skipped loss
    # spikes and a weight average that evaluation and checkpoints read.
    "stable": f"{STABLE} --lr 1e-3 --base-lr 1",
    "stable_lr3e-3": f"{STABLE} --lr 3e-3 --base-lr 1",
    # ... and the shared SIREN at a tenth of the encoder's rate: the registry's modulated now
    "stable_lr3e-3_base0.1": f"{STABLE} --lr 3e-3 --base-lr 0.1",
    # Capacity on top of the registry's modulated (the long-run recipe), per icon still 2,304 floats:
    "default_hidden128": "--hidden 128",                          # a shared SIREN twice as wide
    "default_latent_steps1": "--latent-steps 1",                  # one trained first-order Meta-SGD step on the grid
    # Supervision that does not blur: the registry's modulated, and its changed icons rendered from their true
    # 256 px renders (warped there, area-averaged to 48 px) instead of a bilinear warp of the 48 px image
    "default": "",
    "default_changes_from_hr": "--changes-from-hr",
}
STEPS = (0, 1, 3)


@dataclass
class RecipeConfig:
    """Train modulated variants for the same steps; table of their scores and test-time steps."""

    out: str = "runs/recipe"
    variants: str = ",".join(VARIANTS)  # names of VARIANTS, comma separated
    steps: int = 600                    # training steps of each run
    extra: str = ""                     # more train_hyper.py flags for every run, space separated
    rates: str = "0.1,0.3,1,3,10"       # test-time rate scales swept on the last variant ("" = none)
    device: str = "auto"


def step_scores(ckpt_path: Path, pool: int = 100) -> dict[str, dict[int, float]]:
    """PSNR after STEPS latent steps on the run's first `pool` training icons and its unseen icons."""
    method, ckpt = method_from_checkpoint(ckpt_path)
    images, observed = training_set(ckpt)
    return inner_step_table(method, images.images[:pool], ~observed[:pool], unseen_images(ckpt["config"]), steps=STEPS)


def rate_sweep(ckpt_path: Path, scales: list[float], steps: int = 3, pool: int = 100) -> dict[float, float]:
    """{scale: PSNR on the run's first `pool` training icons' held-out pixels after `steps` latent steps
    at the method's rates times scale}: the test-time rate is chosen on icons100, never on unseen icons."""
    method, ckpt = method_from_checkpoint(ckpt_path)
    images, observed = training_set(ckpt)
    base = method.log_rate.data.clone()
    scores = {}
    for scale in scales:
        method.log_rate.data = base + math.log(scale)
        scores[scale] = inner_step_table(method, images.images[:pool], ~observed[:pool], None, steps=(steps,))[
            "heldout_pixels"][steps]
    return scores


def main(argv=None) -> dict:
    cfg, _ = parse_config(RecipeConfig, argv)
    names = [v.strip() for v in cfg.variants.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown or not names:
        raise UserError(f"unknown variant {unknown[0] if unknown else '(none)'} in --variants: use {','.join(VARIANTS)}")
    out = Path(cfg.out)
    check_reuse(out, "recipe")  # a rerun continues only a recipe folder, never a stranger's
    claim(out, "recipe", dataclasses.asdict(cfg))
    rows = []
    for name in names:
        metrics = train_run(out, name, VARIANTS[name].split(), cfg)
        scores_file = out / name / "steps.json"
        if not scores_file.is_file():
            scores_file.write_text(json.dumps(step_scores(out / name / "ckpt.pt")))
        scores = {row: {int(k): v for k, v in by_k.items()} for row, by_k in json.loads(scores_file.read_text()).items()}
        rows.append({"variant": name, "flags": VARIANTS[name] or "(registry)", "steps": metrics.get("step"),
                     "train s": round(metrics["train_seconds"]) if "train_seconds" in metrics else None,
                     **{label: metrics.get(key) for key, label in COLUMNS.items()},
                     **{f"icons100 held-out, {k} steps": scores["heldout_pixels"][k] for k in STEPS},
                     **{f"unseen icons, {k} steps": scores["unseen_images"][k] for k in STEPS},
                     **{f"unseen held-out, {k} steps": scores["unseen_heldout_pixels"][k] for k in STEPS}})
    cell = lambda v: "n/a" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(cell(v) for v in r.values()) + " |" for r in rows]
    if cfg.rates:
        # The test-time rate, swept on the last variant: icons100's held-out pixels after 3 steps.
        scales = [float(v) for v in cfg.rates.split(",")]
        sweep = rate_sweep(out / names[-1] / "ckpt.pt", scales)
        lines += ["", f"Test-time rate of `{names[-1]}` (its rates times the scale), icons100 held-out pixels after "
                  "3 latent steps:", "", "| scale | " + " | ".join(f"{k:g}" for k in sweep) + " |",
                  "|---|" + "---|" * len(sweep), "| dB | " + " | ".join(f"{v:.2f}" for v in sweep.values()) + " |"]
    (out / "recipe.md").write_text("\n".join(lines) + "\n")
    (out / "recipe.json").write_text(json.dumps({"rows": rows, "steps": cfg.steps}, indent=2))
    print("\n".join(lines))
    return {"rows": rows}


if __name__ == "__main__":
    run_main(main)

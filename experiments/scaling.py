"""How the modulated method's quality on unseen icons grows with its training icons and its size.

    python -m experiments.scaling --out results/scaling          # 8 runs of 600 steps, about 30 minutes on 2 CPU cores

Data size: `modulated` trained on the first N icons of icons-all (N in --counts; icons-all:100
is icons100, the exercise's set) with and without geometric changes (--changes), each for the
same number of steps. Representation size: the grid G x C in --grids on all 1,445 icons with the
registry's changes (the run at the default grid is shared with the data-size runs). Every run
is scored on the same 100 unseen icons (icons-large's test split). One more run at the default grid
uses FiLM (a scale and a shift per unit) instead of shifts. Writes scaling.md,
scaling.json and data_size.png (unseen PSNR against N, with the trivial references).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import train_hyper
from analysis.reporting.line_plot import line_figure
from common.cli import PROBABILITY, Range, check_out_folder, parse_config, run_main
from data.images import load_images
from common.errors import UserError
from train.registry import spec
from common.runfolder import check_reuse, claim
from train.config import HyperConfig

COLUMNS = {"psnr/train_pixels": "train px", "psnr/heldout_pixels": "held-out px", "psnr/unseen_images": "unseen icons",
           "psnr/unseen_heldout_pixels": "unseen held-out px", "psnr/unseen_upsample_256": "unseen 256 px"}

REFERENCES = {"reference/mean_icon_unseen": "mean icon, unseen", "reference/neighbours_unseen_heldout":
              "neighbours, unseen held-out", "reference/unseen_lanczos_256": "Lanczos, unseen 256 px"}


@dataclass
class ScalingConfig:
    """Train modulated at several data and grid sizes; table and figure of its unseen-icon scores."""

    out: str = "runs/scaling"
    counts: str = "100,400,1445"    # training icons: the first N of icons-all
    changes: str = "0,0.5"          # --changes of the data-size runs
    grids: str = "6x16,12x16,24x12" # G x C of the size runs, besides the default grid (24 x 4); 24 x 12 = 6,912
    #                                 floats, the values of a 48 px icon itself
    film: bool = True               # also one run with --modulation film (scale and shift) at the default grid
    steps: int = 600                # training steps of each run: a step budget, so that runs compare whatever
    #                                 the load of a shared machine (a time budget gives fewer steps under load)
    extra: str = ""                 # more train_hyper.py flags for every run, space separated (e.g. tiny sizes)
    device: str = "auto"


def _grids(text: str) -> list[tuple[int, int]]:
    grids = [g.lower().split("x") for g in text.split(",") if g.strip()]
    if not all(len(g) == 2 and all(v.strip().isdigit() and int(v) >= 1 for v in g) for g in grids):
        raise UserError(f"--grids {text!r}: write sizes as GxC with G and C positive whole numbers, comma separated, "
                        "e.g. 6x16,24x16")
    return [(int(g), int(c)) for g, c in grids]


def _numbers(text: str, flag: str, kind: type, allowed: Range, example: str) -> list:
    """A comma list of --counts or --changes, each value in `allowed`."""
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{flag} {text!r}: write {example}") from None
    bad = next((v for v in values if not allowed.holds(v)), None)
    if bad is not None:
        raise UserError(allowed.refusal(flag, bad))
    return values


def _argv(out: Path, name: str, flags: list[str], cfg: ScalingConfig) -> list[str]:
    """train_hyper.py's flags for run `name` (_run adds --resume or --overwrite where the folder needs one)."""
    return ["--model", "modulated", "--minutes", "0", "--steps", str(cfg.steps), "--eval-every", "1000000",
            "--device", cfg.device, "--out", str(out / name), *flags, *cfg.extra.split()]


def _check(out: Path, name: str, flags: list[str], cfg: ScalingConfig) -> None:
    """Run `name`'s config, every value checked as train_hyper.py checks it, and its images read (--counts
    beyond the data set), before any run trains."""
    try:
        run = train_hyper.config(_argv(out, name, flags, cfg))[0]
        load_images(run.data, run.res)
    except UserError as err:
        raise UserError(f"scaling run {name}: {err}") from None


def train_run(out: Path, name: str, flags: list[str], cfg: ScalingConfig) -> dict:
    """One training run (reused when its metrics exist: a rerun resumes the sweep)."""
    run = out / name
    if (run / "metrics.json").is_file():
        return json.loads((run / "metrics.json").read_text())
    print(f"\n=== {name}")
    # A run killed before its first checkpoint left only its logs: it starts afresh in its own folder.
    resume = ["--resume"] if (run / "ckpt.pt").is_file() else ["--overwrite"] if run.exists() else []
    return train_hyper.main([*_argv(out, name, flags, cfg), *resume])


def main(argv=None) -> dict:
    cfg, _ = parse_config(ScalingConfig, argv)
    out = check_out_folder(cfg.out)
    counts = _numbers(cfg.counts, "--counts", int, Range(1), "training icon counts, comma separated, e.g. 100,400,1445")
    changes = _numbers(cfg.changes, "--changes", float, PROBABILITY, "probabilities, comma separated, e.g. 0,0.5")
    grids = _grids(cfg.grids)
    if counts and not changes:
        raise UserError("--changes is empty: the data-size runs need at least one, e.g. --changes 0")
    if not counts and not grids and not cfg.film:
        raise UserError("no runs to make: pass --counts, --grids or --film")
    default_changes, default_grid = spec("modulated").defaults["changes"], (HyperConfig.grid, HyperConfig.grid_channels)
    top = max(counts, default=1445)  # the grid and FiLM runs train on the most icons
    plan = {}  # (icons, changes, grid[, modulation]) -> (run name, its train_hyper.py flags)
    for n in counts:
        for p in changes:
            plan[(n, p, default_grid)] = (f"n{n}_changes{p:g}", ["--data", f"icons-all:{n}", "--changes", str(p)])
    for g, c in grids:
        plan[(top, default_changes, (g, c))] = (f"grid{g}x{c}", [
            "--data", f"icons-all:{top}", "--changes", str(default_changes), "--grid", str(g), "--grid-channels", str(c)])
    if cfg.film:
        plan[(top, default_changes, default_grid, "film")] = (
            "film", ["--data", f"icons-all:{top}", "--changes", str(default_changes), "--modulation", "film"])
    for name, flags in plan.values():  # every flag of every run, before the first run trains
        _check(out, name, flags, cfg)
    check_reuse(out, "scaling")  # a rerun continues the sweep in its own folder, never in a stranger's
    claim(out, "scaling", dataclasses.asdict(cfg))
    runs = {key: train_run(out, name, flags, cfg) for key, (name, flags) in plan.items()}
    rows = [{"icons": n, "changes": p, "grid": f"{g} x {g} x {c}", "modulation": rest[0] if rest else "shift",
             "floats": g * g * c, "steps": m.get("step"),
             "train s": int(m["train_seconds"]) if "train_seconds" in m else None,
             **{label: m.get(key) for key, label in COLUMNS.items()}}
            for (n, p, (g, c), *rest), m in runs.items()]
    refs = next(iter(runs.values()))
    references = {label: refs[key] for key, label in REFERENCES.items() if key in refs}
    cell = lambda v: "n/a" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)  # noqa: E731
    head = ["training icons", "changes", "grid", "modulation", "floats / icon", "steps", "train s", *COLUMNS.values()]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(v) for v in r.values()) + " |" for r in rows]
    lines += ["", "References on the same unseen icons: " + ", ".join(f"{k} {v:.2f} dB" for k, v in references.items()),
              f"A 48 px icon has {48 * 48 * 3:,} values."]
    # The generalization gap is the story: training pixels against unseen icons (all pixels read), with and
    # without changes; the unseen held-out pixels run about parallel to the unseen icons (the table has them).
    series = {f"{what}, changes {p:g}": [(n, runs[(n, p, default_grid)][key]) for n in counts]
              for key, what in (("psnr/unseen_images", "unseen icons"), ("psnr/train_pixels", "training px"))
              for p in changes}
    if counts:
        # Only the reference of a plotted metric: the mean icon on unseen icons, all pixels read (the
        # neighbours score unseen held-out pixels, which the figure does not draw).
        plotted = {REFERENCES["reference/mean_icon_unseen"]}
        line_figure(series, {k: v for k, v in references.items() if k in plotted}, out / "data_size.png",
                    f"modulated ({default_grid[0]} x {default_grid[0]} x {default_grid[1]} grid, {cfg.steps} steps "
                    "each): unseen icons against training icons", "training icons (icons-all:N, log scale)")
    (out / "scaling.md").write_text("\n".join(lines) + "\n")
    (out / "scaling.json").write_text(json.dumps({"rows": rows, "references": references}, indent=2))
    print("\n".join(lines))
    return {"rows": rows, "references": references}


if __name__ == "__main__":
    run_main(main)

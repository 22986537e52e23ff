"""Unseen-icon PSNR against training minutes: long runs beside the study's short ones.

    python -m experiments.compute_curve --runs runs/modulated_long,runs/maml_long --study results/study --out results/compute

Each run's track.jsonl (analysis/scoring/track.py) gives PSNR on the held-out pixels of the same
16 tracked unseen icons every --track-every steps, against its training seconds (step time only)
or, with `--x steps`, its steps (the axis that does not depend on the machine or on what else ran
beside it); its metrics.json gives the final scores on all 100 unseen icons. A run stopped before
its end (a track.jsonl, no metrics.json) is drawn as far as it went, its final scores n/a. The
study's runs of the same methods are drawn beside them. Writes compute.md (the final scores with
steps and minutes), compute.json and compute.png.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from analysis.reporting.line_plot import line_figure
from analysis.scoring.track import read_track
from common.cli import parse_config, run_main
from common.errors import UserError
from common.runfolder import check_reuse, claim

COLUMNS = {"psnr/unseen_images": "unseen icons", "psnr/unseen_heldout_pixels": "unseen held-out px",
           "psnr/unseen_upsample_256": "unseen 256 px", "psnr/train_pixels": "train px",
           "psnr/heldout_pixels": "held-out px"}


@dataclass
class ComputeConfig:
    """Draw unseen PSNR against training minutes for long runs and the study's runs of the same methods."""

    runs: str = "runs/modulated_long,runs/maml_long"  # run folders (train_*.py --out), comma separated
    study: str = "results/study"                       # a study folder: its runs of the same methods are drawn too
    out: str = "runs/compute"
    x: str = field(default="minutes", metadata={"choices": ("minutes", "steps")})  # the figure's x axis


def _read(folder: Path) -> tuple[dict | None, tuple[dict, list[dict]]]:
    """(metrics.json or None for a run stopped before its end, (track header, track records)) of a run folder."""
    metrics, track = folder / "metrics.json", folder / "track.jsonl"
    if not track.is_file():
        raise UserError(f"{folder} has no track.jsonl: pass the --out folder of a finished training run (or of one "
                        "stopped after some --track-every steps)")
    return (json.loads(metrics.read_text()) if metrics.is_file() else None), read_track(track)


def _stopped(header: dict, track: list[dict]) -> dict:
    """What a stopped run's row can say: its model, the last tracked step and training seconds."""
    last = [r for r in track if "step" in r][-1]
    return {"step": last["step"], "train_seconds": last.get("train_seconds", 0.0), "config": {"model": header["model"]},
            "stopped": True}


def largest_dip(track: list[dict], key: str = "unseen_heldout_pixels", after: float = 0.1) -> float | None:
    """The most a tracked curve fell below its own running best, counted after the first `after` of its steps (dB)."""
    points = [(r["step"], r[key]) for r in track if key in r]
    if len(points) < 2:
        return None
    best, dip, start = -float("inf"), 0.0, after * points[-1][0]
    for step, value in points:
        best = max(best, value)
        if step >= start:
            dip = max(dip, best - value)
    return dip


def main(argv=None) -> dict:
    cfg, _ = parse_config(ComputeConfig, argv)
    runs = list(dict.fromkeys(Path(r.strip()) for r in cfg.runs.split(",") if r.strip()))  # in the order given
    if not runs:
        raise UserError("--runs names no run folder: pass e.g. runs/modulated_long")
    found, short = {}, {}  # the long runs first, then the study's: line_plot's colours pair them (dark, light)
    for folder in runs:
        metrics, track = _read(folder)
        metrics = metrics if metrics is not None else _stopped(*track)
        model = metrics["config"]["model"]
        name = folder.name if model in folder.name else f"{model}, {folder.name}"  # the model named once
        found[name + (" (stopped)" if metrics.get("stopped") else "")] = (metrics, track)
        study_run = Path(cfg.study) / "runs" / metrics["config"]["model"]
        if cfg.study and study_run.is_dir():
            short[f"{metrics['config']['model']}, study"] = _read(study_run)
    found.update(short)
    check_reuse(Path(cfg.out), "compute_curve")  # a rerun writes again only into its own folder
    out = claim(Path(cfg.out), "compute_curve", dataclasses.asdict(cfg))
    by_steps = cfg.x == "steps"
    series = {label: [(r["step"] if by_steps else r["train_seconds"] / 60, r["unseen_heldout_pixels"]) for r in track
                      if r.get("step") and r.get("train_seconds") and "unseen_heldout_pixels" in r]
              for label, (_, (_, track)) in found.items()}
    rows = [{"run": label, "steps": m["step"], "minutes": round(m["train_seconds"] / 60, 1),
             "threads": m.get("threads"), **{name: m.get(key) for key, name in COLUMNS.items()},
             "largest dip": largest_dip(track)}
            for label, (m, (_, track)) in found.items()]
    header = next(iter(found.values()))[1][0]  # the tracked icons are the same in every run on this data
    neighbours = header.get("references", {}).get("neighbours_unseen_heldout")
    references = {"neighbour interpolation": neighbours} if neighbours is not None else {}
    longest = max(x for pts in series.values() for x, _ in pts)
    marks = (100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000) if by_steps else (0.5, 1, 2, 5, 10, 20, 40, 80)
    ticks = [t for t in marks if t <= longest * 1.1]
    what = "steps" if by_steps else "minutes"
    line_figure(series, references, out / "compute.png", f"Unseen icons' held-out pixels (16 tracked icons) against training "
                f"{what}", f"training {what} ({'' if by_steps else 'step time, '}log scale)", x_ticks=ticks, size=(700, 420))
    cell = lambda v: "n/a" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(cell(v) for v in r.values()) + " |" for r in rows]
    lines += ["", "Final scores on all 100 unseen icons (metrics.json; n/a for a run stopped before its end, whose "
              "steps and minutes are those of its last tracked step); the figure's curves are the 16 tracked ones"
              + (f", on which neighbour interpolation of the held-out pixels scores {neighbours:.2f} dB." if references
                 else ".")
              + " \"largest dip\": how far (dB) the tracked unseen held-out curve fell below its own running best "
              "after the first tenth of the run's steps."]
    (out / "compute.md").write_text("\n".join(lines) + "\n")
    (out / "compute.json").write_text(json.dumps({"rows": rows, "series": series}, indent=2))
    print("\n".join(lines))
    return {"rows": rows}


if __name__ == "__main__":
    run_main(main)

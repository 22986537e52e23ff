"""The README's results-at-a-glance table, computed from a study's results.json.

One row per method: the steps it trained for (a minutes budget makes as many as the machine
allows: `python study.py --steps-from FOLDER` repeats a run's counts), how well it fits the
training icons, how it generalizes (held-out pixels,
unseen icons' held-out pixels, 256 px renders of unseen icons) and its best interpolation mode
on the known-midpoint benchmark's unseen icons, with the trivial references in their columns.
It is a view of numbers the study already wrote, so it is derived here rather than stored
twice; tests/test_readme.py checks the README holds exactly what this prints.

    python -m analysis.reporting.glance results/study     # prints the table to paste
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from analysis.reporting.report import POOL_COLUMNS

HEADER = ("| method | training icons | steps | train px dB | held-out px dB | unseen held-out px dB | "
          "256 px, unseen icons dB | best interpolation, unseen icons: mode, frame PSNR dB |")
# The benchmark's references on the true endpoints, named for a reader who has not seen its table.
MIDPOINT_REFERENCES = {"pixel/crossfade": "pixel cross-fade of the true endpoints (reference)",
                       "pixel/warp": "warp-and-blend of the true endpoints (reference)"}


def cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def best_mode(midpoints: dict, method: str) -> str:
    """The method's best mode by frame PSNR on the benchmark, or n/a if it cannot encode the
    changed icons (a code table, a per-image SIREN)."""
    modes = {key.split("/", 1)[1]: score["frame_psnr"] for key, score in midpoints.items()
             if key.split("/", 1)[0] == method}
    if not modes:
        return "n/a"
    mode = max(modes, key=modes.get)
    return f"{mode} {modes[mode]:.2f}"


def training_cells(summary: dict, name: str) -> list[str]:
    """The method's training columns on the study's icons, with the score over all its own icons
    beside where it trained on more (modulated: 1,445). A study writes both (<column>_all_icons);
    a results.json from before has the study-icon score in its inner-step table (0 steps)."""
    row = summary["methods"][name]
    if any(f"{k}_all_icons" in row for k in POOL_COLUMNS):
        return [f"{cell(row[k])} ({row['train_icons']:,} icons: {cell(row[f'{k}_all_icons'])})" for k in POOL_COLUMNS]
    study_icons = min((r["train_icons"] for r in summary["methods"].values() if r.get("train_icons")), default=0)
    zero = {k: (summary.get("inner_steps", {}).get(name, {}).get(k) or {}).get("0") for k in POOL_COLUMNS}
    if study_icons and (row.get("train_icons") or 0) > study_icons and None not in zero.values():
        return [f"{cell(zero[k])} ({row['train_icons']:,} icons: {cell(row[k])})" for k in POOL_COLUMNS]
    return [cell(row[k]) for k in POOL_COLUMNS]


def glance_table(summary: dict) -> str:
    methods, refs = summary["methods"], summary["references"]
    midpoints = summary.get("known_midpoints_unseen", {})
    lines = [HEADER, "|---|---|---|---|---|---|---|---|"]
    for name, row in methods.items():
        steps = "n/a" if row.get("steps") is None else f"{row['steps']:,}"
        icons = "n/a" if row.get("train_icons") is None else f"{row['train_icons']:,}"
        lines.append(f"| {name} | {icons} | {steps} | " + " | ".join(training_cells(summary, name)) + " | "
                     f"{cell(row['unseen_heldout_pixels'])} | {cell(row['unseen_upsample'])} | "
                     f"{best_mode(midpoints, name)} |")
    mean, neighbours, lanczos = refs["mean_icon"], refs["neighbours"], refs["lanczos"]
    lines.append(f"| mean icon (reference) |  |  | {cell(mean['train_pixels'])} | {cell(mean['heldout_pixels'])} | "
                 f"{cell(mean['unseen_heldout_pixels'])} |  |  |")
    lines.append(f"| neighbour interpolation (reference) |  |  |  | {cell(neighbours['heldout_pixels'])} | "
                 f"{cell(neighbours['unseen_heldout_pixels'])} |  |  |")
    lines.append(f"| Lanczos (reference) |  |  |  |  |  | {cell(lanczos['unseen_upsample'])} |  |")
    for key, label in MIDPOINT_REFERENCES.items():
        if key in midpoints:
            lines.append(f"| {label} |  |  |  |  |  |  | {midpoints[key]['frame_psnr']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a study's output folder (holds results.json)")
    args = parser.parse_args(argv)
    print(glance_table(json.loads((args.run / "results.json").read_text())))


if __name__ == "__main__":
    main()

"""Two study runs side by side: is a rerun's table the committed one, within the noise?

    python -m analysis.reporting.compare_runs results/study results/study_seed1   # Markdown to stdout
    python -m analysis.reporting.compare_runs results/study results/study_seed1 --out results/study_seed1/compare.md

For every method in both runs' results.json: its steps and its headline scores (the study's
first table, the 256 px columns and the best known-midpoint path on unseen icons) in each run,
and their difference. A difference of NOISE_DB or more is marked: two seeds of one command at the
same steps differed by up to that much (results/README.md), so a smaller one is a tie and a rerun
whose every difference is smaller reproduces the table. A score at or below the mean icon's level
(the highest of the mean icon's scores in the committed run's references, the known-midpoint
benchmark's constant frames included) in both runs is what a
model that has not learned the images scores: its difference is shown, marked "at the mean icon",
and left out of the verdict (such a score swings between seeds more than a method's does).
"""
from __future__ import annotations

import json
from pathlib import Path

from common.cli import OneLineParser, run_main
from common.errors import UserError

NOISE_DB = 0.8  # the pages' one noise figure: differences under it are ties (results/README.md)
# Above this a score is a fit to 8-bit precision or finer (the per-image SIREN's and `local`'s own pixels): its
# dB swing between seeds is no visible difference, and the noise figure holds below it (results/README.md)
FIT_DB = 40.0
COLUMNS = {"train_pixels": "train px", "heldout_pixels": "held-out px", "unseen_images": "unseen icons",
           "unseen_heldout_pixels": "unseen held-out px", "upsample": "256 px, training icons",
           "unseen_upsample": "256 px, unseen icons", "midpoints": "known midpoints, unseen, best path"}


def headline(summary: dict, name: str) -> dict[str, float | None]:
    """A method's scores in COLUMNS from a study's results.json (None where it has none). The
    training columns are over the method's own training icons (<column>_all_icons where a study
    also scored it on the study's fewer icons), so that runs of any version compare alike."""
    row = summary["methods"][name]
    paths = [v["frame_psnr"] for k, v in summary.get("known_midpoints_unseen", {}).items() if k.split("/")[0] == name]
    return {**{k: row.get(f"{k}_all_icons", row.get(k)) for k in COLUMNS if k != "midpoints"},
            "midpoints": max(paths, default=None)}


def compare(committed: dict, rerun: dict) -> tuple[str, dict]:
    """Markdown (a block of three rows per method: committed, rerun, difference) and
    {"largest": (dB, method, column), "within_noise": bool, "methods": [...],
    "beyond": [(method, column, committed dB, rerun dB), ...] the differences of NOISE_DB or more}."""
    names = [n for n in committed["methods"] if n in rerun["methods"]]
    lines = ["| method | run | steps | " + " | ".join(f"{c} dB" for c in COLUMNS.values()) + " |",
             "|---|---|---|" + "---|" * len(COLUMNS)]
    largest, beyond = (0.0, None, None), []
    constant = committed.get("known_midpoints_unseen", {}).get("mean/constant", {}).get("frame_psnr")  # the benchmark's
    floor = max([*committed.get("references", {}).get("mean_icon", {}).values(),  # mean-icon frames, dB
                 *([constant] if constant is not None else [])], default=float("-inf"))
    cell = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    for name in names:
        a, b = headline(committed, name), headline(rerun, name)
        diffs = {k: None if a[k] is None or b[k] is None else b[k] - a[k] for k in COLUMNS}
        blind = {k for k, d in diffs.items() if d is not None and max(a[k], b[k]) <= floor}  # no image learned
        for k, d in diffs.items():
            if d is None or k in blind:
                continue
            if abs(d) > abs(largest[0]):
                largest = (d, name, COLUMNS[k])
            if abs(d) >= NOISE_DB:
                beyond.append((name, COLUMNS[k], a[k], b[k]))
        marked = [("n/a" if d is None else f"{d:+.2f}" + (" (at the mean icon)" if k in blind else
                                                         " (beyond noise)" if abs(d) >= NOISE_DB else ""))
                  for k, d in diffs.items()]
        steps = [committed["methods"][name].get("steps"), rerun["methods"][name].get("steps")]
        lines += [f"| {name} | committed | {steps[0]} | " + " | ".join(cell(v) for v in a.values()) + " |",
                  f"| {name} | rerun | {steps[1]} | " + " | ".join(cell(v) for v in b.values()) + " |",
                  f"| {name} | difference | | " + " | ".join(marked) + " |"]
    within = abs(largest[0]) < NOISE_DB
    verdict = (f"Largest difference above the mean icon's level ({floor:.2f} dB): {largest[0]:+.2f} dB ({largest[1]}, "
               f"{largest[2]}); "
               + ("every difference is under" if within else "at least one difference is beyond")
               + f" the noise figure of {NOISE_DB} dB." if largest[1] else "No common scores.")
    return "\n".join(lines) + "\n\n" + verdict + "\n", {"largest": largest, "within_noise": within, "methods": names,
                                                       "beyond": beyond}


def read_summary(folder: Path) -> dict:
    try:
        return json.loads((folder / "results.json").read_text())
    except (OSError, ValueError) as err:
        raise UserError(f"{folder}: no readable results.json ({type(err).__name__}): give a study's output folder, "
                        "e.g. results/study") from None


def main(argv: list[str] | None = None) -> dict:
    parser = OneLineParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("committed", type=Path, help="a study's output folder (holds results.json)")
    parser.add_argument("rerun", type=Path, help="another study's output folder, e.g. run with --steps-from")
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    args = parser.parse_args(argv)
    text, result = compare(read_summary(args.committed), read_summary(args.rerun))
    print(text, end="")
    if args.out:
        args.out.write_text(text)
    return result


if __name__ == "__main__":
    run_main(main)

"""A study's step budgets given as counts rather than minutes: `python study.py --steps-from FOLDER`
reads the steps each method made in a committed study folder, `--steps` takes them from the
command line. study.budgets turns them into each method's training budget."""
from __future__ import annotations

import json
from pathlib import Path

from common.errors import UserError


def committed_steps(folder: str, names: list[str]) -> dict[str, int]:
    """The steps each of `names` made in the study folder `folder`: its results.json's methods table,
    else runs/<method>/metrics.json, else the last record of runs/<method>/track.jsonl."""
    root = Path(folder)
    if not root.is_dir():
        raise UserError(f"--steps-from {folder}: no such folder: give a study's output folder, e.g. results/study")

    def read(path: Path):
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise UserError(f"--steps-from {folder}: cannot read {path} ({err})") from None

    table = read(root / "results.json").get("methods", {}) if (root / "results.json").is_file() else {}
    steps, missing = {}, []
    for name in names:
        count = (table.get(name) or {}).get("steps")
        run = root / "runs" / name
        if count is None and (run / "metrics.json").is_file():
            count = read(run / "metrics.json").get("step")
        if count is None and (run / "track.jsonl").is_file():
            lines = [line for line in (run / "track.jsonl").read_text().splitlines() if line.strip()]
            count = json.loads(lines[-1]).get("step") if len(lines) > 1 else None  # line 1 is the header
        if isinstance(count, int) and count > 0:
            steps[name] = count
        else:
            missing.append(name)
    if missing:
        raise UserError(f"--steps-from {folder}: no step count for {', '.join(missing)} (looked in results.json, "
                        f"runs/<method>/metrics.json and runs/<method>/track.jsonl): leave it out of --methods "
                        f"or give it one with --steps {missing[0]}=N")
    return steps


def parse_steps(text: str, names: list[str]) -> dict[str, int]:
    """--steps: "N" for every method, or "name=N,name=N" for some."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if len(items) == 1 and "=" not in items[0]:
        items = [f"{name}={items[0]}" for name in names]
    steps = {}
    for item in items:
        name, _, count = item.partition("=")
        name = name.strip()
        if name not in names:
            raise UserError(f"--steps {text!r}: {name or item!r} is not one of the study's methods ({','.join(names)})")
        if not count.strip().isdigit() or int(count) < 1:
            raise UserError(f"--steps {text!r}: write a positive step count, as 2000 or {name}=2000")
        steps[name] = int(count)
    return steps

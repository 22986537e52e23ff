"""Run folders belong to the project: every folder a script writes carries a marker, MARKER, from the
moment the script creates it: {"kind": the script, "config": its flags, "code_version": the git commit,
"uncommitted_changes": whether tracked files differed from it}.

--overwrite and --resume, and a script that writes again into a folder of its own (experiments/scaling.py,
upsample.py, similarity.py rerun), act only on a folder that carries one. Any other folder with files in
it is refused with one line naming it, so a typo in --out (a folder of the user's own, their home's
Documents) never deletes a file, nor mixes a run into it. An empty folder may be used (it gets the marker).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from common.cli import check_replaceable
from common.errors import UserError

MARKER = ".inr-run.json"


def holds_files(folder: Path) -> bool:
    """Whether `folder` is a folder with anything in it besides a marker (a run stopped as it began
    leaves only that: its folder is as good as empty)."""
    return folder.is_dir() and any(p.name != MARKER for p in folder.iterdir())


def kind_of(folder: Path) -> str | None:
    """The kind in `folder`'s marker; None where it has none. A marker that does not read (cut short
    by a kill at the moment it was written, or made by hand) still marks the folder: kind "unknown"."""
    marker = folder / MARKER
    if not marker.is_file():
        return None
    try:
        kind = json.loads(marker.read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        return "unknown"
    return kind if isinstance(kind, str) else "unknown"


def check_owned(folder: Path, action: str) -> None:
    """Refuse `action` (what would happen to the folder) on a folder with files but no marker."""
    if holds_files(folder) and kind_of(folder) is None:
        raise UserError(f"{folder} holds files but no {MARKER}, the mark of a folder this project's scripts made: "
                        f"{action}; pass another --out (a new folder, or one a script made)")


def check_replace(folder: Path) -> None:
    """Before --overwrite deletes `folder`: it must be a folder a script made, and neither hold the
    working directory nor be the home folder (`--out . --overwrite` would remove the project itself)."""
    check_replaceable(folder)
    check_owned(folder, "--overwrite would delete them")


def check_resume(folder: Path) -> None:
    """Before --resume writes into `folder`: a folder a script made. One made before folders were marked
    (it holds the checkpoint just read, but no marker) is resumed once its owner marks it by hand."""
    if holds_files(folder) and kind_of(folder) is None:
        raise UserError(f"{folder} holds no {MARKER}, the mark of a folder this project's scripts made, so --resume "
                        f"leaves it alone: if it is a run made before folders were marked, create that file "
                        f"(touch {folder / MARKER}) and rerun, else pass another --out")


def check_reuse(folder: Path, kind: str) -> None:
    """Before a script writes its files into an existing `folder` (a rerun replaces them): only a folder
    of its own kind, so that it never mixes into (or replaces the files of) another script's."""
    check_owned(folder, f"{kind} would write into it")
    found = kind_of(folder)
    if holds_files(folder) and found not in (kind, "unknown"):
        raise UserError(f"{folder} is a folder of {found}, not of {kind}: {kind} would replace or mix with its "
                        "files; pass another --out")


def claim(folder: Path, kind: str, config: dict) -> Path:
    """Create `folder` (and its parents) and write its marker; a folder that holds files keeps the one it
    has (a resumed run's marker says how it began)."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    if not marker.exists() or not holds_files(folder):
        record = {"kind": kind, "config": config, "code_version": code_version(),
                  "uncommitted_changes": uncommitted_changes()}
        marker.write_text(json.dumps(record, indent=1, default=str) + "\n")
    return folder


def code_version() -> str | None:
    """The git commit this code was checked out at; None outside a git checkout (or without git)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def uncommitted_changes() -> bool | None:
    """Whether tracked files differ from code_version's commit (then that commit alone does not
    reproduce the run); None outside a git checkout."""
    try:
        done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                              cwd=Path(__file__).resolve().parent, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(done.stdout.strip()) if done.returncode == 0 else None


def check_result_file(path: Path, keys: tuple[str, ...], script: str, beside: tuple[str, ...] = ()) -> None:
    """A script whose --out is one result file (experiments/bench.py, experiments/midpoint_bench.py) replaces only a file it
    wrote itself: a JSON object with `keys`, and the files with the suffixes `beside` next to it (experiments/bench.py's
    .md) only together with it. Anything else there is refused, the file kept."""
    if path.is_dir():
        raise UserError(f"--out {path} is a folder: {script} writes one JSON file; pass a file path, e.g. runs/{script}.json")
    if not path.exists():
        stray = next((p for p in (path.with_suffix(s) for s in beside) if p != path and p.exists()), None)
        if stray is not None:
            raise UserError(f"{stray} exists, with no {path.name} of {script} beside it: it would be replaced; pass "
                            "another --out")
        return
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        saved = None
    if not (isinstance(saved, dict) and set(keys) <= set(saved)):
        raise UserError(f"--out {path} exists and is not a result {script} wrote: it would be replaced; pass a new "
                        "file path")

"""The README is the deliverable: its commands must exist, its figures must be produced by
the study command, and its results table must be the one the study wrote."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def readme_commands() -> list[list[str]]:
    """Every `python ...` command line inside the README's code blocks, as argv lists (```text
    blocks hold output, not commands)."""
    fenced = re.findall(r"```([\w-]*)\n(.*?)```", README, flags=re.DOTALL)
    blocks = [body for lang, body in fenced if lang in ("", "bash", "sh")]
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    cmds = []
    for line in lines:
        for part in line.split("&&"):
            words = shlex.split(part.strip())
            if len(words) >= 2 and words[0] == "python":
                cmds.append(words[1:])
    return cmds


def test_front_door_is_two_commands_and_ci_runs_the_test_one():
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", README, flags=re.DOTALL).group(1).strip().splitlines()
    assert len(first_block) == 2 and "study.py" in first_block[0] and "pytest" in first_block[1]
    assert "grep -m1 -E '^pip install .*pytest' README.md" in (ROOT / ".ci" / "run").read_text()


def test_every_readme_command_names_a_script_and_flags_it_knows():
    cmds = readme_commands()
    assert len(cmds) >= 8
    for argv in cmds:
        if argv[0] == "-m":
            target = argv[1]
            if target in ("pytest", "torch.distributed.run"):
                continue
            script, flags, run = ROOT / (target.replace(".", "/") + ".py"), argv[2:], ["-m", target]
        else:
            script, flags, run = ROOT / argv[0], argv[1:], [argv[0]]
        assert script.is_file(), f"README runs {script.name}, which does not exist"
        help_text = subprocess.run([sys.executable, *run, "--help"], cwd=ROOT, capture_output=True,
                                   text=True, check=True).stdout
        for flag in (f for f in flags if f.startswith("--")):
            assert flag.split("=")[0] in help_text, f"{script.name} has no flag {flag}"


def study_blocks(run: str) -> list[str]:
    """The blocks of a committed study's results.md: tables and the lines that introduce them."""
    return [b.strip() for b in (ROOT / "results" / run / "results.md").read_text().split("\n\n") if b.strip()]


def is_fit_block(block: str) -> bool:
    """The main table, the upsampling table and the inner-step tables (question 1 and 2a)."""
    return block.startswith(("| method | parameters", "| method, 256 px")) or ": inner steps |" in block


def test_results_tables_in_readme_are_the_studys():
    """The README's tables are the committed run's (results/study) verbatim: the main table,
    the upsampling and inner-step tables, the interpolation and benchmark tables. The README
    may place them in different sections."""
    wanted = study_blocks("study")
    assert len(wanted) >= 8 and sum(is_fit_block(b) for b in wanted) >= 4
    for block in wanted:
        assert block in README, f"README lacks this block of a committed results.md: paste it\n{block[:300]}"


def test_benchmark_tables_in_readme_are_the_benchmarks():
    tables = (ROOT / "results" / "bench" / "bench.md").read_text().strip()
    assert tables in README, "README's benchmark tables differ from results/bench/bench.md: paste the new ones"


@pytest.fixture(scope="module")
def quick_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    import study

    study.main(["--quick", "--out", str(out), "--overwrite"])
    return out


def test_figures_the_readme_links_are_produced_by_the_study(quick_study):
    linked = sorted(set(re.findall(r"\]\((results/study/[^)\s]+\.(?:png|gif))\)", README)))
    assert linked, "README links no study figures"
    for path in linked:
        produced = quick_study / Path(path).relative_to("results/study")
        assert produced.is_file(), f"study.py --quick did not produce {path}"
        assert (ROOT / path).is_file(), f"{path} is linked but not committed"

"""The README and docs/ are the deliverable: their commands must exist, their figures must be
produced by the study command, their tables must be the ones the committed runs wrote, and
every run they cite must be committed and listed in results/README.md."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.reporting.glance import glance_table

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOC_PAGES = {p.name: p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))}
DOCS = "\n".join(DOC_PAGES.values())
RESULTS_README = (ROOT / "results" / "README.md").read_text()


def commands(text: str) -> list[list[str]]:
    """Every `python ...` command line inside the text's code blocks, as argv lists (```text
    blocks hold output, not commands)."""
    fenced = re.findall(r"```([\w-]*)\n(.*?)```", text, flags=re.DOTALL)
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


def test_readme_is_a_front_page_that_quotes_every_question_and_links_its_page():
    assert len(README.splitlines()) <= 250
    for question, page in (("1.", "generalization.md"), ("2a.", "upsampling.md"),
                           ("2b.", "similarity_and_pairs.md"), ("3.", "improved_interpolation.md")):
        assert f"> **{question}" in README, f"README does not quote question {question}"
        assert f"(docs/{page})" in README, f"README does not link docs/{page}"
        assert DOC_PAGES[page].startswith("# Question"), f"docs/{page} has no title"


def test_every_command_names_a_script_and_flags_it_knows():
    cmds = commands(README) + [c for page in DOC_PAGES.values() for c in commands(page)]
    assert len(cmds) >= 8
    for argv in cmds:
        if argv[0] == "-m":
            target = argv[1]
            if target in ("pytest", "torch.distributed.run"):
                continue
            script, flags, run = ROOT / (target.replace(".", "/") + ".py"), argv[2:], ["-m", target]
        else:
            script, flags, run = ROOT / argv[0], argv[1:], [argv[0]]
        assert script.is_file(), f"a command runs {script.name}, which does not exist"
        help_text = subprocess.run([sys.executable, *run, "--help"], cwd=ROOT, capture_output=True,
                                   text=True, check=True).stdout
        for flag in (f for f in flags if f.startswith("--")):
            assert flag.split("=")[0] in help_text, f"{script.name} has no flag {flag}"


def study_blocks(run: str) -> list[str]:
    """The blocks of a committed study's results.md: tables and the lines that introduce them."""
    return [b.strip() for b in (ROOT / "results" / run / "results.md").read_text().split("\n\n") if b.strip()]


def test_results_tables_in_docs_are_the_studys():
    """Every table of the committed run (results/study) is on some docs page, verbatim: the main
    table, the upsampling and inner-step tables, the interpolation and benchmark tables."""
    wanted = study_blocks("study")
    assert len(wanted) >= 8
    for block in wanted:
        assert block in DOCS, f"docs/ lacks this block of results/study/results.md: paste it\n{block[:300]}"


def test_glance_tables_are_computed_from_the_committed_runs():
    glance = glance_table(json.loads((ROOT / "results" / "study" / "results.json").read_text()))
    assert glance in README, ("README's at-a-glance table differs from "
                              "`python -m analysis.reporting.glance results/study`: paste it")
    seed1 = glance_table(json.loads((ROOT / "results" / "study_seed1" / "results.json").read_text()))
    assert seed1 in DOC_PAGES["generalization.md"]


def test_benchmark_tables_are_the_benchmarks():
    tables = (ROOT / "results" / "bench" / "bench.md").read_text().strip()
    assert tables in DOC_PAGES["performance.md"], "docs/performance.md differs from results/bench/bench.md"


def test_every_cited_run_is_committed_and_listed():
    cited = set(re.findall(r"results/([a-z0-9_]+)/", README + DOCS))
    assert "study" in cited
    for run in cited:
        assert (ROOT / "results" / run).is_dir(), f"results/{run}/ is cited but not committed"
    for run in (p.name for p in (ROOT / "results").iterdir() if p.is_dir()):
        assert f"`{run}/`" in RESULTS_README, f"results/README.md does not say where results/{run}/ came from"


def test_no_work_log_wording():
    """Provenance lives in results/README.md; the pages read as answers, not as a diary."""
    patterns = [r"\bsession", r"#\d+\b", r"`[0-9a-f]{7,40}`", r"\b(earlier|first|second|third) run\b",
                r"\bold hybrid\b"]
    for name, text in {"README.md": README, **DOC_PAGES}.items():
        for pattern in patterns:
            hit = re.search(pattern, text, flags=re.IGNORECASE)
            assert hit is None, f"{name}: work-log wording {hit.group(0)!r}"


@pytest.fixture(scope="module")
def quick_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    import study

    study.main(["--quick", "--out", str(out), "--overwrite"])
    return out


def test_figures_the_pages_link_are_produced_by_the_study(quick_study):
    linked = set(re.findall(r"\]\((results/study/[^)\s]+\.(?:png|gif))\)", README))
    linked |= {p.removeprefix("../") for p in re.findall(r"\]\((\.\./results/study/[^)\s]+\.(?:png|gif))\)", DOCS)}
    assert linked, "README and docs link no study figures"
    for path in sorted(linked):
        produced = quick_study / Path(path).relative_to("results/study")
        assert produced.is_file(), f"study.py --quick did not produce {path}"
        assert (ROOT / path).is_file(), f"{path} is linked but not committed"

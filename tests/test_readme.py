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
    """docs/performance.md shows results/bench/bench.md's tables verbatim and cites it."""
    tables = (ROOT / "results" / "bench" / "bench.md").read_text().strip()
    page = DOC_PAGES["performance.md"]
    assert tables in page, "docs/performance.md differs from results/bench/bench.md"
    assert "results/bench/bench.md" in page, "docs/performance.md must cite results/bench/bench.md"


# results/README.md lists the folders made by earlier code under this heading, one line each.
ARCHIVE_HEADING = "## archive/ (earlier code: kept for the record, not quoted as current)"


def test_every_cited_run_is_committed_and_listed():
    """Every results folder a page cites is committed; every current folder is listed in
    results/README.md's main part, every folder of results/archive/ in its archive section (with
    the commit its code was at) and not among the current ones."""
    cited = set(re.findall(r"results/((?:archive/)?[a-z0-9_]+)/", README + DOCS))
    assert "study" in cited
    for run in cited:
        assert (ROOT / "results" / run).is_dir(), f"results/{run}/ is cited but not committed"
    assert ARCHIVE_HEADING in RESULTS_README, f"results/README.md has no section {ARCHIVE_HEADING!r}"
    current, archive = RESULTS_README.split(ARCHIVE_HEADING)
    assert re.search(r"\n## ", archive) is None, "the archive section must be the last of results/README.md"
    for run in (p.name for p in (ROOT / "results").iterdir() if p.is_dir() and p.name != "archive"):
        assert f"`{run}/`" in current, f"results/README.md does not say where results/{run}/ came from"
    archived = sorted(p.name for p in (ROOT / "results" / "archive").iterdir() if p.is_dir())
    assert archived, "results/archive/ holds no folder"
    for run in archived:
        lines = [line for line in archive.splitlines() if line.startswith(f"| `archive/{run}/`")]
        assert len(lines) == 1, f"results/README.md's archive section does not give results/archive/{run}/ one line"
        assert re.search(r"`[0-9a-f]{7,40}`", lines[0]), f"results/README.md gives no code version for archive/{run}/"
        assert f"`{run}/`" not in current, f"results/README.md lists the archived {run}/ among the current runs"


def archive_sections_unlabelled(text: str) -> list[str]:
    """The sections of a page that cite a folder of results/archive/ without saying that an
    earlier version of the code made it (the first line of each)."""
    return [section.splitlines()[0] for section in re.split(r"\n(?=#{1,3} )", text)
            if "results/archive/" in section and "earlier version of the code" not in section]


def test_archived_runs_are_quoted_as_the_earlier_codes():
    """A number of results/archive/ is quoted only as what an earlier version of the code measured."""
    assert archive_sections_unlabelled("## A\n\nIt scored 15.66 dB (`results/archive/hyper_icons_large/`).") == ["## A"]
    assert archive_sections_unlabelled("## A\n\nAn earlier version of the code measured 15.66 dB "
                                       "(`results/archive/hyper_icons_large/`).\n\n## B\n\n28.85 dB") == []
    for name, text in {"README.md": README, **DOC_PAGES}.items():
        unlabelled = archive_sections_unlabelled(text)
        assert not unlabelled, (f"{name}: {unlabelled} cite results/archive/ without saying "
                                "\"an earlier version of the code\" measured it")


def test_no_work_log_wording():
    """Provenance lives in results/README.md; the pages read as answers, not as a diary."""
    patterns = [r"\bsession", r"#\d+\b", r"`[0-9a-f]{7,40}`", r"\b(earlier|first|second|third) run\b",
                r"\bold hybrid\b"]
    for name, text in {"README.md": README, **DOC_PAGES}.items():
        for pattern in patterns:
            hit = re.search(pattern, text, flags=re.IGNORECASE)
            assert hit is None, f"{name}: work-log wording {hit.group(0)!r}"


def test_no_changelog_wording():
    """The pages say what the code and the runs are, not how they changed."""
    patterns = [r"\btidy\b", r"\bas before\b", r"\bused to\b", r"\bno longer\b", r"\b(tried|measured) and rejected\b",
                r"\bnow\b", r"\boutside test set\b"]
    for name, text in {"README.md": README, **DOC_PAGES}.items():
        prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
        for pattern in patterns:
            hit = re.search(pattern, prose, flags=re.IGNORECASE)
            assert hit is None, f"{name}: changelog wording {hit.group(0)!r}"


# Where a quoted value comes from: a path under results/ written in the text (a folder stands for
# every .json, .md and .jsonl under it; a path with a placeholder, e.g. <method>, for its folder).
CITATION = re.compile(r"results/[\w.\-/<>*]+")
# A quoted value: two or three decimals (a PSNR, an SSIM, a morph error). A difference is written
# with one decimal, and is not checked.
QUOTED = re.compile(r"(?<![\w.\-/+])-?(\d+\.\d{2,3})(?![\w.%]|\.\d)")
# Numbers on the pages that are no run's result, with the reason.
NOT_RUN_RESULTS = {("gpu.md", "0.009"), ("gpu.md", "0.18")}  # float rounding of sin(h), cli.keep_fp32_matmuls


def cited_files(text: str) -> list[Path]:
    files = []
    for cite in CITATION.findall(text):
        path = ROOT / cite.rstrip(".,):/")
        while not path.exists():
            path = path.parent
        if path.is_file():
            files += [path] if path.suffix in (".json", ".md", ".jsonl") else []
        else:
            files += sorted(p for p in path.rglob("*") if p.suffix in (".json", ".md", ".jsonl"))
    return files


_VALUES: dict = {}


def values_in(path: Path, decimals: int) -> set[str]:
    """Every number written in the file, rounded to `decimals` (as a page quotes it)."""
    if (path, decimals) not in _VALUES:
        numbers = re.findall(r"-?\d+\.\d+(?:[eE]-?\d+)?", path.read_text())
        _VALUES[path, decimals] = {f"{abs(float(v)):.{decimals}f}" for v in numbers}
    return _VALUES[path, decimals]


def unsourced_values(text: str) -> list[str]:
    """The values quoted in `text` (outside code) that are in no results file cited by their
    paragraph or their section: a value must be the file's, written as the file has it, rounded."""
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    missing = []
    for section in re.split(r"\n(?=#{1,3} )", text):
        around = cited_files(section)
        for paragraph in re.split(r"\n\s*\n", section):
            files = cited_files(paragraph) + around
            bare = re.sub(r"`[^`]*`|Python \d+\.\d+", "", paragraph)  # code spans and versions are no values
            for value in QUOTED.findall(bare):
                decimals = len(value.split(".")[1])
                if not any(value in values_in(f, decimals) for f in files):
                    missing.append(value)
    return missing


def test_every_quoted_value_is_in_the_results_file_it_cites():
    """Every value a page quotes with two or three decimals is in a results file cited by its
    paragraph or its section, as the file has it (rounded): a number no run wrote, or one from a
    file the page does not name, fails here."""
    for name, text in {"README.md": README, **DOC_PAGES}.items():
        missing = [v for v in unsourced_values(text) if (name, v) not in NOT_RUN_RESULTS]
        assert not missing, (f"{name} quotes {missing[:8]} in no results file its paragraph or section cites: "
                             "cite the file beside the number (results/<run>/<file>), or fix the number")


def test_the_value_check_fails_on_a_wrong_or_uncited_value():
    study = "`results/study/results.md`"
    assert unsourced_values(f"modulated scores 30.88 dB on unseen icons ({study}).") == []
    # 30.77 is the seed-1 run's score: quoting it with the seed-0 run's file cited fails
    assert unsourced_values(f"modulated scores 30.77 dB on unseen icons ({study}).") == ["30.77"]
    assert unsourced_values(f"30.77 dB (`results/study_seed1/results.md`); morph error 0.431 ({study})") == ["0.431"]
    assert unsourced_values("modulated scores 30.88 dB on unseen icons.") == ["30.88"]  # no file named
    assert unsourced_values(f"## A\n\nIt is 30.88 dB ({study}).\n\n## B\n\nHere 30.88 dB again.") == ["30.88"]
    assert unsourced_values(f"## A\n\nFrom {study}.\n\nA table row: | 30.88 | 0.514 +- 0.259 |") == []
    assert unsourced_values(f"1.6 dB above it, in `torch<1.10` and Python 3.10 ({study})") == []


def test_one_noise_figure_and_ties_under_it():
    """One noise figure on every page: the differences it reads as ties are those under it."""
    pages = {"README.md": README, "results/README.md": RESULTS_README, **DOC_PAGES}
    figures = {(name, value) for name, text in pages.items()
               for value in re.findall(r"(?:differences|those) under (?:about )?(\d+(?:\.\d+)?) dB", text)}
    from analysis.reporting.compare_runs import NOISE_DB  # what the rerun comparison marks

    assert {value for _, value in figures} == {f"{NOISE_DB:g}"}, f"more than one noise figure, or none: {sorted(figures)}"
    assert any(name == "README.md" for name, _ in figures) and any(name == "results/README.md" for name, _ in figures)


def test_the_readme_says_how_to_rerun_the_committed_steps():
    assert "python study.py --steps-from results/study" in README
    assert "--steps-from" in RESULTS_README


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

"""Nothing a user made is ever deleted (common/runfolder.py): every script that writes a folder refuses, with one
line and exit code 2, a folder that holds a stranger's files and no marker, whatever --overwrite or
--resume say, and the files survive. A folder a script made carries the marker and is replaced, resumed
or rewritten as before."""
from __future__ import annotations

import json
import shutil

import pytest
from conftest import tiny_flags, write_shapes

from experiments import bench
from experiments import compare_encodings
import interpolate
from experiments import midpoint_bench
from experiments import scaling
import similarity
import study
import train_hyper
import train_maml
import upsample
import sample
import train_prior
from common.cli import run_main
from common.runfolder import MARKER, holds_files

RUN = ["--res", "12", "--steps", "2", "--minutes", "0", "--hr-res", "0", "--unseen", "", "--eval-every", "1000",
       "--image-every", "1000", "--device", "cpu"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A finished 2-step hyper run: (data folder, run folder)."""
    root = tmp_path_factory.mktemp("overwrite")
    data = write_shapes(root / "shapes", count=3)
    train_hyper.main(["--data", str(data), "--out", str(root / "run"), *RUN, *tiny_flags("hyper")])
    return data, root / "run"


@pytest.fixture
def stranger(tmp_path):
    """A folder of the user's own: notes/sub/a.txt."""
    (tmp_path / "notes" / "sub").mkdir(parents=True)
    (tmp_path / "notes" / "sub" / "a.txt").write_text("mine")
    return tmp_path / "notes"


def refused(capsys, main, argv) -> str:
    """Run `main` as a script's __main__ does: exit code 2 and one `error:` line, which is returned."""
    with pytest.raises(SystemExit) as done:
        run_main(main, argv)
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.startswith("error")]
    assert done.value.code == 2 and "Traceback" not in err and len(lines) == 1, err
    return lines[0]


def intact(folder) -> bool:
    return (folder / "sub" / "a.txt").read_text() == "mine" and not (folder / MARKER).exists()


def test_training_never_replaces_or_resumes_a_strangers_folder(capsys, stranger, shapes_dir):
    for main, extra in ((train_hyper.main, tiny_flags("hyper")), (train_maml.main, tiny_flags("maml"))):
        line = refused(capsys, main, ["--data", str(shapes_dir), "--out", str(stranger), "--overwrite", *RUN, *extra])
        assert str(stranger) in line and f"no {MARKER}" in line and "--overwrite would delete" in line
        line = refused(capsys, main, ["--data", str(shapes_dir), "--out", str(stranger), "--resume", *RUN, *extra])
        assert "ckpt.pt" in line
        assert intact(stranger)


def test_study_never_replaces_or_resumes_a_strangers_folder(capsys, stranger):
    for flag in ("--overwrite", "--resume"):
        line = refused(capsys, study.main, ["--out", str(stranger), flag, "--methods", "hyper", "--quick", "--device", "cpu"])
        assert str(stranger) in line and f"no {MARKER}" in line
    assert intact(stranger)


def test_scaling_never_writes_into_a_strangers_folder(capsys, stranger):
    line = refused(capsys, scaling.main, ["--out", str(stranger), "--counts", "100", "--changes", "0", "--grids", "",
                                          "--no-film", "--steps", "1"])
    assert str(stranger) in line and f"no {MARKER}" in line
    assert intact(stranger)


def test_interpolate_upsample_similarity_never_touch_a_strangers_folder(capsys, stranger, tiny_run):
    _, run = tiny_run
    ckpt = ["--ckpt", str(run / "ckpt.pt"), "--device", "cpu", "--out", str(stranger)]
    line = refused(capsys, interpolate.main, [*ckpt, "--overwrite", "--frames", "3", "--res", "8"])
    assert str(stranger) in line and "--overwrite would delete" in line
    for main in (upsample.main, similarity.main):
        line = refused(capsys, main, ckpt)
        assert str(stranger) in line and f"no {MARKER}" in line
    assert intact(stranger)


def test_sampling_and_the_prior_never_touch_a_strangers_folder(capsys, stranger, tiny_run):
    _, run = tiny_run
    ckpt = ["--ckpt", str(run / "ckpt.pt"), "--device", "cpu", "--out", str(stranger)]
    line = refused(capsys, sample.main, ckpt)
    assert str(stranger) in line and f"no {MARKER}" in line
    assert "already exists" in refused(capsys, train_prior.main, ckpt)
    line = refused(capsys, train_prior.main, [*ckpt, "--overwrite"])
    assert str(stranger) in line
    assert intact(stranger)


def test_compare_encodings_never_writes_into_a_strangers_folder(capsys, stranger):
    line = refused(capsys, compare_encodings.main, ["--out", str(stranger), "--steps", "1", "--device", "cpu"])
    assert str(stranger) in line
    assert intact(stranger)


def test_result_files_replace_only_their_own(capsys, tmp_path):
    """experiments/bench.py and experiments/midpoint_bench.py write one JSON file: a user's file there is kept."""
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": 1}')
    line = refused(capsys, bench.main, ["--methods", "", "--hr-rounds", "0", "--out", str(notes)])
    assert str(notes) in line and "not a result experiments/bench.py wrote" in line
    line = refused(capsys, midpoint_bench.main, ["--out", str(notes)])
    assert str(notes) in line and "not a result experiments/midpoint_bench.py wrote" in line
    assert notes.read_text() == '{"mine": 1}'
    (tmp_path / "b.md").write_text("my notes")  # experiments/bench.py writes its .md beside the JSON
    line = refused(capsys, bench.main, ["--methods", "", "--hr-rounds", "0", "--out", str(tmp_path / "b.json")])
    assert str(tmp_path / "b.md") in line and (tmp_path / "b.md").read_text() == "my notes"
    line = refused(capsys, bench.main, ["--methods", "", "--hr-rounds", "0", "--out", str(tmp_path)])
    assert "is a folder" in line


# --------------------------------------------------------------------------- a script's own folders

def test_a_run_folder_is_marked_and_replaced_by_overwrite(tiny_run, tmp_path):
    data, run = tiny_run
    marker = json.loads((run / MARKER).read_text())
    assert marker["kind"] == "train_hyper" and marker["config"]["out"] == str(run) and marker["config"]["steps"] == 2
    assert marker["code_version"] is None or len(marker["code_version"]) == 40
    assert marker["uncommitted_changes"] in (None, True, False)
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / "stale.txt").write_text("from the first run")
    train_hyper.main(["--data", str(data), "--out", str(copy), "--overwrite", *RUN, *tiny_flags("hyper")])
    assert not (copy / "stale.txt").exists() and json.loads((copy / MARKER).read_text())["config"]["out"] == str(copy)


def test_an_unmarked_run_resumes_once_its_owner_marks_it(capsys, tiny_run, tmp_path):
    """A run made before folders were marked: its checkpoint reads, but --resume waits for the marker."""
    data, run = tiny_run
    old = tmp_path / "old"
    shutil.copytree(run, old)
    (old / MARKER).unlink()
    args = ["--data", str(data), "--out", str(old), "--resume", *RUN, *tiny_flags("hyper"), "--steps", "3"]
    line = refused(capsys, train_hyper.main, args)
    assert f"touch {old / MARKER}" in line
    (old / MARKER).touch()  # the owner's word: an empty marker marks it
    assert train_hyper.main(args)["step"] == 3


def test_an_empty_folder_is_used_and_marked(tmp_path, shapes_dir):
    (tmp_path / "empty").mkdir()
    train_hyper.main(["--data", str(shapes_dir), "--out", str(tmp_path / "empty"), *RUN, *tiny_flags("hyper")])
    assert json.loads((tmp_path / "empty" / MARKER).read_text())["kind"] == "train_hyper"
    (tmp_path / "begun").mkdir()
    (tmp_path / "begun" / MARKER).write_text("{")  # a run killed as it wrote its marker: as good as empty
    assert not holds_files(tmp_path / "begun")
    train_hyper.main(["--data", str(shapes_dir), "--out", str(tmp_path / "begun"), *RUN, *tiny_flags("hyper")])
    assert json.loads((tmp_path / "begun" / MARKER).read_text())["kind"] == "train_hyper"


def test_a_script_rewrites_its_own_folder_but_not_another_scripts(capsys, tiny_run, tmp_path):
    _, run = tiny_run
    args = ["--ckpt", str(run / "ckpt.pt"), "--device", "cpu", "--res", "16", "--out", str(tmp_path / "up")]
    upsample.main(args)
    upsample.main(args)  # a rerun replaces its own files
    assert json.loads((tmp_path / "up" / MARKER).read_text())["kind"] == "upsample"
    line = refused(capsys, upsample.main, [*args[:-1], str(run)])  # a training run's folder: its metrics.json kept
    assert "is a folder of train_hyper, not of upsample" in line and (run / "ckpt.pt").is_file()

"""Bad runs stop with one line and exit code 2: --out naming a file, a model too large for
memory, an optimizer state that does not fit, interpolate.py run twice into one --out."""
from __future__ import annotations

import dataclasses
import shutil

import pytest
import torch
from conftest import one_line_error, tiny_flags, write_shapes

import interpolate
import train_hyper
from common.cli import run_main
from common.errors import UserError
from train import memory
from train.checkpoint import load_checkpoint
from train.config import HyperConfig

RUN = ["--res", "12", "--steps", "2", "--minutes", "0", "--hr-res", "0", "--unseen", "", "--eval-every", "1000",
       "--image-every", "1000", "--device", "cpu", *tiny_flags("hyper")]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A finished 2-step run: (data folder, run folder with ckpt.pt)."""
    root = tmp_path_factory.mktemp("bad_runs")
    data = write_shapes(root / "shapes", count=3)
    train_hyper.main(["--data", str(data), "--out", str(root / "run"), *RUN])
    return data, root / "run"


def exits_2_with_one_line(capsys, main, argv) -> str:
    """Run `main` as a script's __main__ does; returns its one error line."""
    with pytest.raises(SystemExit) as done:
        run_main(main, argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert done.value.code == 2 and "Traceback" not in err, err
    assert lines[-1].startswith("error: ") and not [x for x in lines[:-1] if x.startswith("error")], err
    return lines[-1]


# --------------------------------------------------------------------------- --out

def test_out_naming_a_file_is_refused_and_the_file_kept(tmp_path, capsys, shapes_dir):
    existing = tmp_path / "notes.txt"
    existing.write_text("mine")
    for extra in ([], ["--overwrite"]):
        line = exits_2_with_one_line(capsys, train_hyper.main, ["--data", str(shapes_dir), "--out", str(existing),
                                                                *RUN, *extra])
        assert f"--out {existing} is an existing file, not a folder: pass a folder path" in line
    line = exits_2_with_one_line(capsys, train_hyper.main, ["--data", str(shapes_dir), "--out", str(existing / "run"),
                                                            *RUN])
    assert f"lies inside {existing}, which is a file" in line
    assert existing.read_text() == "mine"


def test_overwrite_never_deletes_the_working_directory(tmp_path, capsys, shapes_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("mine")
    line = exits_2_with_one_line(capsys, train_hyper.main, ["--data", str(shapes_dir), "--out", ".", "--overwrite",
                                                            *RUN])
    assert "is the working directory" in line and (tmp_path / "keep.txt").is_file()


# --------------------------------------------------------------------------- memory

def test_a_model_too_large_for_memory_is_refused_before_allocating(capsys, shapes_dir, tmp_path):
    line = exits_2_with_one_line(capsys, train_hyper.main, ["--data", str(shapes_dir), "--out", str(tmp_path / "o"),
                                                            *RUN, "--hidden", "100000"])
    assert "the hyper model would need about" in line and "GiB" in line and "of RAM free now" in line
    assert "parameters x 16 bytes for weights, gradients and Adam's two moments" in line
    assert "use a smaller model (now --hidden 100000" in line


def test_activations_too_large_name_batch_and_pixels(monkeypatch):
    cfg = dataclasses.asdict(HyperConfig(res=64, pixels=0, batch=100, hidden=16, hidden_layers=1, latent_dim=8,
                                         hyper_hidden=16, hr_res=0))  # no 256 px renders: the step is the most
    monkeypatch.setattr(memory, "available_bytes", lambda device: (10 << 20, "RAM"))  # 10 MiB free
    with pytest.raises(UserError) as err:
        memory.check_fits(cfg, 100, torch.device("cpu"))
    one_line_error(err, "the hyper model would need about", "0.0 GiB of RAM free now",
                   "use fewer images or pixels per step, or a narrower network (now --batch 100, --pixels 0, --res 64")
    monkeypatch.setattr(memory, "available_bytes", lambda device: None)  # unknown: no check, no error
    memory.check_fits(cfg, 100, torch.device("cpu"))


def test_the_estimate_counts_parameters_exactly_and_leaves_the_random_stream_alone():
    from train.registry import METHODS, build_method
    from tests.conftest import tiny_config

    for name in METHODS:
        cfg = tiny_config(name)
        torch.manual_seed(0)
        counted = sum(p.numel() for p in memory.meta_method(cfg, 5).parameters() if p.requires_grad)
        after = torch.rand(1)
        torch.manual_seed(0)
        assert torch.equal(after, torch.rand(1)), name  # building on meta drew no random numbers
        assert counted == sum(p.numel() for p in build_method(cfg, 5).parameters() if p.requires_grad), name
    free = memory.available_bytes(torch.device("cpu"))
    assert free is None or free[0] > 0


# --------------------------------------------------------------------------- optimizer state on resume

def _two_groups(opt):
    opt["param_groups"].append(dict(opt["param_groups"][0]))


def _one_param_fewer(opt):
    opt["param_groups"][0]["params"].pop()


def _wrong_moment_shape(opt):
    state = next(iter(opt["state"].values()))
    state["exp_avg"] = torch.zeros(*state["exp_avg"].shape, 2)


def _nan_moment(opt):
    next(iter(opt["state"].values()))["exp_avg_sq"].fill_(float("nan"))


@pytest.mark.parametrize("edit,expected", [
    (_two_groups, "2 parameter groups, the model's optimizer has 1"),
    (_one_param_fewer, "parameter group 0 holds"),
    (_wrong_moment_shape, "exp_avg of "),
    (_nan_moment, "exp_avg_sq of "),
    (lambda opt: opt.clear(), "not an optimizer state"),
])
def test_resume_checks_the_optimizer_state_against_the_model(tiny_run, tmp_path, edit, expected):
    data, run = tiny_run
    out = tmp_path / "run"
    shutil.copytree(run, out)
    ckpt = load_checkpoint(out / "ckpt.pt")
    edit(ckpt["optimizer"])
    torch.save(ckpt, out / "ckpt.pt")
    with pytest.raises(UserError, match=expected) as err:
        train_hyper.main(["--data", str(data), "--out", str(out), *RUN, "--resume", "--steps", "3"])
    one_line_error(err, str(out / "ckpt.pt"), "optimizer state does not fit the model", "--overwrite")


# --------------------------------------------------------------------------- interpolate.py into an existing --out

def test_interpolate_refuses_an_existing_out_and_overwrite_starts_afresh(tiny_run, tmp_path, capsys):
    _, run = tiny_run
    out = tmp_path / "interp"
    args = ["--ckpt", str(run / "ckpt.pt"), "--frames", "3", "--res", "8", "--device", "cpu", "--out", str(out)]
    interpolate.main(args)
    line = exits_2_with_one_line(capsys, interpolate.main, args)
    assert f"output folder {out} already exists (an earlier interpolation): pass --overwrite" in line
    (out / "tb" / "stale.txt").write_text("from the first run")
    interpolate.main(args + ["--overwrite"])
    assert len(list((out / "tb").glob("events.out.tfevents.*"))) == 1 and not (out / "tb" / "stale.txt").exists()
    line = exits_2_with_one_line(capsys, interpolate.main, [*args[:-1], str(run), "--overwrite"])
    assert "holds the checkpoint" in line and (run / "ckpt.pt").is_file()


def test_a_copied_run_folder_resumes_in_place(tiny_run, tmp_path):
    """The checkpoint's config names the folder it was written in; resuming a copy must not write there."""
    data, run = tiny_run
    before = (run / "ckpt.pt").read_bytes()
    shutil.copytree(run, tmp_path / "copy")
    train_hyper.main(["--data", str(data), "--out", str(tmp_path / "copy"), *RUN, "--resume", "--steps", "3"])
    assert load_checkpoint(tmp_path / "copy" / "ckpt.pt")["step"] == 3 and (run / "ckpt.pt").read_bytes() == before

"""The GPU path: what can be checked on a CPU (device errors, the --overwrite guard of the study,
resuming across devices, the clock, the GPU defaults, the sync-free code paths against the CPU
ones), and, marked `cuda` (skipped without a GPU), the same on a GPU."""
from __future__ import annotations

import logging

import pytest
import torch
from conftest import one_line_error, tiny_config

from common import cli
import study
import train_maml
from data.augment import KINDS, RANGES, change_batch, draw_changes_on, mirror_and_turn
from data.pixels import heldout_mask, neighbour_fill
from common.errors import UserError
from train import gpu_check
from train.checkpoint import capture_rng, restore_rng
from train.clock import StepClock, device_sync
from train.config import HyperConfig, MamlConfig
from train.device_defaults import GPU_DEFAULTS, GPU_MAML_BATCH, GPU_STEP_CAP, for_device

CUDA = torch.device("cuda")


# --------------------------------------------------------------------------- flags and devices

def test_a_gpu_past_the_last_one_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(UserError) as err:
        cli.resolve_device("cuda:2")
    one_line_error(err, "--device cuda:2", "only 2 GPUs visible", "cuda:0 to cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError) as err:
        cli.resolve_device("cuda")
    one_line_error(err, "no CUDA GPU is visible", "--device cpu")


def test_the_fp32_setting_is_pinned_once():
    cli.keep_fp32_matmuls()  # what resolve_device does on CUDA; harmless on a CPU build
    assert torch.backends.cuda.matmul.fp32_precision == "ieee"
    assert torch.get_float32_matmul_precision() == "highest"


@pytest.mark.parametrize("flag,value", [("--inner-steps", "-1"), ("--track-every", "-5"), ("--latent-dim", "0"),
                                        ("--unseen-count", "-1")])
def test_counts_that_mean_nothing_are_refused(capsys, flag, value):
    with pytest.raises(SystemExit) as done:
        cli.run_main(train_maml.main, [flag, value, "--out", "/nonexistent/never"])
    assert done.value.code == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith(f"error: {flag} must be") and f"got {value}" in line and "\n" not in line


# --------------------------------------------------------------------------- the study's --overwrite

def test_study_overwrite_never_deletes_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(UserError) as err:
        study.main(["--out", ".", "--overwrite", "--methods", "hyper", "--quick", "--device", "cpu"])
    one_line_error(err, "is the working directory")
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_study_checks_the_device_before_deleting(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "old"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(UserError) as err:
        study.main(["--out", str(out), "--overwrite", "--methods", "hyper", "--quick", "--device", "cuda"])
    one_line_error(err, "no CUDA GPU is visible")
    assert (out / "keep.txt").is_file()


# --------------------------------------------------------------------------- resuming on another device

def test_a_generator_state_of_the_other_device_is_reseeded_not_a_crash():
    saved = capture_rng(torch.Generator().manual_seed(3))
    saved["sampler"] = torch.zeros(16, dtype=torch.uint8)  # the size of a CUDA (Philox) generator's state
    gen = torch.Generator().manual_seed(0)
    assert restore_rng(saved, gen, reseed=7) is False
    assert torch.equal(gen.get_state(), torch.Generator().manual_seed(7).get_state())
    same = capture_rng(torch.Generator().manual_seed(3))  # a state of the same kind is restored exactly
    assert restore_rng(same, gen, reseed=7) is True
    assert torch.equal(gen.get_state(), torch.Generator().manual_seed(3).get_state())


def test_a_run_resumes_from_a_checkpoint_saved_on_another_device(shapes_dir, tmp_path, caplog):
    from train.checkpoint import read_checkpoint, save_checkpoint
    from train.trainer import train

    cfg = HyperConfig(**{**tiny_config("hyper"), "data": str(shapes_dir), "out": str(tmp_path / "run"), "res": 12,
                         "steps": 2, "minutes": 0.0, "hr_res": 0, "unseen": "", "device": "cpu", "track_every": 0})
    train(cfg, given={"steps"}, script="train_hyper")
    path = tmp_path / "run" / "ckpt.pt"
    state = read_checkpoint(path)
    state["rng"]["sampler"] = torch.zeros(16, dtype=torch.uint8)  # as if saved on CUDA
    save_checkpoint(path, {k: v for k, v in state.items() if k != "format"})
    resumed = HyperConfig(**{**vars(cfg), "steps": 3, "resume": True})
    with caplog.at_level(logging.INFO):
        assert train(resumed, given={"steps", "resume"}, script="train_hyper")["step"] == 3
    assert sum("saved on another kind of device" in r.message for r in caplog.records) == 1


# --------------------------------------------------------------------------- the clock

class FakeTime:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_clock_charges_the_device_work_it_waits_for():
    """A step returns at 1 s (launches); the device finishes at 3 s: the segment ends at 3 s."""
    now = FakeTime()

    def sync():  # the device catches up
        now.now = max(now.now, 3.0)

    clock = StepClock(sync, seconds=10.0, now=now)
    clock.start()
    now.now = 1.0
    assert clock.seconds == 10.0  # not read yet: the step's work is still queued
    clock.start()  # a second step in the same segment does not restart it
    assert clock.stop() == 13.0
    now.now = 5.0  # time outside a segment (an evaluation) is never charged
    clock.start()
    now.now = 6.0
    assert clock.stop() == 14.0 and clock.stop() == 14.0


def test_the_trainer_reads_the_clock_where_the_host_syncs(shapes_dir, tmp_path):
    from train.trainer import Run

    cfg = HyperConfig(**{**tiny_config("hyper"), "data": str(shapes_dir), "out": str(tmp_path / "r"), "res": 12,
                         "hr_res": 0, "unseen": "", "minutes": 1.0})
    run = Run(cfg, torch.device("cpu"))
    syncs = []
    run.timer.sync, run.sync_every = lambda: syncs.append(run.step_count), 10  # as on a GPU
    for _ in range(12):
        run.step()
        run.out_of_time()
    assert syncs == [10]  # one read in 12 steps, at step 10 (the step and the budget check agree)
    assert run.timer.opened is not None and run.elapsed > 0
    assert device_sync(torch.device("cpu"))() is None


# --------------------------------------------------------------------------- GPU defaults

def test_gpu_defaults_fill_only_what_no_flag_or_method_set():
    cfg, changed = for_device(MamlConfig(minutes=9.0), {"ckpt_every"}, CUDA)
    assert changed == {**{k: v for k, v in GPU_DEFAULTS.items() if k != "ckpt_every"}, "steps": GPU_STEP_CAP,
                       "batch": GPU_MAML_BATCH}
    assert cfg.batch == GPU_MAML_BATCH and cfg.ckpt_every == MamlConfig().ckpt_every
    assert for_device(HyperConfig(minutes=0.0, batch=7), set(), CUDA)[0].steps == HyperConfig().steps  # no budget
    assert for_device(MamlConfig(batch=4), set(), CUDA)[0].batch == 4  # a method's or a test's own size stays
    assert for_device(MamlConfig(), set(), torch.device("cpu")) == (MamlConfig(), {})


# --------------------------------------------------------------------------- the sync-free paths

def test_changes_drawn_on_the_device_span_the_benchmarks_ranges():
    p0, p1 = draw_changes_on(4000, torch.Generator().manual_seed(0), torch.device("cpu"))
    length = 2 * p1[:, :2].norm(dim=1)
    shifted = length > 0
    lo = min(RANGES["translate_length"][0], RANGES["combo_length"][0])
    assert lo - 1e-6 <= length[shifted].min() and length.max() <= RANGES["translate_length"][1] + 1e-6
    assert torch.allclose(p0[:, :2], -p1[:, :2])
    turned = p1[:, 4] != 0
    assert RANGES["hue"][0] <= p1[turned, 4].abs().min() and p1[:, 4].abs().max() <= RANGES["hue"][1]
    kinds = shifted.float().mean(), turned.float().mean()  # translate + combo, and hue: 2/5 and 1/5 of the draws
    assert abs(kinds[0] - 2 / len(KINDS)) < 0.05 and abs(kinds[1] - 1 / len(KINDS)) < 0.05


def test_every_row_path_equals_the_changed_rows_path(monkeypatch):
    """What a GPU runs (every row computed, the changed ones kept) equals the CPU's subset path."""
    import data.augment as augment

    gen = torch.Generator().manual_seed(0)
    images, heldout = torch.rand(6, 3, 12, 12, generator=gen), heldout_mask(6, 12)
    p0, p1 = draw_changes_on(6, gen, torch.device("cpu"))
    p1[0] = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0])  # one row that does not change
    coords, targets = torch.rand(6, 10, 2, generator=gen) * 2 - 1, torch.rand(6, 10, 3, generator=gen)
    mirror, degrees = torch.tensor([1, 0, 1, 0, 0, 1], dtype=torch.bool), torch.tensor([0.0, 30, 0, -90, 0, 10])
    subset = change_batch(images, heldout, p1), mirror_and_turn(images, ~heldout, coords, targets, mirror, degrees)
    monkeypatch.setattr(augment, "_rows", lambda change: augment.ALL)
    every = change_batch(images, heldout, p1), mirror_and_turn(images, ~heldout, coords, targets, mirror, degrees)
    for a, b in zip([*subset[0], *subset[1]], [*every[0], *every[1]]):
        assert a.dtype == b.dtype and torch.allclose(a.float(), b.float(), atol=1e-6)


def test_blind_rings_change_nothing():
    gen = torch.Generator().manual_seed(1)
    images = torch.rand(3, 3, 16, 16, generator=gen)
    observed = torch.rand(3, 1, 16, 16, generator=gen) > 0.7  # large gaps: several rings needed
    observed[2] = False  # nothing to fill from
    assert torch.equal(neighbour_fill(images, observed), neighbour_fill(images, observed, blind_rings=2))


def test_ms_ssim_stays_on_the_images_device():
    """On the meta device (no storage) as a stand-in for a GPU: a tensor made on the CPU inside
    ms_ssim would meet the images' device and fail, as it did with CUDA inputs."""
    from analysis.scoring.ssim import ms_ssim

    x = torch.rand(2, 3, 48, 48)
    assert ms_ssim(x.to("meta"), x.to("meta")).device.type == "meta"


def test_gpu_check_without_a_gpu_says_so_in_one_line(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.main([]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "no CUDA GPU" in out


# --------------------------------------------------------------------------- on a GPU

@pytest.mark.cuda
def test_cuda_paths_equal_the_cpu_ones():
    from analysis.scoring.ssim import ms_ssim

    gen = torch.Generator().manual_seed(0)
    images, heldout = torch.rand(6, 3, 48, 48, generator=gen), heldout_mask(6, 48)
    p0, _ = draw_changes_on(6, gen, torch.device("cpu"))
    cpu = change_batch(images, heldout, p0)
    gpu = change_batch(images.cuda(), heldout.cuda(), p0.cuda())
    assert torch.allclose(cpu[0], gpu[0].cpu(), atol=1e-5) and torch.equal(cpu[1], gpu[1].cpu())
    assert torch.allclose(neighbour_fill(images, ~heldout), neighbour_fill(images.cuda(), ~heldout.cuda()).cpu(),
                          atol=1e-6)
    other = torch.rand(6, 3, 48, 48, generator=gen)
    assert torch.allclose(ms_ssim(images, other), ms_ssim(images.cuda(), other.cuda()).cpu(), atol=1e-4)


@pytest.mark.cuda
def test_cuda_clock_waits_for_the_kernels():
    clock = StepClock(device_sync(CUDA))
    clock.start()
    torch.cuda._sleep(int(2e8))  # ~0.1 s of GPU spinning, launched in microseconds
    assert clock.stop() > 0.02


@pytest.mark.cuda
def test_cuda_resolve_device_pins_fp32_and_resumes_across_devices(shapes_dir, tmp_path):
    from train.trainer import train

    assert cli.resolve_device("auto").type == "cuda"
    assert torch.backends.cuda.matmul.fp32_precision == "ieee"
    cfg = HyperConfig(**{**tiny_config("hyper"), "data": str(shapes_dir), "out": str(tmp_path / "run"), "res": 12,
                         "steps": 2, "minutes": 0.0, "hr_res": 0, "unseen": "", "device": "cuda", "track_every": 0})
    train(cfg, given={"steps"}, script="train_hyper")
    for device, steps in (("cpu", 3), ("cuda", 4)):  # CUDA -> CPU -> CUDA
        resumed = HyperConfig(**{**vars(cfg), "steps": steps, "resume": True, "device": device})
        assert train(resumed, given={"steps", "resume", "device"}, script="train_hyper")["step"] == steps

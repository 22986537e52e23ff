"""Dense tracking (analysis/scoring/track.py): the subset's code-table rows are right, track.jsonl is
resume-safe (no step twice, lines after the checkpoint dropped), and the curve figure draws it."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import train_hyper
from analysis.reporting.curves import SERIES, curve_figure, nice_ticks, y_axis
from analysis.scoring.evaluate import Evaluator
from analysis.scoring.track import Tracker, TrackLog, read_track, spread
from data.images import ImageSet
from data.pixels import heldout_mask
from models.method import Method, Rep
from tests.test_evaluate import PixelCopy

TINY = ["--res", "12", "--hidden", "16", "--hidden-layers", "1", "--latent-dim", "8", "--hyper-hidden", "16",
        "--batch", "2", "--pixels", "20", "--eval-every", "100", "--image-every", "100", "--ckpt-every", "3",
        "--hr-res", "0", "--unseen", "", "--device", "cpu", "--minutes", "0", "--track-every", "2"]


class Memorizer(Method):
    """A code table holding the training images themselves: perfect exactly when it is asked
    for the right rows (`index`), whatever pixels it is shown."""

    handles_unseen_images = False

    def __init__(self, images: torch.Tensor):
        super().__init__()
        self.table = nn.Parameter(images.clone(), requires_grad=False)  # (N, 3, H, W)

    def encode(self, images, masks, index) -> Rep:
        return Rep(latent=self.table[index].flatten(1))  # (B, 3*H*W)

    decode = PixelCopy.decode


def test_tracker_asks_a_code_table_for_the_subsets_rows():
    images = torch.rand(40, 3, 12, 12)
    evaluator = Evaluator(ImageSet(images, [f"i{k}" for k in range(40)], "random"), heldout_mask(40, 12),
                          hr_res=0, unseen="")
    tracker = Tracker(evaluator, count=16)
    assert len(tracker.index) == 16 and tracker.index[-1] == 39 and len(set(tracker.index.tolist())) == 16
    values = tracker(Memorizer(images))
    assert values["train_pixels"] > 90 and values["heldout_pixels"] > 90  # wrong rows would score ~8 dB
    assert "unseen_heldout_pixels" not in values
    wrong = tracker(Memorizer(images.roll(1, 0)))
    assert wrong["heldout_pixels"] < 15
    assert torch.equal(spread(5, 16), torch.arange(5))


def test_track_log_drops_lines_after_the_resumed_step(tmp_path):
    path = tmp_path / "track.jsonl"
    log = TrackLog(path, 0, {"model": "m", "references": {}})
    for step in (0, 10, 20, 30):
        log.append({"step": step, "train_pixels": float(step)})
    with path.open("a") as f:
        f.write('{"step": 40, "train_pix')  # cut short by a kill
    log = TrackLog(path, 20, {"model": "other"})  # resumed from the step-20 checkpoint
    assert log.last_step == 20
    header, records = read_track(path)
    assert header["model"] == "m" and [r["step"] for r in records] == [0, 10, 20]
    assert sum(1 for line in path.read_text().splitlines() if "step" not in json.loads(line)) == 1


def test_training_tracks_every_k_steps_and_resumes_without_duplicates(shapes_dir, tmp_path):
    out = tmp_path / "run"
    args = ["--data", str(shapes_dir), "--out", str(out), *TINY]
    train_hyper.main(args + ["--steps", "5"])
    header, records = read_track(out / "track.jsonl")
    assert [r["step"] for r in records] == [0, 2, 4, 5]  # the start, every 2 steps, the end
    assert header["count"] == 4 and header["unseen_count"] == 0
    assert set(header["references"]) >= {"mean_icon_heldout_pixels", "neighbours_heldout_pixels"}
    for r in records:
        assert 0 < r["train_pixels"] < 100 and 0 < r["heldout_pixels"] < 100 and r["track_seconds"] > 0
    assert records[0]["train_seconds"] == 0 and records[-1]["train_seconds"] > records[1]["train_seconds"]
    # The checkpoint is at step 3: lines 4 and 5 came after it and are tracked again on resume.
    state = torch.load(out / "ckpt.pt", weights_only=False)
    state["step"] = 3  # as if killed after the step-3 checkpoint
    torch.save(state, out / "ckpt.pt")
    train_hyper.main(args + ["--steps", "7", "--resume"])
    _, records = read_track(out / "track.jsonl")
    assert [r["step"] for r in records] == [0, 2, 4, 6, 7]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(out / "tb"))
    events.Reload()
    assert {"track/train_pixels", "track/heldout_pixels"} <= set(events.Tags()["scalars"])


def test_curve_figure_draws_every_series_with_ticks(tmp_path):
    assert nice_ticks(7.2, 31.5) == [0, 10, 20, 30, 40] and nice_ticks(0, 0.8) == [0, 0.2, 0.4, 0.6, 0.8]
    assert nice_ticks(12.0, 14.5) == [12, 13, 14, 15] and nice_ticks(3, 3) == [3, 3.5, 4]
    # the axis spans the 10-40 dB band the methods differ in: 60 dB fits and the 100 dB cap do not stretch it
    assert y_axis([7.0, 22.0, 33.0, 61.9, 100.0]) == [10, 20, 30, 40] and y_axis([21.0, 26.0]) == [20, 22, 24, 26]
    runs = {}
    for k, name in enumerate(("hyper", "hyper_table")):
        path = tmp_path / name / "track.jsonl"
        log = TrackLog(path, 0, {"model": name, "count": 16, "references": {"neighbours_heldout_pixels": 24.0,
                                                                            "mean_icon_heldout_pixels": 12.0}})
        for step in range(0, 100, 10):
            values = {"train_pixels": 10 + step / 4, "heldout_pixels": 10 + step / 5}
            if name == "hyper":
                values["unseen_heldout_pixels"] = 9 + step / 8
            log.append({"step": step, "train_seconds": step * 0.3, **values})
        runs[name] = path
    png = curve_figure(runs, tmp_path / "curves.png")
    pixels = np.asarray(Image.open(png).convert("RGB"))
    colours = {tuple(c) for c in pixels.reshape(-1, 3)}
    for _, _, colour in SERIES:
        assert colour in colours  # each line drawn (the legend alone draws it too, so count below)
    green = (pixels == SERIES[2][2]).all(-1)
    width = pixels.shape[1]
    assert green[:, : width // 2].sum() > 3 * green[:, width // 2:].sum()  # unseen line only in hyper's panel


def test_tracker_unseen_score_is_the_full_evaluations_on_its_icons():
    """Decoding only the held-out pixels gives the same number as rendering and masking."""
    from analysis.scoring.evaluate import encode_all, psnr, render_all
    from data.images import load_images
    from data.pixels import neighbour_fill

    train = load_images("icons100", 48)
    evaluator = Evaluator(train, heldout_mask(100, 48), hr_res=0, unseen_count=20)
    tracker = Tracker(evaluator)
    assert len(tracker.unseen) == 16 and torch.equal(tracker.unseen_heldout, evaluator.unseen_heldout[:16])
    for method in (PixelCopy(neighbour_fill), PixelCopy(lambda images, masks: images)):
        seen = ~tracker.unseen_heldout
        full = render_all(method, encode_all(method, tracker.unseen * seen, seen), 48)
        expected = psnr(full, tracker.unseen, tracker.unseen_heldout).mean().item()
        assert tracker(method)["unseen_heldout_pixels"] == pytest.approx(expected, abs=1e-4)

"""experiments/compute_curve.py on two synthetic finished runs: its table, its figure, and one-line refusals."""
from __future__ import annotations

import json

import pytest

from experiments import compute_curve
from common.errors import UserError


def _run(folder, model: str, minutes: float, final: float) -> None:
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({
        "step": 100, "train_seconds": 60 * minutes, "threads": 2, "config": {"model": model},
        "psnr/unseen_images": final, "psnr/unseen_heldout_pixels": final - 2}))
    header = {"model": model, "references": {"neighbours_unseen_heldout": 23.0}}
    records = [{"step": 10 * k, "train_seconds": 6 * minutes * k, "unseen_heldout_pixels": 15 + k} for k in range(11)]
    (folder / "track.jsonl").write_text("\n".join(json.dumps(r) for r in [header, *records]) + "\n")


def test_table_and_figure_of_a_long_run_beside_its_study_run(tmp_path):
    _run(tmp_path / "long", "modulated", 40, 30.5)
    _run(tmp_path / "study" / "runs" / "modulated", "modulated", 5, 28.25)
    result = compute_curve.main(["--runs", str(tmp_path / "long"), "--study", str(tmp_path / "study"),
                                 "--out", str(tmp_path / "out")])
    assert [(r["run"], r["minutes"], r["unseen icons"]) for r in result["rows"]] == [
        ("modulated, long", 40.0, 30.5), ("modulated, study", 5.0, 28.25)]
    text = (tmp_path / "out" / "compute.md").read_text()
    assert "| modulated, long | 100 | 40.00 | 2 | 30.50 |" in text and "23.00 dB" in text
    assert (tmp_path / "out" / "compute.png").stat().st_size > 5000


def test_a_folder_without_a_finished_run_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="finished training run"):
        compute_curve.main(["--runs", str(tmp_path / "empty"), "--out", str(tmp_path / "out")])


def test_largest_dip_counts_falls_below_the_running_best_after_the_first_tenth():
    from experiments.compute_curve import largest_dip
    track = [{"step": s, "unseen_heldout_pixels": v} for s, v in
             [(0, 5.0), (5, 20.0), (8, 3.0), (50, 25.0), (60, 24.0), (100, 26.0)]]
    assert largest_dip(track) == 1.0  # the fall at step 8 is inside the first tenth of 100 steps; 25 -> 24 counts
    assert largest_dip([{"step": s, "unseen_heldout_pixels": float(s)} for s in range(0, 100, 10)]) == 0.0
    assert largest_dip(track[:1]) is None


def test_a_stopped_run_is_drawn_as_far_as_it_went_against_steps(tmp_path):
    _run(tmp_path / "long", "modulated", 40, 30.5)
    _run(tmp_path / "cut", "modulated", 10, 29.0)
    (tmp_path / "cut" / "metrics.json").unlink()  # stopped before its end: a track, no final scores
    result = compute_curve.main(["--runs", f"{tmp_path / 'long'},{tmp_path / 'cut'}", "--study", "", "--x", "steps",
                                 "--out", str(tmp_path / "out")])
    cut = next(r for r in result["rows"] if r["run"] == "modulated, cut (stopped)")
    assert cut["steps"] == 100 and cut["unseen icons"] is None and cut["largest dip"] == 0.0
    assert "| modulated, cut (stopped) | 100 | 10.00 | n/a | n/a |" in (tmp_path / "out" / "compute.md").read_text()
    series = json.loads((tmp_path / "out" / "compute.json").read_text())["series"]
    assert [x for x, _ in series["modulated, cut (stopped)"]] == list(range(10, 101, 10))  # steps, not minutes

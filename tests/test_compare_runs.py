"""analysis/reporting/compare_runs.py: a rerun's table against the committed one, ties under the noise."""
from __future__ import annotations

import json

import pytest

from analysis.reporting.compare_runs import NOISE_DB, compare, main
from common.cli import run_main


def summary(**scores) -> dict:
    return {"methods": {"maml": {"steps": 598, "train_pixels": 28.3, "unseen_images": 26.0, **scores}},
            "known_midpoints_unseen": {"maml/warp": {"frame_psnr": 24.3}, "maml/weights": {"frame_psnr": 18.1}}}


def test_a_rerun_within_the_noise_reproduces_and_one_beyond_it_does_not():
    text, result = compare(summary(), summary(unseen_images=26.0 + NOISE_DB / 2))
    assert result["within_noise"] and "| maml | difference | | +0.00 | n/a | +0.40 |" in text
    assert "| maml | committed | 598 | 28.30 | n/a | 26.00 | n/a | n/a | n/a | 24.30 |" in text  # the best path
    text, result = compare(summary(), summary(unseen_images=26.0 - NOISE_DB - 0.1))
    assert not result["within_noise"] and "-0.90 (beyond noise)" in text
    assert result["largest"][1:] == ("maml", "unseen icons")


def test_training_columns_compare_over_the_methods_own_icons_across_versions():
    """A newer study scores modulated's training columns on icons100 and keeps its own-icon score
    as <column>_all_icons: that is what an older run's column holds."""
    newer = summary(train_pixels=29.4, train_pixels_all_icons=28.3)
    assert compare(summary(), newer)[1]["largest"][0] == 0


def test_a_folder_without_results_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "results.json").write_text(json.dumps(summary()))
    with pytest.raises(SystemExit) as exit_:
        run_main(main, [str(tmp_path / "a"), str(tmp_path / "b")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no readable results.json" in err


def test_the_committed_rerun_reproduces_the_committed_study_within_the_noise():
    """results/rerun_study is `python study.py --steps-from results/study`: every headline score of
    every method within NOISE_DB of results/study, and its compare.md is what compare_runs prints."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "results"
    study, rerun = (json.loads((root / name / "results.json").read_text()) for name in ("study", "rerun_study"))
    text, result = compare(study, rerun)
    assert result["within_noise"] and len(result["methods"]) == len(study["methods"]) == 8
    assert all(rerun["methods"][n]["steps"] == study["methods"][n]["steps"] for n in result["methods"])
    assert (root / "rerun_study" / "compare.md").read_text() == text

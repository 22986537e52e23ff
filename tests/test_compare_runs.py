"""analysis/reporting/compare_runs.py: a rerun's table against the committed one, ties under the noise."""
from __future__ import annotations

import json

import pytest

from analysis.reporting.compare_runs import FIT_DB, NOISE_DB, compare, main
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
    assert result["beyond"] == [("maml", "unseen icons", 26.0, 26.0 - NOISE_DB - 0.1)]


def test_a_score_at_the_mean_icon_in_both_runs_is_marked_and_left_out_of_the_verdict():
    """A model that learned nothing of unseen icons swings between seeds: that is not the method's noise."""
    base = {**summary(unseen_images=11.0), "references": {"mean_icon": {"unseen_images": 12.3}}}
    text, result = compare(base, {**summary(unseen_images=9.5), "references": base["references"]})
    assert result["within_noise"] and "-1.50 (at the mean icon)" in text
    text, result = compare(base, {**summary(unseen_images=13.5), "references": base["references"]})
    assert not result["within_noise"] and "+2.50 (beyond noise)" in text  # one run above the mean icon counts


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


def test_the_committed_seeds_differ_within_the_noise_figure():
    """results/study_seed1 (every method) and results/study_seed2 (three) are `python study.py --steps-from
    results/study --seed S`: the same steps, every headline score between the mean icon's level and FIT_DB
    within NOISE_DB of results/study (the figure is read from these runs), and each compare.md is what
    compare_runs prints."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "results"
    study = json.loads((root / "study" / "results.json").read_text())
    for name, methods in (("study_seed1", 8), ("study_seed2", 3)):
        seed = json.loads((root / name / "results.json").read_text())
        text, result = compare(study, seed)
        assert len(result["methods"]) == len(seed["methods"]) == methods
        assert all(min(a, b) >= FIT_DB for _, _, a, b in result["beyond"]), result["beyond"]
        assert all(seed["methods"][n]["steps"] == study["methods"][n]["steps"] for n in result["methods"])
        assert (root / name / "compare.md").read_text() == text

"""study.results_table: the unseen held-out column and the trivial references' rows, in the
Markdown table and in results.json, each reference only in the columns it is scored on."""
from __future__ import annotations

import json

import study


def test_results_table_has_the_unseen_heldout_column_and_reference_rows():
    refs = {"reference/mean_icon_train_pixels": 12.3, "reference/mean_icon_heldout_pixels": 12.2,
            "reference/mean_icon_unseen": 11.5, "reference/mean_icon_unseen_heldout": 11.6,
            "reference/neighbours_heldout_pixels": 23.6, "reference/neighbours_unseen_heldout": 22.4,
            "reference/lanczos_256": 26.4, "reference/bicubic_256": 26.2,
            "reference/unseen_lanczos_256": 25.2, "reference/unseen_bicubic_256": 24.9}
    common = {"parameters": 10, "train_seconds": 1.0, "step": 3, "images": 1445, "psnr/train_pixels": 30.0,
              "psnr/heldout_pixels": 25.0, "psnr/upsample_256": 24.0, **refs}
    train = {"hyper": {**common, "psnr/unseen_images": 20.0, "psnr/unseen_heldout_pixels": 19.5,
                       "psnr/unseen_upsample_256": 18.0},
             "hyper_table": common}  # no unseen scores: a code table
    table, summary = study.results_table(train, {})
    lines = table.splitlines()
    assert "unseen held-out px dB" in lines[0]
    assert "| hyper | 10 | 1,445 | 1 | 3 | 30.00 | 25.00 | 20.00 | 19.50 | 24.00 | 18.00 |" in lines
    assert "| hyper_table | 10 | 1,445 | 1 | 3 | 30.00 | 25.00 | n/a | n/a | 24.00 | n/a |" in lines
    assert "| mean icon (reference) | | | | | 12.30 | 12.20 | 11.50 | 11.60 |  |  |" in lines
    assert "| neighbour interpolation (reference) | | | | |  | 23.60 |  | 22.40 |  |  |" in lines
    assert "| Lanczos (reference) | | | | |  |  |  |  | 26.40 | 25.20 |" in lines
    assert "| bicubic (reference) | | | | |  |  |  |  | 26.20 | 24.90 |" in lines
    assert summary["references"]["neighbours"] == {"heldout_pixels": 23.6, "unseen_heldout_pixels": 22.4}
    assert summary["references"]["bicubic"] == {"upsample": 26.2, "unseen_upsample": 24.9}
    assert summary["methods"]["hyper"]["unseen_heldout_pixels"] == 19.5
    assert summary["methods"]["hyper"]["steps"] == 3 and summary["methods"]["hyper"]["train_icons"] == 1445


def test_the_upsampling_table_has_psnr_ssim_and_flat_error_with_lanczos_and_bicubic():
    refs = {f"reference/{where}{ref}_256{suffix}": value for where in ("", "unseen_")
            for ref, value in (("lanczos", 1.0), ("bicubic", 2.0))
            for suffix in ("", "_ssim", "_flat_rmse")}
    scores = {f"{metric}/{where}upsample_256": value for where in ("", "unseen_")
              for metric, value in (("psnr", 28.0), ("ssim", 0.9), ("flat_rmse", 0.5))}
    common = {"parameters": 10, "train_seconds": 1.0, "step": 3, **refs}
    train = {"local": {**common, **scores}, "hyper_table": {**common, "psnr/upsample_256": 24.0}}
    table, summary = study.results_table(train, {})
    lines = table.splitlines()
    assert "| local | 3 | 28.00 | 0.900 | 0.50 | 28.00 | 0.900 | 0.50 |" in lines
    assert "| hyper_table | 3 | 24.00 | n/a | n/a | n/a | n/a | n/a |" in lines
    assert "| lanczos (reference) |  | 1.00 | 1.000 | 1.00 | 1.00 | 1.000 | 1.00 |" in lines
    assert summary["upsampling"]["bicubic (reference)"]["unseen_flat_rmse"] == 2.0


def test_every_table_names_each_methods_training_steps():
    """A minutes budget makes as many steps as the machine allows: every table says how many."""
    from analysis.reporting.report import inner_step_lines, midpoint_lines

    common = {"parameters": 10, "train_seconds": 1.0, "images": 100, "psnr/train_pixels": 30.0}
    random = {"modes": {"weights": {k: {"mean": 0.5, "std": 0.1} for k in ("morph_error", "pdv", "band_energy_error")}},
              "pairs": [[0, 1]]}
    interp = {"maml": {"pairs": [{"modes": {"weights": {"morph_error": 0.4}}}], "random": random}}
    table, summary = study.results_table({"maml": {**common, "step": 937}}, interp)
    assert "| maml | 937 | weights | 0.500 +- 0.100 | 0.500 | 0.500 | 0.400 |" in table.splitlines()
    bench = {"set": {"cases": 1, "endpoints": {"maml": {"mean": 27.0}}, "paths": {}, "table": "| t |"}}
    assert "Training steps: maml 937." in "\n".join(midpoint_lines(bench, summary))
    steps = inner_step_lines({"maml": {"train_pixels": {0: 11.0, 3: 29.0}}}, summary)
    assert "| maml (937 training steps): inner steps | 0 | 3 |" in steps


def test_steps_from_a_study_folder_fixes_every_budget(tmp_path):
    """--steps-from reads each method's steps (results.json, else metrics.json, else track.jsonl)
    and drops the minutes limit; --steps overrides single methods; a missing count is a one-line error."""
    import json

    import pytest

    from common.errors import UserError

    (tmp_path / "results.json").write_text(json.dumps({"methods": {"hyper": {"steps": 1595}}}))
    (tmp_path / "runs" / "maml").mkdir(parents=True)
    (tmp_path / "runs" / "maml" / "metrics.json").write_text(json.dumps({"step": 937}))
    (tmp_path / "runs" / "local").mkdir()
    (tmp_path / "runs" / "local" / "track.jsonl").write_text('{"model": "local"}\n{"step": 50}\n{"step": 1748}\n')
    names = ["hyper", "maml", "local"]
    cfg = study.StudyConfig(steps_from=str(tmp_path))
    plan = study.budgets(cfg, names)
    assert {n: (b["steps"], b["minutes"]) for n, b in plan.items()} == {"hyper": (1595, 0), "maml": (937, 0),
                                                                          "local": (1748, 0)}
    plan = study.budgets(study.StudyConfig(steps_from=str(tmp_path), steps="maml=10"), names)
    assert plan["maml"]["steps"] == 10 and plan["hyper"]["steps"] == 1595
    assert study.budgets(study.StudyConfig(steps="500"), ["hyper", "perimage"])["perimage"] == {
        "minutes": 0, "steps": 500, "eval_every": 1_000_000}
    default = study.budgets(study.StudyConfig(), ["perimage", "modulated"])
    assert default["perimage"]["minutes"] == 1.5 and default["modulated"]["minutes"] == 9.0
    with pytest.raises(UserError, match="no step count for modulated"):
        study.budgets(study.StudyConfig(steps_from=str(tmp_path)), ["hyper", "modulated"])
    with pytest.raises(UserError, match="no such folder"):
        study.budgets(study.StudyConfig(steps_from=str(tmp_path / "none")), names)
    with pytest.raises(UserError, match="not one of the study's methods"):
        study.budgets(study.StudyConfig(steps="concat=5"), names)
    with pytest.raises(UserError, match="positive step count"):
        study.budgets(study.StudyConfig(steps="hyper=-3"), names)


def test_the_committed_study_gives_every_method_its_steps():
    """The committed run's folder is a valid --steps-from for its methods."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "results" / "study"
    names = study.STUDY_METHODS.split(",")
    plan = study.budgets(study.StudyConfig(steps_from=str(root)), names)
    made = json.loads((root / "runs" / "modulated" / "metrics.json").read_text())["step"]
    assert plan["modulated"]["steps"] == made and all(b["minutes"] == 0 for b in plan.values())


def test_a_method_trained_on_more_icons_is_scored_on_the_studys_icons_with_its_own_beside():
    common = {"parameters": 10, "train_seconds": 1.0, "step": 3, "psnr/train_pixels": 30.0, "psnr/heldout_pixels": 25.0}
    train = {"hyper": {**common, "images": 100}, "modulated": {**common, "images": 1445}}
    table, summary = study.results_table(train, {}, {"modulated": {"train_pixels": 31.0, "heldout_pixels": 26.5}})
    lines = table.splitlines()
    assert "| modulated | 10 | 1,445 | 1 | 3 | 31.00 (1,445 icons: 30.00) | 26.50 (1,445 icons: 25.00) |" in table
    assert "| hyper | 10 | 100 | 1 | 3 | 30.00 | 25.00 |" in "\n".join(lines)
    row = summary["methods"]["modulated"]
    assert (row["train_pixels"], row["train_pixels_all_icons"]) == (31.0, 30.0)
    assert "train_pixels_all_icons" not in summary["methods"]["hyper"]


def test_known_midpoint_rows_of_methods_trained_on_the_changes_are_marked_in_distribution():
    from analysis.reporting.report import midpoint_lines

    score = {"all": {"frame_psnr": {"mean": 26.0, "std": 1.0, "n": 2}, "ssim": {"mean": 0.9, "std": 0.1}},
             "by_t": {0.5: {"frame_psnr": {"mean": 26.0}}}}
    bench = {"set": {"cases": 2, "endpoints": {"modulated": {"mean": 29.0}, "maml": {"mean": 27.0}},
                     "paths": {"modulated": {"aligned": score}, "maml": {"weights": score}}, "table": ""}}
    summary = {"methods": {"modulated": {"steps": 5}, "maml": {"steps": 7}}}
    text = "\n".join(midpoint_lines(bench, summary, ("modulated",)))
    assert "| modulated (in-distribution) | aligned | 2 | 26.00 +- 1.00 |" in text
    assert "| maml | weights | 2 |" in text and "maml (in-distribution)" not in text
    assert "Rows marked in-distribution: modulated" in text
    assert "in-distribution" not in "\n".join(midpoint_lines(bench, summary))

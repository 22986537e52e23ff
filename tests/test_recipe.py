"""experiments/recipe.py on a tiny model: its table with test-time latent steps and the rate sweep; a rerun
reuses its runs; a stranger's folder and an unknown variant are refused before any training."""
from __future__ import annotations

import json

import pytest

from experiments import recipe
from common.errors import UserError

TINY = "--hidden 16 --hidden-layers 1 --batch 8 --pixels 64 --unseen-count 4 --hr-res 0 --track-every 0"


def test_recipe_writes_its_table_and_reuses_its_runs(tmp_path):
    argv = ["--variants", "grid24x4", "--steps", "2", "--extra", TINY, "--rates", "0.5,1", "--out", str(tmp_path)]
    rows = recipe.main(argv)["rows"]
    assert [(r["variant"], r["steps"]) for r in rows] == [("grid24x4", 2)]
    assert all(isinstance(rows[0][f"unseen icons, {k} steps"], float) for k in recipe.STEPS)
    table = (tmp_path / "recipe.md").read_text()
    assert f"| grid24x4 | {recipe.EARLIER} --hr-supervision 0 | 2 |" in table and "| scale | 0.5 | 1 |" in table
    before = (tmp_path / "grid24x4" / "metrics.json").stat().st_mtime
    assert recipe.main(argv)["rows"] == json.loads((tmp_path / "recipe.json").read_text())["rows"]
    assert (tmp_path / "grid24x4" / "metrics.json").stat().st_mtime == before  # reused, not retrained


def test_a_strangers_folder_and_an_unknown_variant_are_refused(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("mine")
    with pytest.raises(UserError, match="inr-run.json"):
        recipe.main(["--variants", "grid24x4", "--out", str(tmp_path / "notes")])
    assert (tmp_path / "notes" / "a.txt").read_text() == "mine"
    with pytest.raises(UserError, match="unknown variant"):
        recipe.main(["--variants", "bigger", "--out", str(tmp_path / "new")])

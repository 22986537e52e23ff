"""experiments/scaling.py end to end on tiny models: runs, table, figure; a rerun reuses finished runs."""
from __future__ import annotations

import json

from experiments import scaling

TINY = "--hidden 16 --hidden-layers 1 --batch 8 --pixels 64 --unseen-count 4 --hr-res 0 --track-every 0"


def test_scaling_writes_its_table_and_figure(tmp_path):
    argv = ["--counts", "100,120", "--changes", "0", "--grids", "3x4", "--no-film", "--steps", "2", "--extra", TINY,
            "--out", str(tmp_path)]
    result = scaling.main(argv)
    rows = result["rows"]
    assert [(r["icons"], r["grid"], r["floats"]) for r in rows] == [
        (100, "24 x 24 x 4", 2304), (120, "24 x 24 x 4", 2304), (120, "3 x 3 x 4", 36)]
    assert all(r["steps"] == 2 and r["unseen icons"] is not None for r in rows)
    assert result["references"]["mean icon, unseen"] > 5
    assert (tmp_path / "data_size.png").stat().st_size > 1000
    # the grid runs use the registry's --changes (0.5), whatever the data-size runs use
    assert "| 120 | 0.50 | 3 x 3 x 4 | shift | 36 | 2 | " in (tmp_path / "scaling.md").read_text()
    before = (tmp_path / "n100_changes0" / "metrics.json").stat().st_mtime
    assert scaling.main(argv)["rows"] == json.loads((tmp_path / "scaling.json").read_text())["rows"]
    assert (tmp_path / "n100_changes0" / "metrics.json").stat().st_mtime == before  # reused, not retrained

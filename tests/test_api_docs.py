"""docs/api.md's Python block runs as it stands: in a fresh folder holding a tiny checkpoint at the
path it loads and an image at each path it reads, its lines are executed unchanged."""
from __future__ import annotations

import re
from pathlib import Path

from conftest import write_shapes
from tiny_runs import drawing, train_tiny

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "api.md").read_text()


def python_block(text: str) -> str:
    """The page's first ```python block: the lines a reader copies."""
    return re.search(r"```python\n(.*?)```", text, flags=re.DOTALL).group(1)


def test_the_api_page_runs_as_written(tmp_path, monkeypatch, capsys):
    code = python_block(PAGE)
    assert 8 <= len(code.strip().splitlines()) <= 12, "docs/api.md shows the API in about ten lines"
    paths = re.findall(r"\"([^\"]+\.(?:pt|png|jpg|gif)|[^\"]+/)\"", code)
    ckpt = next(p for p in paths if p.endswith(".pt"))
    outputs = [p for p in paths if p.startswith("out/")]
    images = [p for p in paths if p.endswith((".png", ".jpg")) and p not in outputs]
    folders = [p for p in paths if p.endswith("/") and p not in outputs]
    assert outputs and images and folders, paths
    shapes = write_shapes(tmp_path / "train", count=6)
    model = next(m for m in ("modulated", "maml", "local") if m in ckpt)  # the method the page names
    train_tiny(model, shapes, tmp_path / Path(ckpt).parent)
    for k, name in enumerate(images):
        drawing(40, seed=k).save(tmp_path / name)
    for name in folders:
        write_shapes(tmp_path / name, count=4, seed=3)
    if "sample(" in code:  # a prior beside the checkpoint, where model.sample looks for it (untrained: v = 0)
        import torch

        from models.prior import GridFlow
        from train.checkpoint import load_checkpoint
        from train.prior import prior_path

        path = tmp_path / ckpt
        cfg = load_checkpoint(path)["config"]
        flow = GridFlow(cfg["grid_channels"], cfg["grid"], width=8)
        torch.save({"kind": "grid_flow", "shape": [flow.channels, flow.grid, flow.width], "model": flow.state_dict()},
                   prior_path(path))
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/api.md", "exec"), {})  # noqa: S102 (the page's own code)
    for name in outputs:
        assert (tmp_path / name).is_file(), name
    printed = capsys.readouterr().out.splitlines()
    assert "aligned" in printed[-4] and len(printed[-3:]) == 3 and "~" in printed[-1]

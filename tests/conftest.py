"""Shared fixtures and helpers: tiny image folders made on the fly, the one-line error check."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from train.registry import TINY, spec
from train.config import method_config


def tiny_config(name: str, **changes) -> dict:
    """The full config dict of registry method `name` at its tiny test size (registry.TINY and
    the method's own `tiny`), as a checkpoint saves it; `changes` override any field."""
    return dataclasses.asdict(method_config(name, tiny=True, **changes))


def write_shapes(folder, count: int = 4, size: int = 24, seed: int = 0):
    """`count` RGBA PNGs: a coloured disc or square on a transparent background."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    for k in range(count):
        rgba = np.zeros((size, size, 4), np.uint8)
        cx, cy, r = rng.integers(size // 3, 2 * size // 3, 2).tolist() + [size // 4]
        inside = ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r) if k % 2 else ((abs(xx - cx) < r) & (abs(yy - cy) < r))
        rgba[inside] = list(rng.integers(0, 256, 3)) + [255]
        Image.fromarray(rgba, "RGBA").save(folder / f"shape{k:02d}.png")
    return folder


def pytest_collection_modifyitems(config, items):
    """Tests marked `cuda` skip where no CUDA GPU is visible."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def shapes_dir(tmp_path):
    return write_shapes(tmp_path / "shapes")


def one_line_error(err: pytest.ExceptionInfo, *names: str) -> str:
    """The message of a raised UserError, checked to be one line naming every one of `names`."""
    message = str(err.value)
    assert "\n" not in message, message
    for name in names:
        assert name in message, message
    return message


def tiny_flags(name: str = "hyper") -> list[str]:
    """Command-line flags of registry method `name` at its tiny test size (registry.TINY and the
    method's `tiny`), for the training scripts."""
    s = spec(name)
    values = {**TINY, **s.tiny}
    return [f"--{k.replace('_', '-')}={v}" for k, v in values.items()]

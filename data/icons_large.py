"""Reader for the shipped ``data/icons-large`` arrays (built by ``python -m data.build_icons``).

Shipped (split, res): train and test, each at 48, 64 and 256 px. Each file
``data/icons-large/<split>_<res>.npz`` holds ``images`` (N, res, res, 3) uint8 RGB icons
on white and ``names`` (N,) str, sorted by name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ICONS_LARGE_DIR = Path(__file__).resolve().parent / "icons-large"


def available() -> list[tuple[str, int]]:
    """Sorted (split, res) pairs that are shipped, e.g. ``[("test", 48), ...]``."""
    pairs = (p.stem.rsplit("_", 1) for p in ICONS_LARGE_DIR.glob("*_*.npz"))
    return sorted((split, int(res)) for split, res in pairs if res.isdigit())


def load_icons_large_arrays(split: str, res: int) -> tuple[np.ndarray, list[str]]:
    """Load one split at one resolution.

    Args:
        split: ``"train"`` or ``"test"``.
        res: side length in pixels (see ``available()``).

    Returns:
        ``(images, names)``: images is (N, res, res, 3) uint8 RGB; names has N entries.

    Raises:
        ValueError: if that (split, res) is not shipped.
    """
    path = ICONS_LARGE_DIR / f"{split}_{res}.npz"
    if not path.is_file():
        raise ValueError(f"{path} not found; available (split, res): {available()}")
    with np.load(path, allow_pickle=False) as npz:
        images, names = npz["images"], [str(n) for n in npz["names"]]
    if images.shape != (len(names), res, res, 3) or images.dtype != np.uint8:
        raise ValueError(f"{path}: unexpected images {images.shape} {images.dtype}")
    return images, names

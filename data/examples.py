"""Write the README's example images: a few icons of icons-large's test split at 256 px.

    python -m data.examples            # -> examples/<name>.png

They stand for "your own images" in the README's try-it commands: no method trains on the test
split, so every shipped checkpoint meets them for the first time (`data/split.py`).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from data.icons_large import load_icons_large_arrays

NAMES = ("avocado", "candle", "crab", "lobster", "pig", "pizza")
OUT = Path(__file__).resolve().parents[1] / "examples"


def main(argv=None) -> None:
    argparse.ArgumentParser(description="Write the README's example icons into examples/.").parse_args(argv)
    arrays, names = load_icons_large_arrays("test", 256)
    OUT.mkdir(exist_ok=True)
    for name in NAMES:
        Image.fromarray(np.asarray(arrays[list(names).index(name)])).save(OUT / f"{name}.png", optimize=True)
    print(f"wrote {len(NAMES)} icons to {OUT}")


if __name__ == "__main__":
    main()

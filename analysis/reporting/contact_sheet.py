"""Contact sheets of a data set, to look at what the models are asked to learn.

    python -m data.contact_sheet --data icons100 --res 48 --count 100 --out docs/icons100_48.png
    python -m data.contact_sheet --data icons100 --res 256 --count 12 --cols 6 --out docs/icons100_256.png
"""
from __future__ import annotations

from dataclasses import dataclass

from analysis.figures import make_grid, save_png
from common.cli import parse_config, run_main
from data.images import load_images


@dataclass
class SheetConfig:
    """Write a grid of the first --count images of a data set at one resolution."""

    data: str = "icons100"
    res: int = 48
    count: int = 100
    cols: int = 10
    split: str = "train"
    out: str = "docs/icons100_48.png"


def main(argv=None) -> None:
    cfg, _ = parse_config(SheetConfig, argv)
    images = load_images(cfg.data, cfg.res, cfg.split).images[:cfg.count]
    print(f"wrote {save_png(make_grid(images, ncol=cfg.cols), cfg.out)}")


if __name__ == "__main__":
    run_main(main)

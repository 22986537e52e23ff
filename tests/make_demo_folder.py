"""A folder of the kind a user brings: simple drawings of houses, as PNG and camera-style JPEG.

    python -m tests.make_demo_folder /tmp/demo            # 30 images
    python -m tests.make_demo_folder /tmp/demo --count 60

Made so that the README's "Your own images" run shows every case a folder meets: mixed
sizes and aspect ratios, JPEGs stored sideways with an EXIF "rotate 90" tag (as phones write
portrait photos), and small thumbnails below 256 px (no true 256 px version, so the
upsampling score skips them). Deterministic: the same arguments write the same bytes.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ORIENTATION = 0x0112  # EXIF tag; 6 = "rotate 90 degrees clockwise to view"


def drawing(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A child's drawing: sky, ground, a house with a roof, door and window, a sun, maybe a tree."""
    def colour(low: int = 0, high: int = 256) -> tuple[int, int, int]:
        return tuple(int(c) for c in rng.integers(low, high, 3))

    img = Image.new("RGB", (width, height), colour(150, 256))
    draw = ImageDraw.Draw(img)
    horizon = int(height * rng.uniform(0.6, 0.8))
    draw.rectangle((0, horizon, width, height), fill=colour(0, 160))
    side = int(min(width, height) * rng.uniform(0.3, 0.45))
    left = int(rng.uniform(0.05, 0.95) * (width - side))
    top = horizon - side
    draw.rectangle((left, top, left + side, horizon), fill=colour(), outline=(0, 0, 0), width=max(1, side // 40))
    draw.polygon([(left - side // 8, top), (left + side + side // 8, top), (left + side // 2, top - side // 2)],
                 fill=colour(0, 200))
    draw.rectangle((left + side // 2 - side // 10, horizon - side // 3, left + side // 2 + side // 10, horizon),
                   fill=colour(0, 120))
    draw.rectangle((left + side // 8, top + side // 6, left + side // 3, top + side // 3), fill=colour(180, 256))
    sun = int(min(width, height) * rng.uniform(0.06, 0.12))
    cx, cy = int(rng.uniform(0.1, 0.9) * width), int(rng.uniform(0.08, 0.3) * height)
    draw.ellipse((cx - sun, cy - sun, cx + sun, cy + sun), fill=(255, int(rng.integers(180, 240)), 0))
    if rng.random() < 0.6:
        tx = int(rng.uniform(0.05, 0.95) * width)
        draw.rectangle((tx - side // 16, horizon - side // 2, tx + side // 16, horizon), fill=(110, 70, 30))
        draw.ellipse((tx - side // 4, horizon - side, tx + side // 4, horizon - side // 2 + side // 8),
                     fill=colour(0, 140))
    return img


def make_demo_folder(folder: Path, count: int = 30, seed: int = 0) -> Path:
    """Write `count` drawings into `folder`: every 5th a 48 px PNG thumbnail, every 3rd a
    320 x 240 JPEG stored sideways with EXIF orientation 6, the rest PNGs from 256 to 400 px."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for k in range(count):
        name = f"house_{k:02d}"
        if k % 5 == 4:
            drawing(rng, 48, 48).save(folder / f"{name}_thumb.png")
        elif k % 3 == 0:
            upright = drawing(rng, 240, 320)  # portrait, as the camera saw it
            exif = Image.Exif()
            exif[ORIENTATION] = 6
            upright.transpose(Image.Transpose.ROTATE_90).save(folder / f"{name}.jpg", quality=90, exif=exif)
        else:
            w, h = (int(s) for s in rng.integers(256, 401, 2))
            drawing(rng, w, h).save(folder / f"{name}.png")
    return folder


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    make_demo_folder(args.folder, args.count, args.seed)
    print(f"wrote {args.count} drawings to {args.folder}")


if __name__ == "__main__":
    main()

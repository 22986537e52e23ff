"""One pair's interpolations across methods, as one figure that reads at display width.

interpolate.py writes, per method and pair, one strip of frames per mode. All of them in one
sheet made 36 rows of 9 frames (6-7 MB, labels unreadable at 1,000 px). This figure keeps
what the text discusses: the pixel cross-fade once (the reference; it does not depend on the
method when it fades the true images), then per method its plain blend (weights where it has
them, else its latent) and the warp-and-blend; five frames, t labelled above, the pair named
in a title.
"""
from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from analysis.figures import add_title, from_pil, label_columns, label_rows, make_grid

TS = (0.0, 0.25, 0.5, 0.75, 1.0)  # the frames shown
PLAIN = ("weights", "latent")  # the plain blend of a method: the first of these it has
IMPROVED = "warp"


def strip_frames(strip: torch.Tensor, count: int, pad: int = 2) -> torch.Tensor:
    """Cut a one-row make_grid strip (3, r + 2 pad, count (r + pad) + pad) into (count, 3, r, r)."""
    res = strip.shape[-2] - 2 * pad
    return torch.stack([strip[:, pad:pad + res, pad + k * (res + pad):pad + k * (res + pad) + res]
                        for k in range(count)])


def pick(frames: torch.Tensor, ts: list[float]) -> torch.Tensor:
    """The frames nearest to TS from a path sampled at `ts`."""
    return frames[[min(range(len(ts)), key=lambda i: abs(ts[i] - t)) for t in TS]]


def read_strip(folder: Path, mode: str, count: int) -> torch.Tensor | None:
    path = folder / f"strip_{mode}.png"
    return strip_frames(from_pil(Image.open(path)), count) if path.is_file() else None


def pair_figure(folders: dict[str, Path], ts: list[float], title: str) -> torch.Tensor:
    """folders: {method: its folder of this pair's strips}; ts: the strips' frame times.
    Returns the labelled figure (3, H, W)."""
    rows, labels = [], []
    for name, folder in folders.items():
        if not rows and (fade := read_strip(folder, "pixel", len(ts))) is not None:
            rows.append(pick(fade, ts))
            labels.append("pixel cross-fade\n(reference)")
        for mode in (next((m for m in PLAIN if (folder / f"strip_{m}.png").is_file()), None), IMPROVED):
            frames = read_strip(folder, mode, len(ts)) if mode else None
            if frames is not None:
                rows.append(pick(frames, ts))
                labels.append(f"{name}: {mode}")
    res = rows[0].shape[-1]
    grid = make_grid(torch.cat(rows), ncol=len(TS))
    labelled = label_rows(grid, labels, row_height=res + 2)
    margin = labelled.shape[-1] - grid.shape[-1]
    ts_text = [f"t = {t:g}" if res >= 96 else f"{t:g}" for t in TS]  # small tiles (--quick) fit the number only
    sheet = label_columns(labelled, ts_text, res, size=min(16, 6 + res // 4), left=margin)
    return add_title(sheet, title)

"""One pair's interpolations across methods, as one figure that reads at display width.

interpolate.py writes, per method and pair, one strip of frames per mode. This figure puts a
row per method and the modes side by side: the method's own renders of the two icons at
t = 0 and t = 1, then the frames at t = 0.25, 0.5, 0.75 of its plain blend (weights where it has
them, else its latent), of the warp-and-blend and of the aligned blend (question 3), a blank
where the method has no such mode. Above them the truth: the two true icons (a real pair has no
true in-between) and the pixel cross-fade of the true icons, the reference every path is read
against. Tiles are at most TILE px, so 8 methods fit about 1,300 x 1,200 px.
"""
from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw

from analysis.figures import LABEL_SIZE, add_title, font, from_pil, label_rows, make_grid, to_uint8

TS = (0.25, 0.5, 0.75)  # the in-between frames shown of each mode
GROUPS = (("plain blend", ("weights", "latent")), ("warp-and-blend", ("warp",)), ("aligned", ("aligned",)))
TILE = 96  # px: a 128 px strip is shown at 96, enough for 48 px icons at display width


def strip_frames(strip: torch.Tensor, count: int, pad: int = 2) -> torch.Tensor:
    """Cut a one-row make_grid strip (3, r + 2 pad, count (r + pad) + pad) into (count, 3, r, r)."""
    res = strip.shape[-2] - 2 * pad
    return torch.stack([strip[:, pad:pad + res, pad + k * (res + pad):pad + k * (res + pad) + res]
                        for k in range(count)])


def pick(frames: torch.Tensor, ts: list[float], wanted=TS) -> torch.Tensor:
    """The frames nearest to `wanted` from a path sampled at `ts`."""
    return frames[[min(range(len(ts)), key=lambda i: abs(ts[i] - t)) for t in wanted]]


def read_strip(folder: Path, mode: str, count: int) -> torch.Tensor | None:
    path = folder / f"strip_{mode}.png"
    return strip_frames(from_pil(Image.open(path)), count) if path.is_file() else None


def fit(tiles: torch.Tensor, size: int) -> torch.Tensor:
    """(K, 3, r, r) -> (K, 3, size, size) (antialiased when smaller)."""
    if tiles.shape[-1] == size:
        return tiles
    return torch.nn.functional.interpolate(tiles, size=(size, size), mode="bilinear", antialias=True,
                                           align_corners=False).clamp(0, 1)


def pair_figure(folders: dict[str, Path], ts: list[float], title: str, truth: torch.Tensor) -> torch.Tensor:
    """folders: {method: its folder of this pair's strips}; ts: the strips' frame times; truth: the
    two true icons (2, 3, R, R). Returns the labelled figure (3, H, W)."""
    res = next((f.shape[-1] for folder in folders.values() for mode in ("pixel", "weights", "latent", "warp")
                if (f := read_strip(folder, mode, len(ts))) is not None), truth.shape[-1])
    tile = min(res, TILE)
    blank = torch.ones(len(TS), 3, tile, tile)
    a, b = fit(truth[:, :3].float(), tile)
    fade = torch.stack([(1 - t) * a + t * b for t in TS])  # the pixel cross-fade of the true icons
    rows = [torch.cat([a[None], *(blank for _ in GROUPS), b[None]]),
            torch.cat([a[None], fade, *(blank for _ in GROUPS[1:]), b[None]])]
    labels = ["truth", "true icons,\npixel cross-fade"]
    for name, folder in folders.items():
        strips = {mode: s for _, modes in GROUPS for mode in modes if (s := read_strip(folder, mode, len(ts))) is not None}
        if not strips:
            continue
        ends = fit(pick(next(iter(strips.values())), ts, (0.0, 1.0)), tile)  # the method's own renders of a and b
        chosen = [next((m for m in modes if m in strips), None) for _, modes in GROUPS]  # a mode per group or None
        groups = [fit(pick(strips[mode], ts), tile) if mode else blank for mode in chosen]
        plain = chosen[0]
        rows.append(torch.cat([ends[:1], *groups, ends[1:]]))
        labels.append(f"{name}\n({plain} blend)" if plain else name)
    cols = 2 + len(TS) * len(GROUPS)
    grid = make_grid(torch.cat(rows), ncol=cols)
    size = min(LABEL_SIZE, 6 + tile // 6)  # two label lines fit a row down to small (--quick) tiles
    labelled = label_rows(grid, labels, row_height=tile + 2, size=size)
    margin = labelled.shape[-1] - grid.shape[-1]
    # Two header lines: what each group of columns shows, then the frame's t.
    fnt, head = font(size), 2 * (size + 10)
    canvas = Image.new("RGB", (labelled.shape[-1], labelled.shape[-2] + head), "white")
    canvas.paste(Image.fromarray(to_uint8(labelled)), (0, head))
    draw = ImageDraw.Draw(canvas)

    def centre(column: float) -> float:  # x of the middle of a column (fractional: a group's middle)
        return margin + 2 + column * (tile + 2) + tile / 2

    spans = [("start", 0, 0)] + [(g, 1 + k * len(TS), len(TS) * (k + 1)) for k, (g, _) in enumerate(GROUPS)]
    for text, first, last in spans + [("end", cols - 1, cols - 1)]:
        draw.text(((centre(first) + centre(last)) / 2, (size + 10) / 2), text, fill="black", font=fnt, anchor="mm")
    times = [0.0, *TS * len(GROUPS), 1.0]
    for c, t in enumerate(times):
        draw.text((centre(c), size + 10 + (size + 10) / 2), f"t = {t:g}" if tile >= 64 else f"{t:g}",
                  fill="black", font=fnt, anchor="mm")
    for first in (1, *(1 + len(TS) * (k + 1) for k in range(len(GROUPS)))):  # a rule between groups of columns
        x = margin + first * (tile + 2)
        draw.line([(x, size + 10), (x, canvas.height)], fill=(150, 150, 150), width=2)
    middle = head + 2 + tile / 2  # the truth row: say why its middle is empty
    draw.text(((centre(1) + centre(cols - 2)) / 2, middle), "a real pair has no true in-between",
              fill=(110, 110, 110), font=fnt, anchor="mm")
    return add_title(from_pil(canvas), title)

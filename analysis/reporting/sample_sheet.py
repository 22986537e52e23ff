"""The sheet of sampled icons: each sample beside its nearest training icon, with their PSNR.

    sheet = sample_sheet(samples, nearest, psnrs, names, columns=8)    # (3, H, W) in [0, 1]

A sample that is a copy shows as a pair of twins with a high PSNR; a new icon as a pair that
differs. Tiles are upscaled (nearest) to `tile` px so that 48 px icons read at 1000 px wide.
"""
from __future__ import annotations

import torch
from PIL import Image, ImageDraw

from analysis.figures import add_title, font, from_pil, to_uint8, upscale_nearest


def sample_sheet(samples: torch.Tensor, nearest: torch.Tensor, psnrs: list[float], columns: int = 8, tile: int = 56,
                 title: str = "") -> torch.Tensor:
    """samples, nearest (N, 3, h, w) in [0, 1]; psnrs: N values in dB -> a sheet of N (sample | nearest) cells,
    `columns` cells a row, each captioned with the PSNR between the two."""
    n, size = len(samples), 11
    fnt = font(size)
    cell_w, cell_h = 2 * tile + 6, tile + size + 8
    rows = (n + columns - 1) // columns
    canvas = Image.new("RGB", (columns * cell_w + 8, rows * cell_h + size + 12), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((6, 2), "each cell: a sample | its nearest training icon (pixel PSNR between them)", fill="black", font=fnt)
    top = size + 10
    big_s, big_n = upscale_nearest(samples, tile), upscale_nearest(nearest, tile)  # (N, 3, tile, tile)
    for i in range(n):
        x, y = 4 + (i % columns) * cell_w, top + (i // columns) * cell_h
        canvas.paste(Image.fromarray(to_uint8(big_s[i])), (x, y))
        canvas.paste(Image.fromarray(to_uint8(big_n[i])), (x + tile + 2, y))
        draw.text((x + tile, y + tile + 2), f"{psnrs[i]:.1f} dB", fill="black", font=fnt, anchor="mt")
    sheet = from_pil(canvas)
    return add_title(sheet, title) if title else sheet

"""Upsampling figures: a low-resolution input beside Lanczos, each model's render at a high
resolution and the true high-resolution image, one row per icon, labelled columns.
Written once for upsample.py (one method) and study.py (every method)."""
from __future__ import annotations

import textwrap

import torch

from analysis.endpoints import encode_images
from analysis.figures import LABEL_SIZE, label_columns, label_rows, make_grid, upscale_nearest
from analysis.scoring.evaluate import psnr, render_all
from data.images import ImageSet, lanczos_resize
from models.method import Method


def upsampled(method: Method, images: ImageSet, observed: torch.Tensor, index: list[int], res: int) -> torch.Tensor:
    """Training images `index`, encoded from their observed pixels, rendered at res: (K, 3, res, res) in [0, 1]."""
    rep = encode_images(method, images, observed, index)
    return render_all(method, rep, res).clamp(0, 1)


def upsample_sheet(lowres: torch.Tensor, renders: dict[str, torch.Tensor], truth: torch.Tensor,
                   names: list[str] | None = None) -> tuple[torch.Tensor, dict]:
    """lowres (K, 3, r, r); renders {label: (K, 3, R, R)}; truth (K, 3, R, R); names: the K icons'
    names, written beside their rows.

    Returns (the labelled sheet (3, H, W): columns input (nearest), Lanczos, each render, truth;
    PSNR per column {label: (K,) dB}, Lanczos included).
    """
    res = truth.shape[-1]
    columns = {"lanczos": lanczos_resize(lowres, res), **renders}  # label -> (K, 3, R, R)
    scores = {label: psnr(images, truth) for label, images in columns.items()}  # label -> (K,)
    tiles = torch.stack([upscale_nearest(lowres, res), *columns.values(), truth], 1).flatten(0, 1)
    labels = [f"input {lowres.shape[-1]} px", *columns, f"true {res} px"]
    grid = make_grid(tiles, ncol=len(labels))
    # The sheet is shown scaled to about 1,000 px wide: labels grow with it to stay readable.
    size = max(LABEL_SIZE, LABEL_SIZE * grid.shape[-1] // 1000)
    margin = 0
    if names:
        wrapped = [textwrap.fill(name.replace("_", " "), 16) for name in names]  # long emoji names: 2-3 lines
        labelled = label_rows(grid, wrapped, row_height=res + 2, size=size)
        margin, grid = labelled.shape[-1] - grid.shape[-1], labelled
    return label_columns(grid, labels, res, size=size, left=margin), scores

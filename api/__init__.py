"""The project's methods on your own images, from Python (docs/api.md).

    import api
    model = api.load("runs/modulated/ckpt.pt")          # any checkpoint of train_hyper.py / train_maml.py
    enc = model.encode("my_folder/")                     # a file, a folder, a PIL image, a tensor, a training name
    api.save_png(model.render(enc, 256)[0], "big.png")   # any size
    api.save_gif(model.interpolate("a.png", "b.png", 9, "aligned"), "a_to_b.gif")
    model.rank_pairs(enc)[:3]                            # the most similar pairs

A layer above models/, analysis/ and train/ (it reuses their encoding, rendering, blends, warps
and similarity) and below the scripts, which are written on it (tests/test_layers.py).
"""
from __future__ import annotations

import torch

from analysis.figures import make_grid
from analysis.figures import save_gif as _save_gif
from analysis.figures import save_png as _save_png
from api.inputs import Inputs, read_inputs
from api.model import Encoding, Model, RankedPair, load

__all__ = ["Encoding", "Inputs", "Model", "RankedPair", "load", "read_inputs", "save_gif", "save_png"]


def save_png(images: torch.Tensor, path) -> None:
    """Save one image (3, H, W) or a batch (N, 3, H, W) side by side, in [0, 1], as a PNG."""
    _save_png(images if images.dim() == 3 else make_grid(images, ncol=len(images)), path)


def save_gif(frames: torch.Tensor, path, ms_per_frame: int = 120) -> None:
    """Save frames (T, 3, H, W) in [0, 1] as a looping GIF that plays forward, then back."""
    _save_gif(list(frames), path, ms_per_frame)

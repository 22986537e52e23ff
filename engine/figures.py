"""Image grids and PNG/GIF writing (torchvision has no CPU wheel here, so grids live here)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from einops import rearrange
from PIL import Image


def make_grid(images: torch.Tensor, ncol: int = 10, pad: int = 2, pad_value: float = 1.0) -> torch.Tensor:
    """(B, 3, H, W) in [0, 1] -> one (3, rows*(H+pad)+pad, ncol*(W+pad)+pad) image, row-major."""
    b, c, h, w = images.shape
    ncol = min(ncol, b)
    rows = -(-b // ncol)
    filler = torch.full((rows * ncol - b, c, h, w), pad_value, dtype=images.dtype, device=images.device)
    tiles = torch.cat([images.clamp(0, 1), filler])  # (rows*ncol, 3, H, W)
    tiles = torch.nn.functional.pad(tiles, (pad, 0, pad, 0), value=pad_value)  # pad left/top of each tile
    grid = rearrange(tiles, "(r q) c h w -> c (r h) (q w)", r=rows, q=ncol)
    return torch.nn.functional.pad(grid, (0, pad, 0, pad), value=pad_value)


def error_map(pred: torch.Tensor, target: torch.Tensor, gain: float = 4.0) -> torch.Tensor:
    """Absolute error, channel mean, amplified `gain` times, as a grey (B, 3, H, W) image (white = 0)."""
    err = (pred.clamp(0, 1) - target).abs().mean(1, keepdim=True) * gain  # (B, 1, H, W)
    return (1 - err.clamp(0, 1)).expand(-1, 3, -1, -1)


def upscale_nearest(images: torch.Tensor, res: int) -> torch.Tensor:
    """Nearest-neighbour upscale (B, 3, h, w) -> (B, 3, res, res), to show small inputs beside big renders."""
    return torch.nn.functional.interpolate(images, size=(res, res), mode="nearest")


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [0, 1] -> (H, W, 3) uint8."""
    return (image.detach().clamp(0, 1) * 255 + 0.5).byte().permute(1, 2, 0).cpu().numpy()


def save_png(image: torch.Tensor, path: Path) -> Path:
    """Save a (3, H, W) [0, 1] image as PNG, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(to_uint8(image)).save(path)
    return path


def save_gif(frames: list[torch.Tensor], path: Path, ms_per_frame: int = 120, bounce: bool = True) -> Path:
    """Save (3, H, W) frames as a looping GIF; `bounce` plays forward then backward."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seq = frames + frames[-2:0:-1] if bounce else frames
    pics = [Image.fromarray(to_uint8(f)) for f in seq]
    pics[0].save(path, save_all=True, append_images=pics[1:], duration=ms_per_frame, loop=0)
    return path

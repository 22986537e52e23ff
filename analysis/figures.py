"""Image grids, labelled rows and columns, heatmaps, PNG/GIF writing (torchvision has no CPU
wheel here and matplotlib is not a dependency, so figures are drawn here with PIL)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from einops import rearrange
from PIL import Image, ImageDraw, ImageFont

# Label size in px: a figure of up to about 1,200 px is shown about 1,000 px wide, where 16 px
# text stays readable (the bitmap default font, about 10 px with collapsed spaces, did not).
LABEL_SIZE = 16


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


def save_png(image: torch.Tensor, path: Path, colors: int | None = None) -> Path:
    """Save a (3, H, W) [0, 1] image as PNG, creating the folder. `colors`: quantize to that many
    colours first (a palette PNG is several times smaller; for large sheets of many tiles)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = Image.fromarray(to_uint8(image))
    if colors:
        picture = picture.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    picture.save(path, optimize=True)
    return path


def save_gif(frames: list[torch.Tensor], path: Path, ms_per_frame: int = 120, bounce: bool = True) -> Path:
    """Save (3, H, W) frames as a looping GIF; `bounce` plays forward then backward."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seq = frames + frames[-2:0:-1] if bounce else frames
    pics = [Image.fromarray(to_uint8(f)) for f in seq]
    pics[0].save(path, save_all=True, append_images=pics[1:], duration=ms_per_frame, loop=0)
    return path


def from_pil(canvas: Image.Image) -> torch.Tensor:
    """PIL RGB image -> (3, H, W) float in [0, 1]."""
    return torch.from_numpy(np.asarray(canvas.convert("RGB")).copy()).permute(2, 0, 1).float() / 255


def font(size: int = LABEL_SIZE) -> ImageFont.ImageFont:
    """A scalable font of `size` px (Pillow >= 10.1 bundles one), else the bitmap default."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def text_width(labels: list[str], fnt: ImageFont.ImageFont) -> int:
    """The width in px of the widest line of any label."""
    return int(max((fnt.getlength(line) for text in labels for line in text.split("\n")), default=0))


def draw_centred(draw: ImageDraw.ImageDraw, x: float, middle: float, text: str, fnt, size: int) -> None:
    """Left-aligned (multi-line) text whose block is vertically centred on `middle`."""
    lines = text.split("\n")
    top = middle - len(lines) * (size + 4) / 2
    for i, line in enumerate(lines):
        draw.text((x, top + i * (size + 4)), line, fill="black", font=fnt)


def label_rows(grid: torch.Tensor, labels: list[str], row_height: int, margin: int = 64,
               size: int = LABEL_SIZE) -> torch.Tensor:
    """Prepend a white column with one text label per grid row: (3, H, W) -> (3, H, W + margin'),
    the margin widened to the longest label so that no name is cut off."""
    fnt = font(size)
    margin = max(margin, text_width(labels, fnt) + 14)
    canvas = Image.new("RGB", (grid.shape[-1] + margin, grid.shape[-2]), "white")
    canvas.paste(Image.fromarray(to_uint8(grid)), (margin, 0))
    draw = ImageDraw.Draw(canvas)
    for r, text in enumerate(labels):
        draw_centred(draw, 6, r * row_height + row_height / 2 + 1, text, fnt, size)
    return from_pil(canvas)


def label_columns(grid: torch.Tensor, labels: list[str], tile: int, height: int | None = None,
                  size: int = LABEL_SIZE, left: int = 0) -> torch.Tensor:
    """Put one text label above each column of a make_grid sheet of `tile` px tiles (the sheet
    starting `left` px in, after row labels): (3, H, W) -> (3, H + height, W)."""
    fnt = font(size)
    height = height or size + 10
    canvas = Image.new("RGB", (grid.shape[-1], grid.shape[-2] + height), "white")
    canvas.paste(Image.fromarray(to_uint8(grid)), (0, height))
    draw = ImageDraw.Draw(canvas)
    for c, text in enumerate(labels):
        draw.text((left + 2 + c * (tile + 2) + tile / 2, height / 2), text, fill="black", font=fnt, anchor="mm")
    return from_pil(canvas)


def add_title(image: torch.Tensor, title: str, size: int = LABEL_SIZE + 4) -> torch.Tensor:
    """A line of text above the image: (3, H, W) -> (3, H + size + 14, W')."""
    fnt = font(size)
    width = max(image.shape[-1], text_width([title], fnt) + 16)
    canvas = Image.new("RGB", (width, image.shape[-2] + size + 14), "white")
    canvas.paste(Image.fromarray(to_uint8(image)), (0, size + 14))
    ImageDraw.Draw(canvas).text((8, 6), title, fill="black", font=fnt)
    return from_pil(canvas)


def grid_of_blocks(blocks: list[torch.Tensor], columns: int = 2, gap: int = 16) -> torch.Tensor:
    """Lay (3, H_k, W_k) blocks out `columns` to a row, left to right then top to bottom, each in a
    cell as large as the largest block, `gap` px apart, with a thin line between rows of blocks."""
    columns = max(1, min(columns, len(blocks)))
    cell_w, cell_h = max(b.shape[-1] for b in blocks), max(b.shape[-2] for b in blocks)
    rows = -(-len(blocks) // columns)
    canvas = Image.new("RGB", (columns * cell_w + (columns - 1) * gap, rows * (cell_h + gap) - gap), "white")
    draw = ImageDraw.Draw(canvas)
    for k, block in enumerate(blocks):
        x, y = (k % columns) * (cell_w + gap), (k // columns) * (cell_h + gap)
        canvas.paste(Image.fromarray(to_uint8(block)), (x, y))
        if k % columns == 0 and k:
            draw.line([(0, y - gap // 2), (canvas.width, y - gap // 2)], fill=(160, 160, 160))
    return from_pil(canvas)


def stack_labelled(blocks: list[torch.Tensor], labels: list[str], margin: int = 70,
                   size: int = LABEL_SIZE) -> torch.Tensor:
    """Stack (3, H_k, W_k) blocks vertically, each named in a left column (as wide as the
    longest name) and separated by a line: one figure of several methods' sheets."""
    fnt = font(size)
    margin = max(margin, text_width(labels, fnt) + 14)
    width = margin + max(b.shape[-1] for b in blocks)
    canvas = Image.new("RGB", (width, sum(b.shape[-2] for b in blocks)), "white")
    draw = ImageDraw.Draw(canvas)
    top = 0
    for block, text in zip(blocks, labels):
        canvas.paste(Image.fromarray(to_uint8(block)), (margin, top))
        draw_centred(draw, 6, top + block.shape[-2] / 2, text, fnt, size)
        draw.line([(0, top), (width, top)], fill="black")
        top += block.shape[-2]
    return from_pil(canvas)


# viridis sampled at 9 points (van der Walt & Smith, matplotlib's default colour map): dark
# blue = low, yellow = high, perceptually uniform and readable in greyscale.
VIRIDIS = np.array([[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
                    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]], dtype=np.float64)


def colorize(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """(H, W) floats -> (H, W, 3) uint8 viridis; NaN and values outside are clipped."""
    x = np.clip((np.nan_to_num(values, nan=vmin) - vmin) / max(vmax - vmin, 1e-12), 0, 1) * (len(VIRIDIS) - 1)
    lo = np.floor(x).astype(int).clip(0, len(VIRIDIS) - 2)
    frac = (x - lo)[..., None]
    return (VIRIDIS[lo] * (1 - frac) + VIRIDIS[lo + 1] * frac + 0.5).astype(np.uint8)


def save_heatmap(matrix: torch.Tensor | np.ndarray, path: Path, vmin: float, vmax: float,
                 title: str = "", cell: int = 0) -> Path:
    """Write an (N, N) matrix as a PNG heatmap with a colour bar and its min/max labels.
    cell: pixels per entry (0 = enough for a ~400 px map); no matplotlib needed."""
    m = np.asarray(matrix, dtype=np.float64)
    n = m.shape[0]
    cell = cell or max(1, 400 // n)
    body = np.kron(colorize(m, vmin, vmax), np.ones((cell, cell, 1), np.uint8))  # (n*cell, n*cell, 3)
    side, top, bar_w = n * cell, 18, 14
    canvas = Image.new("RGB", (side + bar_w + 64, side + top + 6), "white")
    canvas.paste(Image.fromarray(body), (4, top))
    ramp = colorize(np.linspace(vmax, vmin, side)[:, None].repeat(bar_w, 1), vmin, vmax)  # (side, bar_w, 3)
    canvas.paste(Image.fromarray(ramp), (side + 10, top))
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 3), title, fill="black")
    draw.text((side + bar_w + 13, top), f"{vmax:.3g}", fill="black")
    draw.text((side + bar_w + 13, top + side - 11), f"{vmin:.3g}", fill="black")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path

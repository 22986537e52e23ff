"""Tiny trained checkpoints and the files a user brings, good and bad, for the API and script tests.

    ckpt = train_tiny("modulated", shapes_folder, tmp / "modulated")   # 2 steps, a few seconds
    path = write_file(tmp, "truncated")                                 # one file of each kind
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from train.registry import TINY, spec

RES = 12  # the tiny runs' training resolution
# Every run: 2 steps, no evaluation, no upsampling targets, no unseen images, on the CPU.
RUN = ["--res", str(RES), "--steps", "2", "--minutes", "0", "--eval-every", "1000", "--image-every", "1000",
       "--hr-res", "0", "--unseen", "", "--device", "cpu"]
# Good files that training reads in its own way (turned, composited, upsampled): no error.
ODD_KINDS = ("small", "transparent", "exif_rotated")
# Bad files: each is a one-line error naming it, in training and in the scripts alike.
BAD_KINDS = {"missing": "not found", "empty": "is empty (0 bytes)", "truncated": "cannot decode image",
             "not_an_image": "not a PNG, JPEG or GIF file"}


def train_tiny(name: str, data: Path, out: Path) -> Path:
    """Registry method `name` at its tiny size, trained 2 steps on the folder `data`: its ckpt.pt."""
    import train_hyper
    import train_maml

    s = spec(name)
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in {**TINY, **s.tiny}.items()]
    if s.defaults.get("hr_supervision"):  # local: no 256 px supervision of a 24 px folder
        flags.append("--hr-supervision=0")
    if s.defaults.get("changes"):  # modulated: no geometric changes needed for 2 steps
        flags.append("--changes=0")
    script = train_maml if s.script == "train_maml" else train_hyper
    script.main(["--model", name, "--data", str(data), "--out", str(out), *RUN, *flags])
    return out / "ckpt.pt"


def drawing(size: int = 24, seed: int = 0, alpha: bool = False) -> Image.Image:
    """A disc on a coloured square; with `alpha` the square is transparent."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[...] = list(rng.integers(0, 256, 3)) + [0 if alpha else 255]
    rgba[(xx - size / 2) ** 2 + (yy - size / 3) ** 2 < (size / 4) ** 2] = list(rng.integers(0, 256, 3)) + [255]
    return Image.fromarray(rgba, "RGBA") if alpha else Image.fromarray(np.ascontiguousarray(rgba[..., :3]))


def write_file(folder: Path, kind: str) -> Path:
    """One image file of `kind` (ODD_KINDS or BAD_KINDS) in `folder`; "missing" names no file."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "missing":
        return folder / "missing.png"
    if kind == "empty":
        (folder / "empty.png").write_bytes(b"")
        return folder / "empty.png"
    if kind == "truncated":
        buf = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)).save(buf, "PNG")
        (folder / "truncated.png").write_bytes(buf.getvalue()[:2000])
        return folder / "truncated.png"
    if kind == "not_an_image":
        (folder / "notes.png").write_text("this is not an image\n")
        return folder / "notes.png"
    if kind == "small":
        drawing(6, seed=1).save(folder / "small.png")
        return folder / "small.png"
    if kind == "transparent":
        drawing(24, seed=2, alpha=True).save(folder / "transparent.png")
        return folder / "transparent.png"
    if kind == "exif_rotated":  # stored sideways with "rotate 90" (EXIF orientation 6), as a phone writes
        exif = Image.Exif()
        exif[0x0112] = 6
        drawing(32, seed=3).transpose(Image.Transpose.ROTATE_90).save(folder / "rotated.jpg", quality=95, exif=exif)
        return folder / "rotated.jpg"
    raise ValueError(f"unknown kind {kind!r}")

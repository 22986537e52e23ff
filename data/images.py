"""Load a data set of images as float tensors.

A data set is a name (`icons100`, `icons-large`) or a path to a folder of PNG/JPEG
images. Every loader returns an `ImageSet` whose `images` are float32 in [0, 1],
shape (N, 3, res, res), RGB, with the alpha channel composited over white.

Folder images of any mode are converted to RGB (RGBA/LA/P with transparency are
composited on white; 16-bit and float images are rescaled to 8 bits; CMYK is converted).
Images that are not square are centre-cropped to a square, then resized to `res` with
Lanczos (PIL `Image.LANCZOS`), which is also the reference upsampler of the study.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageSequence

from engine.errors import UserError

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent
ICONS100_DIR = DATA_DIR / "icons100"
ICONS100_RESOLUTIONS = (24, 32, 48, 64, 128, 256)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
MAX_RESOLUTION = 2048
# A 10,000 x 10,000 photo is a legitimate input; PIL's default bomb guard (89 Mpx) is not
# meant for trusted local files, so raise it, but keep a guard against absurd headers.
Image.MAX_IMAGE_PIXELS = 16_384 * 16_384


@dataclass
class ImageSet:
    """Images of one data set at one resolution.

    images: (N, 3, res, res) float32 in [0, 1].
    names:  N file stems, in a fixed order (sorted).
    """

    images: torch.Tensor
    names: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.names)

    @property
    def res(self) -> int:
        return self.images.shape[-1]


def check_resolution(res: int) -> int:
    """Reject resolutions that cannot be meant (0, negative, larger than MAX_RESOLUTION)."""
    if not isinstance(res, int) or res < 2 or res > MAX_RESOLUTION:
        raise UserError(f"resolution {res!r} is not usable: pass an integer from 2 to {MAX_RESOLUTION}")
    return res


def load_images(dataset: str, res: int, split: str = "train") -> ImageSet:
    """Load `dataset` at `res` x `res`.

    dataset: "icons100" (shipped PNGs), "icons-large" (shipped arrays; `split` is
    "train" or "test"), or a path to a folder of images (any size, resampled).
    """
    check_resolution(res)
    if dataset == "icons100":
        if res not in ICONS100_RESOLUTIONS:
            raise UserError(
                f"icons100 ships resolutions {ICONS100_RESOLUTIONS}, not {res}; "
                f"pass the folder {ICONS100_DIR / '256'} as the data set to resample to {res} px")
        return _load_icons100(res)
    if dataset == "icons-large":
        from data.icons_large import load_icons_large_arrays

        try:
            arrays, names = load_icons_large_arrays(split, res)
        except ValueError as err:
            raise UserError(str(err)) from None
        return ImageSet(_to_tensor(arrays), names, f"icons-large/{split}")
    path = Path(dataset)
    if path.is_dir():
        return load_folder(path, res)
    raise UserError(
        f"unknown data set {dataset!r}: use 'icons100', 'icons-large' or a path to a folder of PNG/JPEG images")


def _load_icons100(res: int) -> ImageSet:
    names = (ICONS100_DIR / "names.txt").read_text().split()
    folder = ICONS100_DIR / str(res)
    missing = [n for n in names if not (folder / f"{n}.png").is_file()]
    if missing:
        raise UserError(f"{folder / (missing[0] + '.png')} is missing ({len(missing)} files in all); "
                        "restore data/ from git or rebuild it with `python -m data.build_icons`")
    arrays = np.stack([_read_rgb(folder / f"{n}.png", res) for n in names])
    return ImageSet(_to_tensor(arrays), names, "icons100")


def load_folder(folder: Path, res: int) -> ImageSet:
    """Load every PNG/JPEG in `folder` (sorted by name), resampled to res x res.

    Files with other suffixes are skipped with a logged warning; an image file that
    cannot be decoded is an error (nothing half-loaded is used).
    """
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    for skipped in sorted(set(files) - set(images)):
        log.warning("skipping %s: not a .png/.jpg/.jpeg file", skipped)
    if not images:
        raise UserError(f"{folder} contains no .png/.jpg/.jpeg images: put images there or pass another folder")
    arrays = np.stack([_read_rgb(p, res) for p in images])
    return ImageSet(_to_tensor(arrays), [p.stem for p in images], str(folder))


def _read_rgb(path: Path, res: int) -> np.ndarray:
    """Decode one file to a (res, res, 3) uint8 array; raise UserError naming the file."""
    try:
        with Image.open(path) as img:
            if getattr(img, "is_animated", False):
                log.warning("%s is animated: using its first frame", path)
                img = next(ImageSequence.Iterator(img))
            img.load()
            rgb = to_rgb(img)
    except UserError:
        raise
    except Image.DecompressionBombError:
        raise UserError(f"{path}: image is larger than {Image.MAX_IMAGE_PIXELS} pixels; "
                        "downscale it before use") from None
    except (OSError, ValueError, SyntaxError) as err:
        raise UserError(f"{path}: cannot decode image ({err}); re-save it as PNG or remove it") from None
    return np.asarray(_square_resize(rgb, res), dtype=np.uint8)


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB; transparency is composited over white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # PIL's convert("L") clips 16-bit values instead of rescaling them.
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I") and arr.max() > 255 else max(arr.max(), 1.0)
        img = Image.fromarray(np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "P" or img.mode == "PA":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _square_resize(img: Image.Image, res: int) -> Image.Image:
    """Centre-crop to a square, then resize to res x res with Lanczos."""
    w, h = img.size
    side = min(w, h)
    if w != h:
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if side != res:
        img = img.resize((res, res), Image.LANCZOS)
    return img


def _to_tensor(arrays: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(arrays)).permute(0, 3, 1, 2).float().div_(255.0)


def lanczos_resize(images: torch.Tensor, res: int) -> torch.Tensor:
    """Resize (N, 3, H, W) [0, 1] images to res x res with PIL Lanczos (the reference upsampler)."""
    arrays = (images.clamp(0, 1) * 255.0).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    out = [np.asarray(Image.fromarray(a).resize((res, res), Image.LANCZOS)) for a in arrays]
    return _to_tensor(np.stack(out))

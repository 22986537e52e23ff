"""What a user hands the API or a script, turned into the images a model's encoder reads.

    inputs = read_inputs("my_folder/", res=48, training=TrainingImages(ckpt))
    inputs.images   # (N, 3, 48, 48) float32 in [0, 1], as training reads images

An input is an image file, a folder of them, a PIL image, a tensor (3, H, W) or (N, 3, H, W)
in [0, 1], a checkpoint's training image by name or index, or a list of any of these. Files and
folders are read exactly as training reads a folder (`data.images.load_files`, `load_folder`):
turned upright by their EXIF orientation, transparency composited on white, centre-cropped to a
square, Lanczos-resized; a missing, empty, truncated or non-image file is a one-line UserError,
and an image below `res` is upsampled with a logged warning. A PIL image or a tensor takes the
same steps from its pixels. A string that is not an existing path is looked up among the
training images; a training image keeps its row, so the encoder reads it as in training
(through its observed pixels; a code table needs the row).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from analysis.endpoints import resolve_index, training_set
from data.decode import square_resize, to_rgb
from data.images import IMAGE_SUFFIXES, ImageSet, load_files, load_folder
from common.errors import UserError

log = logging.getLogger(__name__)


@dataclass
class Inputs:
    """N images at one resolution and where each came from."""

    images: torch.Tensor                   # (N, 3, res, res) float32 in [0, 1], on CPU
    names: list[str]                       # file stems, training names, or image_<k> for in-memory images
    paths: list[Path | None]               # the file each came from; None for a training or in-memory image
    sizes: list[tuple[int, int] | None]    # a file's (width, height) as shown; None where there is no file
    rows: list[int | None]                 # a training image's row in the checkpoint; None for any other

    def __len__(self) -> int:
        return len(self.names)

    def select(self, rows: list[int]) -> Inputs:
        return Inputs(self.images[rows], *([field[k] for k in rows]
                                           for field in (self.names, self.paths, self.sizes, self.rows)))

    @staticmethod
    def cat(parts: list[Inputs]) -> Inputs:
        return Inputs(torch.cat([p.images for p in parts]), *(sum((getattr(p, f) for p in parts), [])
                                                               for f in ("names", "paths", "sizes", "rows")))


class TrainingImages:
    """A checkpoint's training images by name or index, loaded on first use (a file needs none)."""

    def __init__(self, ckpt: dict):
        self.ckpt = ckpt
        self.names: list[str] = ckpt["names"]
        self._loaded: tuple[ImageSet, torch.Tensor] | None = None

    def loaded(self) -> tuple[ImageSet, torch.Tensor]:
        """(the training ImageSet, the observed-pixel masks (N, 1, res, res) bool the encoder saw)."""
        if self._loaded is None:
            self._loaded = training_set(self.ckpt)
        return self._loaded

    def take(self, rows: list[int]) -> Inputs:
        images = self.loaded()[0].images[rows]  # (K, 3, res, res)
        return Inputs(images, [self.names[k] for k in rows], [None] * len(rows), [None] * len(rows), list(rows))


def read_inputs(x, res: int, training: TrainingImages | None = None) -> Inputs:
    """Any input (module doc) at res x res; UserError naming the input and the fix when it cannot be read."""
    if isinstance(x, (list, tuple, range)):
        if not len(x):
            raise UserError("no images given: pass an image file, a folder, an image or a list of them")
        return Inputs.cat([read_inputs(item, res, training) for item in x])
    if isinstance(x, Image.Image):
        return _from_pil(x, res)
    if isinstance(x, torch.Tensor):
        return _from_tensor(x, res)
    if isinstance(x, int) and not isinstance(x, bool) and training is not None:
        return training.take([resolve_index(x, training.names)])
    if isinstance(x, (str, Path)):
        return _from_path_or_name(x, res, training)
    raise UserError(f"cannot read an image from a {type(x).__name__}: pass an image file, a folder, a PIL image, "
                    "a (3, H, W) tensor in [0, 1] or a training image's name")


def _from_path_or_name(x: str | Path, res: int, training: TrainingImages | None) -> Inputs:
    path = Path(x).expanduser()
    if path.is_dir():
        return _from_set(load_folder(path, res, "all"))
    if path.is_file():
        return _from_set(load_files([path], res, path))
    if path.is_symlink():
        raise UserError(f"{path} is a broken symbolic link: point it at an image or pass another file")
    if path.exists():
        raise UserError(f"{path} is neither a file nor a folder: pass an image file or a folder of images")
    text = str(x).strip()
    looks_like_path = isinstance(x, Path) or "/" in text or "\\" in text or path.suffix.lower() in IMAGE_SUFFIXES
    if training is None or looks_like_path:
        also = ", or a training image's name or index" if training is not None else ""
        raise UserError(f"{x} not found: pass an existing image file (PNG, JPEG or GIF) or folder{also}")
    try:
        return training.take([resolve_index(text, training.names)])
    except UserError as err:
        raise UserError(f"{err}, or the path of an image file or folder") from None


def _from_set(images: ImageSet) -> Inputs:
    n = len(images)
    return Inputs(images.images, list(images.names), list(images.paths), list(images.sizes), [None] * n)


def _from_pil(img: Image.Image, res: int) -> Inputs:
    """A PIL image, as a file with its pixels would be read: upright by its EXIF orientation, on white."""
    name = Path(getattr(img, "filename", "") or "image").stem
    upright = ImageOps.exif_transpose(img)  # the orientation data.decode applies to a file
    _warn_small(name, upright.size, res)
    array = np.asarray(square_resize(to_rgb(upright), res), dtype=np.uint8)  # (res, res, 3)
    image = torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)  # (3, res, res)
    return Inputs(image[None], [name], [None], [None], [None])


def _from_tensor(x: torch.Tensor, res: int) -> Inputs:
    """(3, H, W) or (N, 3, H, W) in [0, 1]: kept as is at res x res, else resized as a file would be."""
    batch = x[None] if x.dim() == 3 else x
    if batch.dim() != 4 or batch.shape[1] != 3 or not batch.is_floating_point():
        raise UserError(f"an image tensor must be float (3, H, W) or (N, 3, H, W) RGB in [0, 1], got "
                        f"{x.dtype} {tuple(x.shape)}: drop the alpha channel or permute (H, W, 3) to (3, H, W)")
    batch = batch.detach().float().cpu()
    if not torch.isfinite(batch).all() or batch.min() < 0 or batch.max() > 1:
        raise UserError("an image tensor holds values outside [0, 1] (or NaN): divide 8-bit values by 255")
    names = [f"image_{k}" for k in range(len(batch))]
    if batch.shape[-2:] == (res, res):
        images = batch.clone()  # (N, 3, res, res): exactly the pixels given
    else:
        images = torch.cat([_from_pil(Image.fromarray((b * 255 + 0.5).byte().permute(1, 2, 0).numpy()), res).images
                            for b in batch])  # (N, 3, res, res)
    return Inputs(images, names, [None] * len(names), [None] * len(names), [None] * len(names))


def _warn_small(name: str, size: tuple[int, int], res: int) -> None:
    if min(size) < res:
        log.warning("%s: %d x %d, below the model's %d px on its shorter side: upsampled, so blurrier",
                    name, *size, res)

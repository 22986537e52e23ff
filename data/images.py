"""Load a data set of images as float tensors.

A data set is a name (`icons100`, `icons-large`) or a path to a folder of PNG/JPEG/GIF
images (a folder's split into training and held-back images: `data.split`). Every loader
returns an `ImageSet` whose `images` are float32 in [0, 1],
shape (N, 3, res, res), RGB, with the alpha channel composited over white.

Folder images of any mode are converted to RGB (RGBA/LA/P with transparency are
composited on white; 16-bit and float images are rescaled to 8 bits; CMYK is converted;
an animated GIF/PNG gives its first frame); see `data.decode`, which also refuses
corrupt files and decompression bombs and shrinks huge images while decoding them.
Images of mixed sizes are fine: each one that is not square is centre-cropped to a
square, then resized to `res` with Lanczos (PIL `Image.LANCZOS`), which is also the
reference upsampler of the study. Every problem is a one-line `UserError` naming the
file or folder and the fix.
"""
from __future__ import annotations

import logging
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from data.decode import read_rgb, to_rgb  # noqa: F401 (to_rgb re-exported: part of this module's API)
from data.split import HOLDBACK_FRACTION, MIN_SPLIT_IMAGES, holdback_rows
from common.errors import UserError

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent
ICONS100_DIR = DATA_DIR / "icons100"
ICONS100_RESOLUTIONS = (24, 32, 48, 64, 128, 256)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif"}
MAX_RESOLUTION = 2048


@dataclass
class ImageSet:
    """Images of one data set at one resolution.

    images: (N, 3, res, res) float32 in [0, 1].
    names:  N file stems, in a fixed order (sorted).
    sizes:  a folder's N file sizes (width, height), so callers know which images are true at
            `res` (data.split.true_rows); None for the bundled sets, rendered at every resolution.
    heldback: a folder's training split: the names held back from it (data.split).
    note:   one line on that split for the run's log ("" when there is nothing to say).
    paths:  a folder's N files, so a caller can name them (e.g. in a pairs.json); None for the bundled sets.
    """

    images: torch.Tensor
    names: list[str]
    source: str
    sizes: list[tuple[int, int]] | None = None
    heldback: list[str] = field(default_factory=list)
    note: str = ""
    paths: list[Path] | None = None

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, rows) -> "ImageSet":
        """Images `rows` (a list of indices or a slice), names, sizes and paths alike."""
        rows = list(range(len(self)))[rows] if isinstance(rows, slice) else list(rows)
        sizes = None if self.sizes is None else [self.sizes[k] for k in rows]
        paths = None if self.paths is None else [self.paths[k] for k in rows]
        return ImageSet(self.images[rows], [self.names[k] for k in rows], self.source, sizes, paths=paths)

    @property
    def res(self) -> int:
        return self.images.shape[-1]


def check_resolution(res: int) -> int:
    """Reject resolutions that cannot be meant (0, negative, larger than MAX_RESOLUTION)."""
    if isinstance(res, bool) or not isinstance(res, numbers.Integral) or not 2 <= res <= MAX_RESOLUTION:
        raise UserError(f"resolution {res!r} is not usable: pass an integer from 2 to {MAX_RESOLUTION}")
    return int(res)


def load_images(dataset: str, res: int, split: str | None = None) -> ImageSet:
    """Load `dataset` at `res` x `res`.

    dataset: "icons100" (shipped PNGs), "icons-large" (shipped arrays; `split` is
    "train" (the default) or "test"), or a path to a folder of images (any size, resampled;
    `split` is "all" (the default), "train" (without its held-back images) or "test" (only
    those), see data.split; a run's training set is `data.split.train_split`'s).
    """
    res = check_resolution(res)
    if dataset == "icons100":
        if res not in ICONS100_RESOLUTIONS:
            raise UserError(
                f"icons100 ships resolutions {ICONS100_RESOLUTIONS}, not {res}; "
                f"pass the folder {ICONS100_DIR / '256'} as the data set to resample to {res} px")
        return _load_icons100(res)
    if is_icons_all(dataset):
        return _load_icons_all(dataset, res, split)
    if dataset == "icons-large":
        from data.icons_large import load_icons_large_arrays

        try:
            split = split or "train"
            arrays, names = load_icons_large_arrays(split, res)
        except ValueError as err:
            raise UserError(str(err)) from None
        return ImageSet(_to_tensor(arrays), names, f"icons-large/{split}")
    path = Path(dataset)
    if path.is_dir():
        return load_folder(path, res, split or "all")
    if path.is_file():
        raise UserError(f"{path} is a file, not a folder: pass the folder that holds the images")
    raise UserError(f"unknown data set {dataset!r} (no such folder either): use 'icons100', 'icons-large' "
                    "or a path to a folder of PNG/JPEG/GIF images")


def _load_icons100(res: int) -> ImageSet:
    names = (ICONS100_DIR / "names.txt").read_text().split()
    folder = ICONS100_DIR / str(res)
    missing = [n for n in names if not (folder / f"{n}.png").is_file()]
    if missing:
        raise UserError(f"{folder / (missing[0] + '.png')} is missing ({len(missing)} files in all); "
                        "restore data/ from git or rebuild it with `python -m data.build_icons`")
    arrays = np.stack([read_rgb(folder / f"{n}.png", res)[0] for n in names])
    return ImageSet(_to_tensor(arrays), names, "icons100")


ICONS_ALL = "icons-all"
ICONS_ALL_SEED = 0  # the order of icons-large's training icons after icons100 (icons-all:N takes the first N)


def is_icons_all(dataset: str) -> bool:
    """`icons-all` or `icons-all:N`."""
    return dataset == ICONS_ALL or dataset.startswith(ICONS_ALL + ":")


def _load_icons_all(dataset: str, res: int, split: str | None) -> ImageSet:
    """Every icon with no near-duplicate in icons-large's test split: icons100, then icons-large's
    training icons in a seeded order (1,445 in all). `icons-all:N` is the first N of them, so
    `icons-all:100` is icons100 itself and a larger N only adds icons (the data-size study).
    Their unseen images are icons-large's test split, as for icons100 (data.groups keeps every
    group of near-duplicates on one side)."""
    if split not in (None, "train"):
        raise UserError(f"{dataset} is a training set only: its unseen images are icons-large's test split")
    count = dataset[len(ICONS_ALL) + 1:]
    if count and not (count.isdigit() and int(count) >= 1):
        raise UserError(f"{dataset!r}: write icons-all or icons-all:N with N a positive number of icons")
    from data.icons_large import load_icons_large_arrays

    try:
        large, large_names = load_icons_large_arrays("train", res)
    except ValueError as err:
        raise UserError(f"icons-all at {res} px: {err}") from None
    small = _load_icons100(res)
    order = np.random.default_rng(ICONS_ALL_SEED).permutation(len(large_names))
    images = torch.cat([small.images, _to_tensor(large[order])])  # (N, 3, res, res)
    names = small.names + [large_names[k] for k in order]
    total = len(names)
    n = int(count) if count else total
    if n > total:
        raise UserError(f"{dataset!r}: icons-all has {total} icons, not {n}: pass N <= {total}")
    return ImageSet(images[:n], names[:n], dataset)


def load_folder(folder: Path, res: int, split: str = "all") -> ImageSet:
    """Load every PNG/JPEG/GIF in `folder` (sorted by name), resampled to res x res.

    Files with other suffixes, hidden files and subfolders are skipped (other suffixes
    with a logged warning); an image file that cannot be decoded is an error (nothing
    half-loaded is used), whichever split it falls in, so a folder loads in every split
    or in none. `split`: "all", "train" (without the held-back images), "test" (only them).
    """
    if split not in ("all", "train", "test"):
        raise UserError(f"split {split!r} of folder {folder} does not exist: use all, train or test")
    folder = Path(folder)
    try:
        entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError as err:
        raise UserError(f"cannot list folder {folder} ({err.strerror or err}): "
                        "check the path and its permissions") from None
    files = [p for p in entries if p.is_file()]
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        none = f"{folder} contains no .png/.jpg/.jpeg/.gif images"
        subfolders = [p.name + "/" for p in entries if p.is_dir()]
        if subfolders:
            raise UserError(f"{none}, only subfolders ({_first_few(subfolders)}): pass one of them")
        if files:
            what = ("its only file has another suffix" if len(files) == 1
                    else f"all its {len(files)} files have other suffixes")
            raise UserError(f"{none}: {what} ({_first_few([p.name for p in files])}): "
                            "convert them to PNG or pass another folder")
        others = [p.name for p in entries if not p.is_dir()]  # broken links, sockets, ...
        if others:
            raise UserError(f"{none}, only broken links or special files ({_first_few(others)}): "
                            "put images there or pass another folder")
        raise UserError(f"{none}: it is empty; put images there or pass another folder")
    for skipped in sorted(set(files) - set(images)):
        log.warning("skipping %s: not a .png/.jpg/.jpeg/.gif file", skipped)
    for skipped in (p for p in entries if p.is_symlink() and not p.exists()):
        log.warning("skipping %s: a broken symbolic link", skipped)
    return _split(load_files(images, res, folder), split)


def load_files(paths: list[Path], res: int, source: str | Path) -> ImageSet:
    """Image files at res x res, read as a folder's are (`read_rgb`), with its lines on mixed and
    small sizes naming `source`; any bad file is a one-line UserError. (The files a user hands a
    script or the Python API are read through this, as training reads a folder.)"""
    arrays, sizes = zip(*(read_rgb(p, res) for p in paths))
    _log_sizes(Path(source), list(paths), list(sizes), res)
    return ImageSet(_to_tensor(np.stack(arrays)), [Path(p).stem for p in paths], str(source), list(sizes),
                    paths=[Path(p) for p in paths])


def _split(full: ImageSet, split: str) -> ImageSet:
    """The rows of a folder's ImageSet that `split` names (data.split.holdback_rows)."""
    held = holdback_rows(full.names)
    if split == "all":
        return full
    if split == "test":
        if not held:
            raise UserError(f"{full.source} has only {len(full)} images, too few to hold any back as unseen images "
                            f"({MIN_SPLIT_IMAGES} needed): add images, or pass --unseen with another data set")
        return full.subset(held)
    kept = sorted(set(range(len(full))) - set(held))
    out = full.subset(kept)
    out.heldback = [full.names[k] for k in held]
    if held:
        out.note = (f"{full.source}: {len(held)} of {len(full)} images ({HOLDBACK_FRACTION:.0%}, chosen by a seeded "
                    f"hash of their names) held back as unseen images for psnr/unseen_*, never trained on: "
                    f"{_first_few(out.heldback, 5)}; training on the other {len(kept)}")
    else:
        out.note = (f"{full.source}: only {len(full)} images, too few to hold any back as unseen images "
                    f"({MIN_SPLIT_IMAGES} needed): training on all of them, no psnr/unseen_* scores")
    return out


_SIZES_LOGGED: set[tuple] = set()  # (folder, res, sizes) already reported in this process


def _log_sizes(folder: Path, images: list[Path], sizes: list[tuple[int, int]], res: int) -> None:
    """One line on mixed sizes (fine: cropped and resampled) and one on images smaller than res;
    once per folder, resolution and content in a process (a run loads its folder several times:
    training set, held-back images, upsampling targets)."""
    key = (str(folder), res, tuple(sizes))
    if key in _SIZES_LOGGED:
        return
    _SIZES_LOGGED.add(key)
    if len(set(sizes)) > 1:
        area = lambda size: size[0] * size[1]  # noqa: E731
        log.info("%s: images of %d different sizes (%d x %d to %d x %d): each centre-cropped to a square and "
                 "resampled to %d px", folder, len(set(sizes)), *min(sizes, key=area), *max(sizes, key=area), res)
    small = [(p, size) for p, size in zip(images, sizes) if min(size) < res]
    if small:
        log.warning("%s: %d of %d images are below %d px on their shorter side (e.g. %s, %d x %d): upsampled, "
                    "so blurrier than the others", folder, len(small), len(images), res, small[0][0].name, *small[0][1])


def _first_few(names: list[str], count: int = 3) -> str:
    return ", ".join(names[:count]) + (", ..." if len(names) > count else "")


def _to_tensor(arrays: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(arrays)).permute(0, 3, 1, 2).float().div_(255.0)


def lanczos_resize(images: torch.Tensor, res: int) -> torch.Tensor:
    """Resize (N, 3, H, W) [0, 1] images to res x res with PIL Lanczos (the reference upsampler)."""
    arrays = (images.clamp(0, 1) * 255.0).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    out = [np.asarray(Image.fromarray(a).resize((res, res), Image.LANCZOS)) for a in arrays]
    return _to_tensor(np.stack(out))

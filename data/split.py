"""A folder of the user's own images gets its own unseen images, and honest upsampling targets.

The bundled data sets come with a test split (icons-large) and true renders at every
resolution (icons100, icons-large). A folder has neither, so:

* **Held-back images.** When a run scores unseen images on the folder itself (`--unseen auto`,
  the default, or the folder's own path), a fixed share of its images is held back: never
  trained on, and scored as `psnr/unseen_*`. Scoring on icons-large instead would measure how
  well a model of the user's photos encodes emoji, not the user's domain. The split depends
  only on the image names (a seeded hash of each name), not on their order, so the same
  folder always splits the same way, and adding one image moves at most one other across.
  A folder with fewer than MIN_SPLIT_IMAGES images is too small to spare any: it trains on
  all of them, without unseen scores. With `--unseen ""` or another data set, nothing is
  held back (the checkpoints written before the split say `--unseen icons-large`, so they
  still rebuild their training set: all images).
* **True images at a resolution.** A folder image is only a true target at `R` px if its
  file is at least `R` px on its shorter side; a smaller one at `R` px is just its own
  Lanczos upscale, and scoring Lanczos against it gives 100 dB. `true_rows` picks the images
  that qualify.

Nothing here imports `data.images` (which imports this): an image set is read through its
`names`, `sizes`, `res` and `source`.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import torch

from common.errors import UserError

log = logging.getLogger(__name__)

BUNDLED = ("icons100", "icons-large", "icons-all")  # icons-all:N too (data.images)
HOLDBACK_FRACTION = 0.1   # of a folder's images, held back as its unseen images (at least 1)
MIN_SPLIT_IMAGES = 5      # fewer images: nothing held back, no unseen scores
SPLIT_SEED = 0


def is_folder(dataset: str) -> bool:
    """A data set given as a folder path (the bundled names win, as in data.images.load_images)."""
    return (bool(dataset) and dataset not in BUNDLED and not dataset.startswith("icons-all")
            and Path(dataset).is_dir())


def holdback_rows(names: list[str], seed: int = SPLIT_SEED) -> list[int]:
    """Rows of `names` held back as unseen images, sorted; [] when there are fewer than MIN_SPLIT_IMAGES.

    round(HOLDBACK_FRACTION * N) images, at least 1: those whose seeded SHA-256 of the name is
    smallest (a deterministic, order-independent draw).
    """
    if len(names) < MIN_SPLIT_IMAGES:
        return []
    count = max(1, round(HOLDBACK_FRACTION * len(names)))
    key = [hashlib.sha256(f"{seed}:{n}".encode("utf-8", "surrogatepass")).hexdigest() for n in names]
    return sorted(sorted(range(len(names)), key=lambda k: (key[k], k))[:count])


def _same_folder(a: str, b: str) -> bool:
    return is_folder(a) and is_folder(b) and Path(a).resolve() == Path(b).resolve()


def scores_own_images(data: str, unseen: str) -> bool:
    """Whether a run on `data` scores the folder's own held-back images as its unseen images."""
    return is_folder(data) and (unseen == "auto" or _same_folder(unseen, data))


def train_split(data: str, unseen: str) -> str:
    """The `split` of `load_images` that is a run's training set: "all" for a folder that keeps
    no images back (its unseen images, if any, come from elsewhere), else "train"."""
    return "all" if is_folder(data) and not scores_own_images(data, unseen) else "train"


def unseen_source(data: str, unseen: str) -> tuple[str, str] | None:
    """(data set, split) whose images a run scores as unseen; None for `--unseen ""`.

    "auto": a folder's held-back images, the icons-large test split for the bundled sets.
    Another folder is unseen as a whole.
    """
    if not unseen:
        return None
    if scores_own_images(data, unseen):
        return data, "test"
    if unseen == "auto":
        return "icons-large", "test"
    return unseen, ("all" if is_folder(unseen) else "test")


def true_rows(images, what: str, count: int | None = None) -> slice | torch.Tensor:
    """Rows of `images` (an ImageSet at the target resolution, its first `count`) that are true
    targets: all of a bundled set, those of a folder whose file is at least `images.res` px on
    its shorter side. Logs one line when some are skipped; UserError when none qualify.

    Returns `slice(None)` when all qualify (so indexing is a no-op), else a LongTensor.
    """
    sizes = images.sizes if count is None or images.sizes is None else images.sizes[:count]
    if sizes is None:
        return slice(None)
    res, small = images.res, [k for k, size in enumerate(sizes) if min(size) < images.res]
    if not small:
        return slice(None)
    largest = max(min(size) for size in sizes)
    if len(small) == len(sizes):
        raise UserError(f"none of the {len(sizes)} {what} images of {images.source} is at least {res} px on its "
                        f"shorter side (the largest is {largest} px), so there is no true {res} px image to score "
                        f"against: pass --hr-res {largest} or less, or add larger images")
    k, (w, h) = small[0], sizes[small[0]]
    log.info("upsampling to %d px scored on %d of %d %s images: the other %d are below %d px on their shorter side "
             "(e.g. %s, %d x %d), so their %d px version is only a Lanczos upscale, not a truth", res,
             len(sizes) - len(small), len(sizes), what, len(small), res, images.names[k], w, h, res)
    skipped = set(small)
    return torch.tensor([k for k in range(len(sizes)) if k not in skipped], dtype=torch.long)

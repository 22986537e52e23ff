"""Which training images a script works on: the checkpoint's training set as it was seen in
training, an image named by index or name, and its encoding. Shared by interpolate.py,
similarity.py, upsample.py and study.py."""
from __future__ import annotations

import torch

from data.images import ImageSet, load_images
from data.pixels import heldout_mask
from data.split import train_split, unseen_source
from common.errors import UserError
from models.method import Method, Rep


def training_set(ckpt: dict) -> tuple[ImageSet, torch.Tensor]:
    """The checkpoint's training images and the observed-pixel masks the encoder saw in
    training (N, 1, res, res) bool; UserError if the data changed since training. A folder's
    held-back images are not among them (data/split.py)."""
    cfg = ckpt["config"]
    images = load_images(cfg["data"], cfg["res"], training_split(cfg))
    if images.names != ckpt["names"]:
        raise UserError(f"data set {cfg['data']!r} no longer holds the images this checkpoint was trained on: "
                        "restore the data or retrain")
    return images, ~heldout_mask(len(images), images.res)  # the trainer's fixed mask


def training_split(cfg: dict) -> str:
    """The `load_images` split that is the training set of a checkpoint's config."""
    return train_split(cfg["data"], cfg.get("unseen", ""))


def unseen_images(cfg: dict, count: int | None = None) -> torch.Tensor | None:
    """The first `count` (default the config's `unseen_count`) unseen icons of a checkpoint's config at its
    resolution (its folder's held-back images, or icons-large's test split for the bundled sets; data/split.py);
    None when its data has no unseen split."""
    source = unseen_source(cfg["data"], cfg.get("unseen", "auto"))  # (data set, split) or None
    if source is None:
        return None
    return load_images(source[0], cfg["res"], split=source[1]).images[:count or cfg["unseen_count"]]


def resolve_index(key: str | int, names: list[str]) -> int:
    """A training image by index ("3", negative allowed) or by name -> its row; UserError otherwise."""
    text = str(key).strip()
    if text.lstrip("-").isdigit():
        k = int(text)
        if not -len(names) <= k < len(names):
            raise UserError(f"image index {k} is out of range: the checkpoint has {len(names)} training images "
                            f"(0..{len(names) - 1})")
        return k % len(names)
    if text in names:
        return names.index(text)
    close = [n for n in names if text.lower() in n.lower()][:5]
    hint = f" (did you mean {', '.join(close)}?)" if close else f" (e.g. {', '.join(names[:3])})"
    raise UserError(f"no training image named {text!r}{hint}: pass a name or an index 0..{len(names) - 1}")


def encode_images(method: Method, images: ImageSet, observed: torch.Tensor, index: list[int]) -> Rep:
    """Encode training images `index` from their observed pixels, as in training: detached Rep."""
    device = next(method.parameters()).device
    idx = torch.tensor(index, dtype=torch.long)
    # no torch.no_grad(): an optimizing encoder (MAML's inner loop) needs autograd
    return method.encode(images.images[idx].to(device), observed[idx].to(device), idx.to(device)).detach()

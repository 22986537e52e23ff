"""Fitted warps kept by the content of the two images, so a pair is fitted once per study.

    cache = WarpCache("runs/study/warps.pt")   # or WarpCache() in memory only
    warp = cache.fit(image_a, image_b)          # fitted on first request, then read back
    cache.save()                                # atomically, when a path was given

The warp of a pair depends only on the two images the encoders read (analysis/interpolation/warp_fit.py),
not on the method: every method of a study interpolates the same training images, so the
study fits each pair once and every method's `interpolate.py --warps` reads it. The key is
a hash of the two images' bytes, so a cache can never hand a warp to the wrong images (a
different data set or resolution simply misses). The file holds tensors only and is read
with `weights_only=True`.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from analysis.interpolation.warp import Warp
from analysis.interpolation.warp_fit import fit_warp
from common.errors import UserError

FIELDS = ("pivot", "matrix", "offset", "grid")


def image_key(image_a: torch.Tensor, image_b: torch.Tensor) -> str:
    """The pair's identity: a hash of both images' float32 bytes (order matters: a -> b)."""
    h = hashlib.sha1()
    for image in (image_a, image_b):
        h.update(str(tuple(image.shape)).encode())
        h.update(image.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


class WarpCache:
    """Warps by pair content; backed by a torch file when `path` is given."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self.warps: dict[str, Warp] = {}
        self.fitted = 0  # warps fitted by this cache (the rest were read back)
        if self.path is not None and self.path.is_file():
            try:
                stored = torch.load(self.path, map_location="cpu", weights_only=True)
                self.warps = {key: Warp(**{f: w[f] for f in FIELDS}, steps=int(w["steps"])) for key, w in stored.items()}
            except Exception as err:  # noqa: BLE001 - any unreadable file is the same user problem
                raise UserError(f"--warps {self.path}: not a warp file written by interpolate.py ({err}); "
                                "delete it to refit the warps") from None

    def fit(self, image_a: torch.Tensor, image_b: torch.Tensor) -> Warp:
        """The warp carrying image_a onto image_b ((3, H, H) each), fitted on CPU if not cached."""
        key = image_key(image_a, image_b)
        if key not in self.warps:
            with torch.enable_grad():  # the fit optimizes the warp's parameters
                self.warps[key] = fit_warp(image_a.cpu(), image_b.cpu()).detach()
            self.fitted += 1
        return self.warps[key]

    def save(self) -> None:
        """Write every warp to `path` (temp file + rename: a killed run leaves the old file)."""
        if self.path is None:
            return
        state = {key: {**{f: getattr(w, f) for f in FIELDS}, "steps": w.steps} for key, w in self.warps.items()}
        tmp = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, tmp)
        os.replace(tmp, self.path)

"""Every interpolation mode of a pair, in one call: the frames from image a to image b.

    pair = Pair(image_a, image_b, rep_a, rep_b, warps)            # the warp is fitted on first use
    frames = path_frames(method, pair, ts, mode, res)              # (T, 3, res, res) in [0, 1]

Modes:
    "pixel"    cross-fade of the method's endpoint renders (or of given endpoint images)
    "latent"   blend the latents, decode the blend                  (analysis/interpolation/blend.py)
    "weights"  blend the SIREN weights, decode the blend            (analysis/interpolation/blend.py)
    "warp"     warp-and-blend of the two endpoint INRs: both render at coordinates carried
               along a fitted, landmark-free warp, and their colours cross-fade
               (analysis/interpolation/morph.py, analysis/interpolation/warp_fit.py); any method, any resolution
    "aligned"  geometry by the warp, appearance by the representation: b is resampled into
               a's frame and encoded, the aligned representations are blended (weights, or
               latents for a method without weights) and drawn at warped coordinates
               (analysis/interpolation/aligned_blend.py); methods whose encoder reads new images
    "aligned_residual"  "aligned" plus the residuals of its views (the given pixels minus the
               method's render of them, analysis/residual.py) carried by the warp: the frames
               end on the given images, not on the method's reading of them. Named, never a
               default: it reads the images' pixels besides the representation
The warp is fitted on the two images the encoder reads (the training resolution), once per
pair, and shared by "warp" and "aligned"; a `WarpCache` shares it across methods
(analysis/interpolation/warp_cache.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from analysis.interpolation.aligned_blend import aligned_frames, rep_sampler
from analysis.interpolation.blend import BLEND_MODES, applicable_modes, interpolation_path
from analysis.interpolation.morph import morph_frames
from analysis.interpolation.warp import Warp
from analysis.interpolation.warp_cache import WarpCache
from common.errors import UserError
from models.method import Method, Rep

WARP_MODES = ("warp", "aligned")
#: modes a caller names (never in `modes_for`'s defaults): mode -> the mode it builds on
NAMED_MODES = {"aligned_residual": "aligned"}
MODES = (*BLEND_MODES, *WARP_MODES, *NAMED_MODES)


@dataclass
class Pair:
    """Two images to interpolate: the (3, h, w) images the encoder reads, their one-image reps,
    and where the warp carrying a onto b comes from (fitted on first use, or read from a
    shared cache)."""

    image_a: torch.Tensor
    image_b: torch.Tensor
    rep_a: Rep
    rep_b: Rep
    warps: WarpCache | None = None

    @property
    def warp(self) -> Warp:
        if self.warps is None:
            self.warps = WarpCache()  # this pair's own, in memory
        return self.warps.fit(self.image_a, self.image_b)


def modes_for(method: Method, rep: Rep) -> list[str]:
    """Every mode that applies to `method`, judged from one of its representations."""
    blends = applicable_modes(method, rep)  # latent / weights / pixel
    return [*blends[:-1], "warp", *(["aligned"] if method.handles_unseen_images else []), "pixel"]


def applies(method: Method, rep: Rep, mode: str) -> bool:
    """Whether `mode` (any of MODES) applies to `method`: a named mode where the mode it builds on does."""
    return NAMED_MODES.get(mode, mode) in modes_for(method, rep)


def check_path_mode(method: Method, rep: Rep, mode: str) -> None:
    ok = modes_for(method, rep)
    if mode not in MODES:
        raise UserError(f"unknown interpolation mode {mode!r}: use {', '.join(MODES)}")
    if not applies(method, rep, mode):
        raise UserError(f"mode {mode!r} does not apply to {type(method).__name__}: use --modes {','.join(ok)}")


@torch.no_grad()
def path_frames(method: Method, pair: Pair, ts: Sequence[float], mode: str, res: int, kind: str = "lerp",
                endpoints: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Frames of `mode` from a (t = 0) to b (t = 1): (T, 3, res, res) on CPU in [0, 1].

    kind: "lerp" or "slerp" for the blends; endpoints: for "pixel", the (3, res, res) images to
    cross-fade (default the method's renders).
    """
    check_path_mode(method, pair.rep_a, mode)
    if mode in BLEND_MODES:
        return interpolation_path(method, pair.rep_a, pair.rep_b, ts, mode, res, kind, endpoints)
    if mode == "warp":
        frames = morph_frames(rep_sampler(method, pair.rep_a), rep_sampler(method, pair.rep_b), pair.warp, ts, res)
        return frames.cpu().clamp(0, 1)  # (T, 3, res, res)
    blend_mode = "weights" if pair.rep_a.params is not None else "latent"
    return aligned_frames(method, pair.image_a, pair.image_b, pair.warp, ts, res, blend_mode, kind,
                          residual=mode == "aligned_residual")

"""Aligned weight-space interpolation: geometry from the warp, appearance from the weight space.

    frames = aligned_frames(method, image_a, image_b, warp, ts, res, mode="weights")  # (T, 3, res, res)

A plain weight (or latent) blend of two icons mixes their shapes: where a has a circle and
b a square somewhere else, the blend has a bit of both, a ghost in weight space. Here the
warp takes the geometry: image b is resampled into a's frame first, b o phi_1, which lines
its shapes up with a's, and the method encodes it. Blending rep_a with rep_{b o phi_1}
then only has to change colours and details in place; the blend is drawn at coordinates
carried by the warp to time t:
    F_a(t, x) = decode(blend(rep_a, rep_{b o phi_1}, t), phi_t^-1(x))          a's frame, moved to t
    F_b(t, x) = decode(blend(rep_{a o phi_1^-1}, rep_b, t), phi_1 phi_t^-1(x))  b's frame, moved to t
    frame(t) = (1 - t) F_a + t F_b
Both halves agree where the warp is right (each blends two aligned images); the symmetric
pair makes frame 0 exactly decode(rep_a) and frame 1 exactly decode(rep_b), where a
one-sided F_a alone would end on b resampled twice. With the identity warp both halves are
the plain blend, so the mode reduces to the existing "weights"/"latent" interpolation.

With `residual` (the mode "aligned_residual"), each half also carries the residuals of its
two views, the pixels minus the method's render of them (analysis/residual.py), along the
same warp, blended like the reps:
    F_a(t, x) += ((1 - t) r_a + t r_{b o phi_1})(phi_t^-1(x))    (and likewise for F_b)
so frame 0 is image a itself at its pixel centres, not the method's reading of it: the
weight space decides how the icons change, and the pixels keep what the reading missed. It
reads the two given images, as the pixel warp-and-blend does.

This needs an encoder that reads pixels (a conv set encoder, MAML's inner loop): a warped
image is a new image, which a code table (one latent per training image) or a per-image
SIREN cannot encode. `reads_pixels` defaults to `method.handles_unseen_images`.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from analysis.interpolation.blend import blend_rep, check_mode
from analysis.interpolation.sampling import Sampler, sample_image, white_outside
from analysis.residual import residual as residual_of, sample_residual
from analysis.interpolation.warp import Warp
from common.errors import UserError
from models.method import Method, Rep


def rep_sampler(method: Method, rep: Rep) -> Sampler:
    """An INR as a renderer for `morph_frames`: coords (P, 2) -> rgb (P, 3) of the one-image rep,
    white outside the image's domain (`white_outside`)."""
    device = next(method.parameters()).device
    return lambda coords: white_outside(method.decode(rep, coords.to(device))[0].to(coords.device), coords)  # (P, 3)


def resample(image: torch.Tensor, warp: Warp, s: float) -> torch.Tensor:
    """image (3, H, W) read through exp(s v): out(x) = image(exp(s v)(x)), white outside: (3, H, W).
    s = 1 gives b o phi_1 (b in a's frame), s = -1 gives a o phi_1^-1 (a in b's frame)."""
    from data.pixels import pixel_grid

    res = image.shape[-1]
    coords = warp.flow(pixel_grid(res, image.device), s)  # (res*res, 2)
    return sample_image(image, coords).T.reshape(3, res, res).clamp(0, 1)  # (3, res, res)


def aligned_views(image_a: torch.Tensor, image_b: torch.Tensor, warp: Warp) -> torch.Tensor:
    """a, b o phi_1 (b in a's frame), a o phi_1^-1 (a in b's frame) and b: (4, 3, H, W)."""
    return torch.stack([image_a, resample(image_b, warp, 1.0), resample(image_a, warp, -1.0), image_b])  # (4, 3, H, W)


def encode_aligned(method: Method, image_a: torch.Tensor, image_b: torch.Tensor, warp: Warp,
                   reads_pixels: bool | None = None, views: torch.Tensor | None = None) -> tuple[Rep, Rep, Rep, Rep]:
    """Encode the four `aligned_views` (or the given `views`, when a caller has made them already),
    every pixel observed: four detached one-image reps (rep_a, rep_b_in_a, rep_a_in_b, rep_b).

    UserError when the method's encoder cannot read a new image (a code table, per-image
    weights); `reads_pixels` overrides the judgement from `method.handles_unseen_images`.
    """
    reads = method.handles_unseen_images if reads_pixels is None else reads_pixels
    if not reads:
        raise UserError(f"aligned interpolation encodes warped images, and {type(method).__name__} cannot encode "
                        "an image it was not trained on (a code table or per-image weights): use a method with "
                        "a conv encoder (--encoder conv) or MAML, or the pixel warp-and-blend morph")
    device = next(method.parameters()).device
    images = aligned_views(image_a, image_b, warp) if views is None else views  # (4, 3, H, W)
    masks = torch.ones(4, 1, *images.shape[-2:], dtype=torch.bool, device=device)  # (4, 1, H, W)
    index = torch.zeros(4, dtype=torch.long, device=device)  # no training rows: the encoder reads pixels
    # no torch.no_grad(): an optimizing encoder (MAML's inner loop) needs autograd
    rep = method.encode(images.to(device), masks, index).detach()
    return rep.select(0), rep.select(1), rep.select(2), rep.select(3)


@torch.no_grad()
def aligned_frames(method: Method, image_a: torch.Tensor, image_b: torch.Tensor, warp: Warp,
                   ts: Sequence[float], res: int, mode: str = "weights", kind: str = "lerp",
                   reads_pixels: bool | None = None, residual: bool = False, chunk: int = 1 << 16) -> torch.Tensor:
    """Frames of the aligned blend from a (t = 0) to b (t = 1): (T, 3, res, res) on CPU, clamped to [0, 1].

    method: in eval mode (its encoder's batch statistics then do not depend on the batch).
    image_a, image_b: (3, H, W) in [0, 1], the images the encoder reads (its input resolution).
    warp: carries a onto b (`fit_warp(image_a, image_b)`).
    mode: "weights" or "latent" (UserError when it does not apply to the method); kind: "lerp" or "slerp".
    res: output resolution, any: the INR renders at warped continuous coordinates.
    residual: add the views' residuals carried by the warp (bilinear between the encoder's
    pixels), so that the frames end on image_a and image_b at their pixel centres.
    """
    from data.pixels import pixel_grid

    views = aligned_views(image_a, image_b, warp)  # (4, 3, H, W): a, b in a's frame, a in b's frame, b
    with torch.enable_grad():
        rep_a, rep_ba, rep_ab, rep_b = encode_aligned(method, image_a, image_b, warp, reads_pixels, views)
    check_mode(method, rep_a, mode)
    device = next(method.parameters()).device
    if residual:  # (4, 3, H, W): each view's pixels minus the method's render of them
        r = residual_of(method, Rep.cat([rep_a, rep_ba, rep_ab, rep_b]), views)
    coords = pixel_grid(res)  # (res*res, 2)
    frames = []
    for t in ts:
        t = float(t)
        in_a = blend_rep(method, rep_a, rep_ba, t, mode, kind)  # a's frame
        in_b = blend_rep(method, rep_ab, rep_b, t, mode, kind)  # b's frame
        parts = []
        for i in range(0, len(coords), chunk):
            c = coords[i:i + chunk]  # (p, 2)
            ca, cb = warp.flow(c, -t), warp.flow(c, 1 - t)  # (p, 2) each: where a's and b's frames are read
            fa = method.decode(in_a, ca.to(device))[0].cpu()  # (p, 3)
            fb = method.decode(in_b, cb.to(device))[0].cpu()  # (p, 3)
            if residual:  # each half's residuals, blended like its reps
                fa = fa + torch.lerp(sample_residual(r[0], ca), sample_residual(r[1], ca), t)  # (p, 3)
                fb = fb + torch.lerp(sample_residual(r[2], cb), sample_residual(r[3], cb), t)  # (p, 3)
            fa, fb = white_outside(fa, ca), white_outside(fb, cb)  # (p, 3) each
            parts.append(torch.lerp(fa, fb, t))  # (p, 3), exact at t = 0 and 1
        frames.append(torch.cat(parts).T.reshape(3, res, res))  # (3, res, res)
    return torch.stack(frames).clamp(0, 1)  # (T, 3, res, res)

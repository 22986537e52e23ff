"""Blending two images' representations, written once for every method.

    frames = interpolation_path(method, rep_a, rep_b, ts, mode, res)   # (T, 3, res, res)

Modes (what is blended, t in [0, 1] goes from image a to image b):
    "pixel"    cross-fade (1 - t) a + t b of the two endpoint images: the reference
               baseline, needs no model (`crossfade`), a ghost by construction
    "latent"   blend the latents and decode the blend: the concat SIREN reads it directly,
               the hypernetwork turns it into weights with `params_from_latent`
    "weights"  blend the SIREN parameter dicts: the hypernetwork's emitted weights or
               MAML's adapted weights, decoded from the blended weights alone

Blends: `lerp`, or `slerp` (spherical, Shoemake 1985). slerp treats a tensor as ONE
flattened vector. A params dict is slerped tensor by tensor, with each tensor's norm
interpolated linearly: SIREN's first-layer weights are ~50x larger than its hidden-layer
weights (init U(-1/in, 1/in) vs U(-sqrt(6/in)/w0, ...)), so one great circle through the
concatenated vector would be steered by the first layer alone.

Both blends return the endpoint tensors bit for bit at t = 0 and t = 1, so a path's end
frames equal the endpoint renders up to the float noise of decoding in another batch.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from common.errors import UserError
from models.method import Method, Rep

BLEND_MODES = ("pixel", "latent", "weights")
BLENDS = ("lerp", "slerp")


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """(1 - t) a + t b for same-shaped tensors; exactly a at t = 0 and b at t = 1."""
    return torch.lerp(a, b, float(t))  # torch.lerp switches formula at 0.5, so both ends are exact


def slerp(a: torch.Tensor, b: torch.Tensor, t: float, eps: float = 1e-7) -> torch.Tensor:
    """Spherical blend of a and b, each taken as one flattened vector; the norm goes linearly
    from |a| to |b|. Falls back to `lerp` for (anti)parallel or zero vectors, where the
    great circle is undefined. Exactly a at t = 0 and b at t = 1."""
    t = float(t)
    a64, b64 = a.double().flatten(), b.double().flatten()  # (N,), double: acos near 1 is ill-conditioned
    na, nb = a64.norm(), b64.norm()
    if na < eps or nb < eps:
        return lerp(a, b, t)
    cos = (a64 @ b64 / (na * nb)).clamp(-1, 1)
    omega = torch.arccos(cos)
    if torch.sin(omega) < 1e-6:
        return lerp(a, b, t)
    norm = (1 - t) * na + t * nb  # linear norm schedule
    # direction = sin((1-t)w)/sin(w) a/|a| + sin(tw)/sin(w) b/|b|, written with a and b
    # themselves so that t = 0 gives 1 * a + 0 * b exactly (x / x == 1 in IEEE floats).
    ca = torch.sin((1 - t) * omega) / torch.sin(omega) * norm / na
    cb = torch.sin(t * omega) / torch.sin(omega) * norm / nb
    return (ca * a64 + cb * b64).reshape(a.shape).to(a.dtype)


def blend(a: torch.Tensor, b: torch.Tensor, t: float, kind: str = "lerp") -> torch.Tensor:
    """lerp or slerp by name."""
    if kind not in BLENDS:
        raise UserError(f"unknown blend {kind!r}: use {' or '.join(BLENDS)}")
    return lerp(a, b, t) if kind == "lerp" else slerp(a, b, t)


def latent_decodable(method: Method, rep: Rep) -> bool:
    """Whether a blended latent alone can be decoded: the method reads latents directly
    (rep has no params) or turns latents into weights (`params_from_latent`)."""
    return rep.latent is not None and method.decodes_latent


def applicable_modes(method: Method, rep: Rep) -> list[str]:
    """The modes that make sense for `method`, judged from one of its representations."""
    modes = ["latent"] if latent_decodable(method, rep) else []
    modes += ["weights"] if rep.params is not None else []
    return modes + ["pixel"]


def check_mode(method: Method, rep: Rep, mode: str) -> None:
    """UserError naming the method and the modes it does support when `mode` does not apply."""
    if mode not in BLEND_MODES:
        raise UserError(f"unknown interpolation mode {mode!r}: use {', '.join(BLEND_MODES)}")
    ok = applicable_modes(method, rep)
    if mode not in ok:
        has = "a latent only" if rep.params is None else "SIREN weights only" if rep.latent is None else "latent and weights"
        raise UserError(f"mode {mode!r} does not apply to {type(method).__name__} (its representation holds {has}): "
                        f"use --modes {','.join(ok)}")


def blend_rep(method: Method, rep_a: Rep, rep_b: Rep, t: float, mode: str, kind: str = "lerp") -> Rep:
    """The representation at t of a one-image pair (reps of batch size 1)."""
    if mode == "latent":
        latent = blend(rep_a.latent, rep_b.latent, t, kind)  # (1, D)
        params = method.params_from_latent(latent)  # None where decode reads the latent itself
        return Rep(latent=latent, params=params)
    if mode == "weights":
        # No latent: the weights alone must carry the image (hyper's decode reads only params).
        return Rep(params={k: blend(rep_a.params[k], rep_b.params[k], t, kind) for k in rep_a.params})
    raise UserError(f"blend_rep handles 'latent' and 'weights', not {mode!r}")


def crossfade(image_a: torch.Tensor, image_b: torch.Tensor, ts: Sequence[float]) -> torch.Tensor:
    """Pixel cross-fade, no model: (3, H, W) x 2 -> (T, 3, H, W); exact at t = 0 and 1."""
    return torch.stack([lerp(image_a, image_b, t) for t in ts])


@torch.no_grad()
def interpolation_path(method: Method, rep_a: Rep, rep_b: Rep, ts: Sequence[float], mode: str, res: int,
                       kind: str = "lerp", endpoints: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Frames from image a (t = 0) to image b (t = 1): (T, 3, res, res) on CPU, clamped to [0, 1].

    rep_a, rep_b: one-image reps (batch size 1) from `method.encode`.
    mode: "pixel", "latent" or "weights" (UserError when it does not apply to the method).
    kind: "lerp" or "slerp" (ignored by "pixel", which is always linear).
    endpoints: for "pixel" only, the (3, res, res) images to cross-fade (e.g. the true
    images); by default the method's renders of rep_a and rep_b.
    """
    check_mode(method, rep_a, mode)
    if mode == "pixel":
        if endpoints is None:
            ends = method.render(Rep.cat([rep_a, rep_b]), res).cpu().clamp(0, 1)  # (2, 3, res, res)
            endpoints = (ends[0], ends[1])
        return crossfade(endpoints[0], endpoints[1], ts)
    reps = [blend_rep(method, rep_a, rep_b, t, mode, kind) for t in ts]
    batch = Rep.cat(reps)  # one render call for all frames
    return method.render(batch, res).cpu().clamp(0, 1)  # (T, 3, res, res)

"""Batched random icon changes for training: the known-midpoint benchmark's changes
(`data.transforms`), each image of a batch with its own state, applied at the working
resolution.

    p0, p1, kinds = draw_changes(count)                # (K, 5) states: dx, dy, scale, angle, hue
    p0, p1 = draw_changes_on(count, gen, device)       # the same, drawn on the device (training)
    frames, valid = change_batch(images, heldout, p)   # (K, 3, H, W), (K, 1, H, W)

The benchmark renders every frame from the true 256 px icon and reduces it; a training step
has only the 48 px images, so here the warp samples them bilinearly at 48 px (a slight blur
for non-integer motions, the same blur in every frame of a pair). Held-out pixels never leak:
they are first filled from their observed neighbours (`inpaint_heldout`), and `valid` marks
the output pixels whose bilinear footprint touches no held-out pixel, the only ones a loss
may use as targets.

The magnitudes are the benchmark's: `analysis.interpolation.known_midpoints` draws its cases with this
`draw_change`, and training (`draw_changes_on`) reads the same ranges (RANGES), so training
changes and benchmark changes come from one definition.

On a GPU nothing here waits for the device: training draws its changes on the device from the
run's generator, and where only some rows change (`_rows`), a GPU computes every row and keeps
the changed ones, since asking which rows change (`nonzero`, `any`) would make the host wait
for the GPU's queue. The CPU, where asking is free, still computes only the changed rows.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from data.transforms import State, hsv_to_rgb, rgb_to_hsv

KINDS = ("translate", "scale", "rotate", "combo", "hue")
FIELDS = ("dx", "dy", "scale", "angle", "hue")  # the columns of a (K, 5) state tensor
# The magnitudes, uniform in [lo, hi]: lengths of a shift (a width is 2 units), angles in degrees
# (the whole turn from start to end), scales, hue turns in degrees.
RANGES = {"translate_length": (0.15, 0.30), "combo_length": (0.10, 0.20), "combo_angle": (15, 30),
          "combo_scale": (0.70, 0.85), "scale": (0.60, 0.70), "rotate_angle": (30, 45), "hue": (90, 180)}


def draw_change(kind: str, gen: torch.Generator | None = None) -> tuple[State, State]:
    """The (from, to) states of one change of `kind`, drawn as the benchmark draws them."""
    u = lambda name: _lerp(*RANGES[name], float(torch.rand((), generator=gen)))  # noqa: E731
    sign = lambda: 1.0 if float(torch.rand((), generator=gen)) < 0.5 else -1.0  # noqa: E731
    if kind in ("translate", "combo"):
        length, phi = u(kind + "_length"), 2 * math.pi * float(torch.rand((), generator=gen))
        dx, dy = length * math.cos(phi) / 2, length * math.sin(phi) / 2
        if kind == "translate":
            return State(dx=-dx, dy=-dy), State(dx=dx, dy=dy)
        angle = sign() * u("combo_angle") / 2
        return State(dx=-dx, dy=-dy, angle=-angle), State(dx=dx, dy=dy, scale=u("combo_scale"), angle=angle)
    if kind == "scale":
        small = State(scale=u("scale"))
        return (State(), small) if sign() > 0 else (small, State())
    if kind == "rotate":
        angle = sign() * u("rotate_angle") / 2
        return State(angle=-angle), State(angle=angle)
    if kind == "hue":
        return State(), State(hue=sign() * u("hue"))
    raise ValueError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")


def _lerp(lo, hi, u):
    return lo + (hi - lo) * u


def draw_changes_on(count: int, gen: torch.Generator | None, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` changes of kinds drawn uniformly from KINDS, like `draw_changes`, but drawn as tensors
    on `device` from `gen` (a generator of that device; None = torch's global one there): no value
    goes through the host. The same distribution as `draw_change`, not the same numbers.
    Returns (p0 (K, 5), p1 (K, 5))."""
    kind = torch.randint(len(KINDS), (count,), generator=gen, device=device)  # (K,)
    u = torch.rand(5, count, generator=gen, device=device)  # (5, K) independent uniforms
    sign = torch.where(u[2] < 0.5, 1.0, -1.0)  # (K,)
    is_ = {name: kind == KINDS.index(name) for name in KINDS}  # (K,) bool each
    length = torch.where(is_["translate"], _lerp(*RANGES["translate_length"], u[0]), _lerp(*RANGES["combo_length"], u[0]))
    phi = 2 * math.pi * u[1]
    moves = is_["translate"] | is_["combo"]
    dx, dy = moves * length * torch.cos(phi) / 2, moves * length * torch.sin(phi) / 2  # (K,) each
    angle = sign * torch.where(is_["combo"], _lerp(*RANGES["combo_angle"], u[3]), _lerp(*RANGES["rotate_angle"], u[3])) / 2
    angle = angle * (is_["combo"] | is_["rotate"])
    small = _lerp(*RANGES["scale"], u[0])  # "scale": one end at this size, which one by the sign
    one = torch.ones(count, device=device)
    scale0 = torch.where(is_["scale"] & (sign < 0), small, one)
    scale1 = torch.where(is_["scale"] & (sign > 0), small, torch.where(is_["combo"], _lerp(*RANGES["combo_scale"], u[4]), one))
    hue = is_["hue"] * sign * _lerp(*RANGES["hue"], u[3])
    zero = torch.zeros(count, device=device)
    p0 = torch.stack([-dx, -dy, scale0, -angle, zero], dim=1)  # (K, 5)
    p1 = torch.stack([dx, dy, scale1, angle, hue], dim=1)  # (K, 5)
    return p0, p1


def as_tensor(states: list[State]) -> torch.Tensor:
    """[State] -> (K, 5) float32, columns FIELDS."""
    return torch.tensor([[getattr(s, f) for f in FIELDS] for s in states], dtype=torch.float32)


def draw_changes(count: int, gen: torch.Generator | None = None,
                 kinds: tuple[str, ...] = KINDS) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """`count` changes, each of a kind drawn uniformly from `kinds`: (p0 (K, 5), p1 (K, 5), kinds)."""
    picked = [kinds[int(torch.randint(len(kinds), (), generator=gen))] for _ in range(count)]
    pairs = [draw_change(kind, gen) for kind in picked]
    return as_tensor([a for a, _ in pairs]), as_tensor([b for _, b in pairs]), picked


def affine_theta(states: torch.Tensor) -> torch.Tensor:
    """(K, 5) states -> (K, 2, 3) sampling matrices of `data.transforms.warp`, one per image:
    output point p maps to input point R^-1 (p - d) / s (normalized coords, a width is 2 units)."""
    a = torch.deg2rad(states[:, 3])  # (K,)
    cos, sin, s = torch.cos(a), torch.sin(a), states[:, 2]
    inv = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2) / s[:, None, None]  # (K, 2, 2)
    shift = 2 * states[:, :2]  # (K, 2)
    return torch.cat([inv, -(inv @ shift[:, :, None])], dim=2)  # (K, 2, 3)


def warp_batch(images: torch.Tensor, states: torch.Tensor, fill: float = 1.0) -> torch.Tensor:
    """(K, C, H, W) -> (K, C, H, W), image k warped by states[k] like `data.transforms.warp`
    (bilinear, align_corners=False); revealed areas take `fill` (1 = white for icons, 0 for masks)."""
    theta = affine_theta(states.to(images.device, images.dtype))  # (K, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)  # (K, H, W, 2)
    return F.grid_sample(images - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill


def hue_rotate_batch(images: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """(K, 3, H, W), degrees (K,) -> each image's hue turned by its own angle, like
    `data.transforms.hue_rotate` (greys stay as they are)."""
    hsv = rgb_to_hsv(images)  # (K, 3, H, W)
    h = (hsv[:, 0] + degrees.to(images)[:, None, None] / 360.0) % 1.0  # (K, H, W)
    return hsv_to_rgb(torch.stack([h, hsv[:, 1], hsv[:, 2]], dim=1)).clamp(0, 1)


def inpaint_heldout(images: torch.Tensor, heldout: torch.Tensor) -> torch.Tensor:
    """(K, 3, H, W), heldout (K, 1, H, W) bool -> the images with every held-out pixel replaced
    by the mean of its observed 3x3 neighbours (white where it has none): no held-out value
    survives, so warping and resampling cannot leak one."""
    seen = (~heldout).to(images.dtype)  # (K, 1, H, W)
    total = F.avg_pool2d(images * seen, 3, 1, 1, count_include_pad=False)  # (K, 3, H, W)
    count = F.avg_pool2d(seen, 3, 1, 1, count_include_pad=False)  # (K, 1, H, W)
    fill = torch.where(count > 0, total / count.clamp_min(1e-6), torch.ones_like(total))
    return torch.where(heldout, fill, images)


def change_batch(images: torch.Tensor, heldout: torch.Tensor, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Image k in states[k]: warp, then hue, at the images' resolution.

    images (K, 3, H, W) in [0, 1]; heldout (K, 1, H, W) bool; states (K, 5).
    Returns frames (K, 3, H, W) and valid (K, 1, H, W) bool: True where the frame's pixel owes
    nothing to a held-out pixel (a revealed white border is valid: it is white by definition).
    Like `data.transforms.render`, an identity warp and a zero hue turn are skipped, so only
    the rows that change pay for it (per-op overhead dominates on a busy CPU).
    """
    frames = inpaint_heldout(images, heldout)  # (K, 3, H, W)
    valid = ~heldout  # (K, 1, H, W)
    states = states.to(images.device)  # (K, 5)
    moves = (states[:, :2].abs().sum(1) > 0) | (states[:, 2] != 1) | (states[:, 3] != 0)  # (K,)
    rows = _rows(moves)
    if rows is not None:
        # one warp for image and mask: the image channels are filled with white, the mask with 0
        both = torch.cat([frames[rows] - 1, heldout[rows].to(images.dtype)], dim=1)  # (M, 4, H, W)
        moved = warp_batch(both, states[rows], fill=0.0)  # (M, 4, H, W)
        frames = _put(frames, moves, rows, (moved[:, :3] + 1).clamp(0, 1))
        valid = _put(valid, moves, rows, moved[:, 3:] <= 1e-6)  # no held-out weight in the footprint
    turns = states[:, 4] != 0  # (K,)
    rows = _rows(turns)
    if rows is not None:
        frames = _put(frames, turns, rows, hue_rotate_batch(frames[rows], states[rows, 4]))
    return frames, valid


ALL = slice(None)


def _rows(change: torch.Tensor) -> torch.Tensor | slice | None:
    """Which rows to compute for a (K,) bool `change`: the changed ones on the CPU (None when there
    are none), where reading them is free; every row (ALL) elsewhere, where reading them would
    make the host wait for the device (`_put` then keeps only the changed ones)."""
    if change.device.type != "cpu":
        return ALL
    return change.nonzero()[:, 0] if bool(change.any()) else None


def _put(x: torch.Tensor, change: torch.Tensor, rows: torch.Tensor | slice, new: torch.Tensor) -> torch.Tensor:
    """x (K, ...) with its changed rows replaced by `new`, the values of x[rows]."""
    if isinstance(rows, slice):
        return torch.where(change.view(-1, *[1] * (x.dim() - 1)), new, x)
    return x.index_copy(0, rows, new)


def mirror_and_turn(images: torch.Tensor, read: torch.Tensor, coords: torch.Tensor, targets: torch.Tensor,
                    mirror: torch.Tensor, degrees: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """A training step's exact variants of its icons: icon b mirrored left-right where mirror[b],
    and its hue turned by degrees[b] (0 = unchanged). Both act pixel by pixel, with no resampling,
    so held-out pixels stay held out and nothing leaks.

    images (B, 3, H, W) and read (B, 1, H, W): what the method reads; coords (B, P, 2) and targets
    (B, P, 3): where and what the loss scores. A mirrored icon's pixel at (x, y) is the original's
    at (-x, y): its images and masks flip, its coordinates negate x, its targets stay.
    Returns (images, read, coords, targets), changed alike.
    """
    flip = mirror.to(images.device)[:, None, None, None]  # (B, 1, 1, 1)
    images = torch.where(flip, images.flip(-1), images)
    read = torch.where(flip, read.flip(-1), read)
    sign = torch.where(mirror.to(coords.device), -1.0, 1.0)  # (B,)
    coords = torch.stack([coords[..., 0] * sign[:, None], coords[..., 1]], dim=-1)  # (B, P, 2)
    degrees = degrees.to(images.device, images.dtype)  # (B,)
    turns = degrees != 0  # (B,): like change_batch, on the CPU only the rows that change pay for the hue turn
    rows = _rows(turns)
    if rows is not None:
        turn = degrees[rows]  # (M,)
        images = _put(images, turns, rows, hue_rotate_batch(images[rows], turn))
        as_image = targets[rows].transpose(1, 2)[..., None]  # (M, 3, P, 1): the HSV helpers' layout
        targets = _put(targets, turns, rows, hue_rotate_batch(as_image, turn)[..., 0].transpose(1, 2))
    return images, read, coords, targets

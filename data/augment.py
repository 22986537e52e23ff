"""Batched random icon changes for training: the known-midpoint benchmark's changes
(`data.transforms`), each image of a batch with its own state, applied at the working
resolution.

    p0, p1, kinds = draw_changes(count)                # (K, 5) states: dx, dy, scale, angle, hue
    frames, valid = change_batch(images, heldout, p)   # (K, 3, H, W), (K, 1, H, W)

The benchmark renders every frame from the true 256 px icon and reduces it; a training step
has only the 48 px images, so here the warp samples them bilinearly at 48 px (a slight blur
for non-integer motions, the same blur in every frame of a pair). Held-out pixels never leak:
they are first filled from their observed neighbours (`inpaint_heldout`), and `valid` marks
the output pixels whose bilinear footprint touches no held-out pixel, the only ones a loss
may use as targets.

The magnitudes are the benchmark's: `analysis.known_midpoints` draws its cases with this
`draw_change`, so training changes and benchmark changes come from one definition.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from data.transforms import State, hsv_to_rgb, rgb_to_hsv

KINDS = ("translate", "scale", "rotate", "combo", "hue")
FIELDS = ("dx", "dy", "scale", "angle", "hue")  # the columns of a (K, 5) state tensor


def draw_change(kind: str, gen: torch.Generator | None = None) -> tuple[State, State]:
    """The (from, to) states of one change of `kind`, drawn as the benchmark draws them."""
    u = lambda lo, hi: lo + (hi - lo) * float(torch.rand((), generator=gen))  # noqa: E731
    sign = lambda: 1.0 if float(torch.rand((), generator=gen)) < 0.5 else -1.0  # noqa: E731
    if kind in ("translate", "combo"):
        length, phi = (u(0.15, 0.30) if kind == "translate" else u(0.10, 0.20)), u(0, 2 * math.pi)
        dx, dy = length * math.cos(phi) / 2, length * math.sin(phi) / 2
        if kind == "translate":
            return State(dx=-dx, dy=-dy), State(dx=dx, dy=dy)
        angle = sign() * u(15, 30) / 2
        return State(dx=-dx, dy=-dy, angle=-angle), State(dx=dx, dy=dy, scale=u(0.70, 0.85), angle=angle)
    if kind == "scale":
        small = State(scale=u(0.60, 0.70))
        return (State(), small) if sign() > 0 else (small, State())
    if kind == "rotate":
        angle = sign() * u(30, 45) / 2
        return State(angle=-angle), State(angle=angle)
    if kind == "hue":
        return State(), State(hue=sign() * u(90, 180))
    raise ValueError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")


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
    moves = (states[:, :2].abs().sum(1) > 0) | (states[:, 2] != 1) | (states[:, 3] != 0)  # (K,)
    if bool(moves.any()):
        rows = moves.nonzero()[:, 0].to(images.device)  # (M,)
        # one warp for image and mask: the image channels are filled with white, the mask with 0
        both = torch.cat([frames[rows] - 1, heldout[rows].to(images.dtype)], dim=1)  # (M, 4, H, W)
        moved = warp_batch(both, states[moves.cpu()], fill=0.0)  # (M, 4, H, W)
        frames = frames.index_copy(0, rows, (moved[:, :3] + 1).clamp(0, 1))
        valid = valid.index_copy(0, rows, moved[:, 3:] <= 1e-6)  # no held-out weight in the footprint
    turns = states[:, 4] != 0  # (K,)
    if bool(turns.any()):
        rows = turns.nonzero()[:, 0].to(images.device)  # (M,)
        frames = frames.index_copy(0, rows, hue_rotate_batch(frames[rows], states[turns.cpu(), 4]))
    return frames, valid


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
    turns = degrees != 0  # (B,): like change_batch, only the rows that change pay for the hue turn
    if bool(turns.any()):
        rows = turns.nonzero()[:, 0]  # (M,)
        turn = degrees[rows].to(images.device, images.dtype)  # (M,)
        rows = rows.to(images.device)
        images = images.index_copy(0, rows, hue_rotate_batch(images[rows], turn))
        as_image = targets[rows].transpose(1, 2)[..., None]  # (M, 3, P, 1): the HSV helpers' layout
        targets = targets.index_copy(0, rows, hue_rotate_batch(as_image, turn)[..., 0].transpose(1, 2))
    return images, read, coords, targets

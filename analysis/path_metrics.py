"""Scores of an interpolation path: ghosting, foreground kept, smoothness, realism. Pure functions.

Images are (…, 3, H, W) in [0, 1] on a white background (icons are composited on white).

ghosting    A cross-fade shows BOTH endpoints faintly at the midpoint, each where its own
            silhouette is; a coherent morph puts its shape somewhere in between. So:
                F(x)      = foreground: pixels whose largest channel deviation from white
                            exceeds `threshold`
                ghost     = F(a) xor F(b): where exactly one endpoint has its shape
                ghosting  = |F(mid) & ghost| / |F(mid)|
            i.e. the fraction of the midpoint's foreground that sits where one endpoint's
            shape would be but not the other's. A cross-fade of two disjoint shapes scores
            1 (its midpoint foreground IS the two silhouettes); a shape that moves or morphs
            coherently scores the less the less it leaves of either endpoint's outline.
            Overlapping endpoints shrink the achievable range (pixels in F(a) & F(b) never
            count), so compare modes on the same pair; the pixel row of interpolate.py
            gives the cross-fade's value as the reference. A midpoint with no foreground
            scores 0 (a blank frame is not a ghost; `realism` catches it). The threshold
            must stay below half the endpoints' contrast, else the half-faded ghost
            vanishes from F(mid) (0.1 suits saturated icons).
foreground  kept = |F(mid)| / mean(|F(a)|, |F(b)|): how much shape the midpoint has,
 kept       against the endpoints. A coherent morph of two shapes of similar size keeps ~1;
            a cross-fade of two disjoint shapes shows both, ~2; a midpoint that washes out
            to a near-blank frame scores near 0, which ghosting and realism alone would
            reward (a blank frame ghosts nothing and is close to every icon in MSE).
smoothness  steps d_k = RMS(frame_{k+1} - frame_k); smoothness = max_k d_k / mean_k d_k.
            1 = perfectly even change; T - 1 = all change in one jump. A static path is 1.
realism     PSNR (dB) of the midpoint to its nearest real data set image (higher = the
            midpoint looks more like some real image). The endpoints are real images too,
            so a path that snaps to an endpoint scores high here and badly on smoothness:
            read the three together. Being MSE-based, it also favours blurry averages: a
            cross-fade's washed-out midpoint is often nearer (in MSE) to some real icon
            than a sharp but wrong shape is.
"""
from __future__ import annotations

import torch


def foreground(images: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """(…, 3, H, W) in [0, 1] -> (…, H, W) bool: largest channel deviation from white > threshold."""
    return (1 - images.clamp(0, 1)).amax(dim=-3) > threshold


def ghosting_index(start: torch.Tensor, mid: torch.Tensor, end: torch.Tensor, threshold: float = 0.1) -> float:
    """Fraction of the midpoint's foreground lying in the symmetric difference of the two
    endpoints' foregrounds. start, mid, end: (3, H, W) in [0, 1]. Range [0, 1], 0 for an
    empty midpoint."""
    fa, fm, fb = foreground(start, threshold), foreground(mid, threshold), foreground(end, threshold)  # (H, W) each
    count = fm.sum()
    if count == 0:
        return 0.0
    return ((fm & (fa ^ fb)).sum() / count).item()


def foreground_kept(start: torch.Tensor, mid: torch.Tensor, end: torch.Tensor, threshold: float = 0.1) -> float:
    """Midpoint foreground area over the endpoints' mean foreground area. start, mid, end:
    (3, H, W) in [0, 1]. 0 for a blank midpoint; 1 for a midpoint as large as the endpoints."""
    fa, fm, fb = (foreground(x, threshold).float().sum() for x in (start, mid, end))  # () each
    return (fm / ((fa + fb) / 2).clamp_min(1)).item()


def step_sizes(frames: torch.Tensor) -> torch.Tensor:
    """(T, 3, H, W) -> (T-1,) RMS change between consecutive frames."""
    return (frames[1:] - frames[:-1]).pow(2).flatten(1).mean(1).sqrt()  # (T-1,)


def smoothness(frames: torch.Tensor) -> float:
    """max step / mean step of a (T, 3, H, W) path, T >= 2; 1 = perfectly even."""
    steps = step_sizes(frames)  # (T-1,)
    mean = steps.mean()
    return 1.0 if mean <= 1e-12 else (steps.max() / mean).item()


def nearest_real(image: torch.Tensor, real: torch.Tensor) -> tuple[float, int]:
    """PSNR (dB) of `image` (3, H, W) to its nearest image in `real` (N, 3, H, W), and that
    image's index. Both in [0, 1]; `image` is clamped like the evaluation's PSNR."""
    mse = (image.clamp(0, 1).unsqueeze(0) - real).pow(2).flatten(1).mean(1)  # (N,)
    best = int(mse.argmin())
    return (-10 * torch.log10(mse[best].clamp_min(1e-10))).item(), best


def midpoint_index(ts) -> int:
    """The frame whose t is closest to 0.5."""
    return min(range(len(ts)), key=lambda k: abs(float(ts[k]) - 0.5))


def path_metrics(frames: torch.Tensor, ts, real: torch.Tensor | None = None, threshold: float = 0.1) -> dict:
    """All scores of one path. frames (T, 3, H, W) from t = 0 to t = 1; real (N, 3, H, W) at
    the frames' resolution, or None to skip realism. Returns a JSON-ready dict."""
    k = midpoint_index(ts)
    out = {"ghosting": ghosting_index(frames[0], frames[k], frames[-1], threshold),
           "foreground_kept": foreground_kept(frames[0], frames[k], frames[-1], threshold),
           "smoothness": smoothness(frames),
           "midpoint_t": float(ts[k]),
           "midpoint_foreground": foreground(frames[k], threshold).float().mean().item()}
    if real is not None:
        out["realism_psnr"], out["realism_nearest"] = nearest_real(frames[k], real)
    return out

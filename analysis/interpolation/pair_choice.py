"""Does a method's similarity between two icons predict how well it interpolates them? And
which pairs to show, by a rule that answer supports.

    result = correlate(similarity, score, count=100, seed=0)   # Spearman over random pairs
    scatter_png(result["similarity"], result["score"], path, ...)
    pairs, rule = choose_pairs(similarity, result["spearman"], result["count"], higher_is_better=False)

Spearman's rank correlation (Spearman 1904) rather than Pearson's: a similarity (a cosine)
and a path score (an error, a dB) need not be linearly related, only ordered alike; ties get
their average rank. Its sampling error over n pairs is about 1 / sqrt(n - 1) (the normal
approximation of the rank correlation under independence), so with the default 100 pairs a
|rho| below 1.96 / sqrt(99) = 0.20 is no evidence either way (p > 0.05, two-sided), and the
rule then does not lean on similarity at all.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from analysis.figures import font as figure_font

Z95 = 1.96  # two-sided 5% normal quantile


def ranks(x: torch.Tensor) -> torch.Tensor:
    """(n,) -> (n,) float64 ranks 1..n, tied values sharing their average rank."""
    values, inverse, counts = torch.unique(x.double(), return_inverse=True, return_counts=True)
    top = counts.cumsum(0).double()  # the highest rank of each distinct value
    return (top - (counts.double() - 1) / 2)[inverse]


def spearman(x: torch.Tensor, y: torch.Tensor) -> float:
    """Spearman rank correlation of two (n,) samples, n >= 2: Pearson's correlation of their
    ranks. Range [-1, 1]; 1 = y grows whenever x does, -1 = y falls whenever x grows; nan if
    either sample is constant."""
    rx, ry = ranks(x.flatten()), ranks(y.flatten())  # (n,) each
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = (rx.pow(2).sum() * ry.pow(2).sum()).sqrt()
    return float("nan") if denom == 0 else float((rx * ry).sum() / denom)


def significant(rho: float, n: int) -> bool:
    """Whether |rho| over n pairs exceeds the 95% band of no correlation, 1.96 / sqrt(n - 1)."""
    return n > 2 and not math.isnan(rho) and abs(rho) > Z95 / math.sqrt(n - 1)


def sample_pairs(n: int, count: int = 100, seed: int = 0) -> list[tuple[int, int]]:
    """`count` distinct unordered pairs (i < j) of n items, drawn uniformly with a seeded
    generator (all pairs if there are fewer)."""
    iu = torch.triu_indices(n, n, offset=1)  # (2, M)
    pick = torch.randperm(iu.shape[1], generator=torch.Generator().manual_seed(seed))[:count]
    return [(int(iu[0, m]), int(iu[1, m])) for m in pick.sort().values]


def correlate(similarity: torch.Tensor, score: Callable[[int, int], float], count: int = 100, seed: int = 0) -> dict:
    """Score `count` seeded random pairs (i, j) with `score(i, j)` (any per-pair interpolation
    score, e.g. morph_error of the method's path) and correlate with similarity[i, j].
    similarity: (N, N). Pairs whose score is not finite are left out. Returns {"pairs":
    [(i, j)], "similarity": [...], "score": [...], "spearman": rho, "count": pairs kept,
    "significant": |rho| > 1.96 / sqrt(count - 1)}."""
    pairs, sims, scores = [], [], []
    for i, j in sample_pairs(len(similarity), count, seed):
        s = float(score(i, j))
        if math.isfinite(s):
            pairs.append((i, j))
            sims.append(float(similarity[i, j]))
            scores.append(s)
    rho = spearman(torch.tensor(sims), torch.tensor(scores)) if len(pairs) > 1 else float("nan")
    return {"pairs": pairs, "similarity": sims, "score": scores, "spearman": rho, "count": len(pairs),
            "significant": significant(rho, len(pairs)), "ci95": spearman_interval(rho, len(pairs))}


def spearman_interval(rho: float, n: int) -> list[float]:
    """The 95% interval of a Spearman rho over n pairs: Fisher's z with the standard error 1.06 / sqrt(n - 3)
    of Fieller, Hartley & Pearson (1957) for rank correlations; [nan, nan] below 4 pairs."""
    if n < 4 or not math.isfinite(rho):
        return [float("nan"), float("nan")]
    z, half = math.atanh(max(min(rho, 0.999999), -0.999999)), 1.96 * 1.06 / math.sqrt(n - 3)
    return [math.tanh(z - half), math.tanh(z + half)]


def choose_pairs(similarity: torch.Tensor, rho: float, n: int, higher_is_better: bool, count: int = 3,
                 eligible: torch.Tensor | None = None) -> tuple[list[dict], str]:
    """`count` pairs to show, no icon in two pairs; the last is always the hard one.

    similarity: (N, N); rho: Spearman of similarity vs the score over n pairs; higher_is_better:
    the score's direction (False for errors such as morph_error); eligible: optional (N, N) bool
    of pairs allowed (e.g. pixel PSNR below the median, so the pairs look different). A pair whose
    similarity is nan (not measured: a per-pair measure is computed on a sample) is never chosen.
    Rule: if the correlation says, significantly, that more similar pairs interpolate better,
    the first count - 1 pairs are the most similar ones ("similar": where the method should
    shine); otherwise similarity is no guide and they sit at evenly spaced similarity
    quantiles ("spread": a fair sample). The last is the least similar pair left ("hard": the
    control a good path should find hardest). Returns (pairs, the rule in words); each pair
    {"kind", "a", "b", "similarity"} with a < b."""
    size = len(similarity)
    iu = torch.triu_indices(size, size, offset=1)  # (2, M)
    sim = similarity[iu[0], iu[1]].double()  # (M,)
    ok = torch.ones_like(sim, dtype=torch.bool) if eligible is None else eligible[iu[0], iu[1]]
    measured = torch.isfinite(sim)  # (M,)
    iu, sim, ok = iu[:, measured], sim[measured], ok[measured]
    helps = significant(rho, n) and (rho > 0) == higher_is_better
    used: set[int] = set()
    pairs: list[dict] = []

    def free(m: int, eligible_only: bool = True) -> bool:
        return (bool(ok[m]) or not eligible_only) and int(iu[0, m]) not in used and int(iu[1, m]) not in used

    def take(m: int, kind: str) -> None:
        a, b = int(iu[0, m]), int(iu[1, m])
        used.update((a, b))
        pairs.append({"kind": kind, "a": a, "b": b, "similarity": float(sim[m])})

    order = torch.argsort(sim, descending=True).tolist()  # most similar first
    if helps:
        for m in order:
            if len(pairs) == count - 1:
                break
            if free(m):
                take(m, "similar")
    else:
        for q in range(1, count):  # quantiles 1/count .. (count-1)/count of the similarity order
            start = round(q / count * (len(order) - 1))
            m = next((m for m in order[start:] + order[:start] if free(m)), None)
            if m is not None:
                take(m, "spread")
    hard = next((m for m in reversed(order) if free(m)), None)
    if hard is None:  # the hard control is about the representation: any unused pair will do
        hard = next((m for m in reversed(order) if free(m, eligible_only=False)), None)
    if hard is not None:
        take(hard, "hard")
    direction = "higher" if higher_is_better else "lower"
    rule = (f"Spearman rho = {rho:.2f} over {n} pairs ({'significant' if significant(rho, n) else 'not significant'}; "
            f"score: {direction} is better): "
            + ("more similar pairs interpolate better, so the most similar pairs" if helps else
               "similarity does not predict a better path, so pairs at evenly spaced similarity quantiles")
            + ", no icon twice; then the least similar pair left as the hard control")
    return pairs, rule


def scatter_png(x: list[float], y: list[float], path: str | Path, title: str, xlabel: str = "similarity",
                ylabel: str = "score", size: tuple[int, int] = (760, 520)) -> Path:
    """Scatter plot of y against x as a PNG (PIL only): axes with 5 labelled ticks each, the
    axis labels, the title (put rho there). Returns the path."""
    w, h = size
    left, right, top, bottom = 80, 24, 44, 64
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = figure_font(15)  # scalable: the bitmap default collapsed spaces ("weightssimilarity")
    x0, x1 = _span(x)
    y0, y1 = _span(y)
    px = lambda v: left + (v - x0) / (x1 - x0) * (w - left - right)  # noqa: E731
    py = lambda v: h - bottom - (v - y0) / (y1 - y0) * (h - top - bottom)  # noqa: E731
    draw.rectangle([left, top, w - right, h - bottom], outline="black")
    for k in range(5):
        vx, vy = x0 + k / 4 * (x1 - x0), y0 + k / 4 * (y1 - y0)
        draw.line([px(vx), h - bottom, px(vx), h - bottom + 4], fill="black")
        draw.text((px(vx), h - bottom + 6), f"{vx:.3g}", fill="black", font=font, anchor="ma")
        draw.line([left - 4, py(vy), left, py(vy)], fill="black")
        draw.text((left - 6, py(vy)), f"{vy:.3g}", fill="black", font=font, anchor="rm")
    for vx, vy in zip(x, y):
        cx, cy = px(vx), py(vy)
        draw.ellipse([cx - 3, cy - 3, cx + 3, cy + 3], fill=(33, 113, 181), outline=(8, 48, 107))
    draw.text((w / 2, 10), title, fill="black", font=font, anchor="ma")
    draw.text(((left + w - right) / 2, h - 20), xlabel, fill="black", font=font, anchor="ma")
    label = Image.new("RGB", (h - top - bottom, 20), "white")  # the y label, drawn flat, then turned
    ImageDraw.Draw(label).text((label.width / 2, 0), ylabel, fill="black", font=font, anchor="ma")
    img.paste(label.rotate(90, expand=True), (4, top))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def _span(v: list[float]) -> tuple[float, float]:
    """The plotted range of v: its min to max with 5% margin (a unit range around a constant)."""
    lo, hi = min(v), max(v)
    pad = 0.05 * (hi - lo) if hi > lo else 0.5
    return lo - pad, hi + pad

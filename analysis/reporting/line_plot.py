"""One panel of lines with markers against a (log) x axis, drawn with PIL, with dashed
horizontal references: the figure of `experiments/scaling.py` (unseen PSNR against training icons)."""
from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

from analysis.reporting.curves import dashed, font, nice_ticks, tick_text

COLOURS = [(31, 119, 180), (214, 39, 40), (120, 170, 220), (240, 140, 140), (44, 160, 44), (148, 103, 189),
           (140, 86, 75), (227, 119, 194)]
GREYS = [(110, 110, 110), (170, 120, 60), (150, 150, 200)]


def line_figure(series: dict[str, list[tuple[float, float]]], references: dict[str, float], path: Path,
                title: str, x_label: str, y_label: str = "dB", log_x: bool = True,
                size: tuple[int, int] = (640, 380), x_ticks: list[float] | None = None) -> Path:
    """series {label: [(x, y)]} as solid lines (with dots when a series has 20 points or fewer);
    references {label: y} as dashed lines; x_ticks where the x axis is labelled (default: every x
    of the series)."""
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts] + list(references.values())
    ys = [y for y in ys if math.isfinite(y)]
    y_ticks = nice_ticks(min(ys) - 0.5, max(ys) + 0.5)
    fx = (lambda v: math.log10(v)) if log_x else (lambda v: v)  # noqa: E731
    x_lo, x_hi = fx(min(xs)), fx(max(xs))
    pad = 0.06 * (x_hi - x_lo or 1.0)
    x_lo, x_hi = x_lo - pad, x_hi + pad
    small, big = font(14), font(16)
    pw, ph = size
    widest = max((small.getlength(label) for label in [*series, *references]), default=0)
    left, top, right, bottom = 64, 40, max(290, int(widest) + 64), 54  # the legend sits right of the plot, whole
    canvas = Image.new("RGB", (left + pw + right, top + ph + bottom), "white")
    draw = ImageDraw.Draw(canvas)

    def at(x: float, y: float) -> tuple[float, float]:
        return (left + pw * (fx(x) - x_lo) / (x_hi - x_lo),
                top + ph * (1 - (y - y_ticks[0]) / (y_ticks[-1] - y_ticks[0])))

    draw.text((left, 10), title, fill="black", font=big)
    for y in y_ticks:
        _, py = at(min(xs), y)
        draw.line([(left, py), (left + pw, py)], fill=(232, 232, 232))
        draw.text((left - 6, py), tick_text(y), fill="black", font=small, anchor="rm")
    for x in sorted(set(xs if x_ticks is None else x_ticks)):
        px, _ = at(x, y_ticks[0])
        draw.line([(px, top + ph), (px, top + ph + 5)], fill="black")
        draw.text((px, top + ph + 8), tick_text(x), fill="black", font=small, anchor="mt")
    draw.rectangle([left, top, left + pw, top + ph], outline="black")
    draw.text((left + pw / 2, top + ph + 30), x_label, fill="black", font=small, anchor="mt")
    draw.text((8, top + ph / 2), y_label, fill="black", font=small)
    ly = top
    for (label, value), colour in zip(references.items(), GREYS):
        dashed(draw, at(min(xs), value)[1], left, left + pw, colour)
        dashed(draw, ly + 8, left + pw + 14, left + pw + 44, colour, dash=5)
        draw.text((left + pw + 50, ly), label, fill="black", font=small)
        ly += 24
    if len(series) > len(COLOURS):
        raise ValueError(f"{len(series)} series, {len(COLOURS)} colours: draw fewer in one figure")
    for (label, pts), colour in zip(series.items(), COLOURS):
        points = [at(x, y) for x, y in sorted(pts)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=3)
        for px, py in points if len(points) <= 20 else []:
            draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=colour)
        draw.line([(left + pw + 14, ly + 8), (left + pw + 44, ly + 8)], fill=colour, width=3)
        draw.text((left + pw + 50, ly), label, fill="black", font=small)
        ly += 24
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path

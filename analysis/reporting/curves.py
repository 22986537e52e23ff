"""Training curves from the runs' track.jsonl (analysis/scoring/track.py), drawn with PIL.

One panel per method, x = training seconds (step time only, evaluations excluded: the budget
every method got) or steps, y = PSNR dB on the tracked subset, one shared y axis for all panels
so heights compare across methods. Solid lines: training pixels, held-out pixels of the
training icons, held-out pixels of unseen icons (read from the other 90%). Dashed lines, the
trivial references on the same subset (from the header of each track.jsonl): neighbour
interpolation of the held-out pixels (training icons, unseen icons) and the constant mean icon
on the held-out pixels. A method whose solid line stays under its dashed one has learned less
than a trivial rule.

    python -m analysis.reporting.curves runs/study/runs/hyper runs/study/runs/maml --out curves.png

matplotlib is not a dependency (figures.py draws everything with PIL); a line plot with ticks
is little code, so it stays that way.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from PIL import Image, ImageDraw

from analysis.figures import font
from analysis.scoring.track import read_track

# (record key, label, colour) of the solid lines, and (reference key, label, colour) of the dashed ones.
SERIES = [("train_pixels", "train px", (31, 119, 180)), ("heldout_pixels", "held-out px", (255, 127, 14)),
          ("unseen_heldout_pixels", "unseen held-out px", (44, 160, 44))]
REFERENCES = [("neighbours_heldout_pixels", "neighbour interp., held-out", (255, 127, 14)),
              ("neighbours_unseen_heldout", "neighbour interp., unseen held-out", (44, 160, 44)),
              ("mean_icon_heldout_pixels", "mean icon, held-out", (128, 128, 128))]
X_LABELS = {"train_seconds": "training seconds", "step": "step"}
PSNR_CAP = 99.0  # dB; psnr() reports 100 for an exact render
# The y axis covers the data inside this band: the methods and references differ between 10 and
# 40 dB, while a method that reads its pixels back (local) or fits each icon alone (perimage)
# reaches 50-60 dB on training pixels and would squeeze every other curve into a strip. A line
# beyond the band runs along the axis's edge, and its panel names its last value.
BAND = (10.0, 40.0)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 x 10^k apart) covering [lo, hi], about `count` of them."""
    if not hi > lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    return [round(first + i * step, 10) for i in range(int(math.ceil((hi - first) / step - 1e-9)) + 1)]


def y_axis(values: list) -> list[float]:
    """The y ticks: the data clipped to BAND, never the PSNR cap (an untrained `local` reads its
    pixels back: 100 dB)."""
    values = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v) and v < PSNR_CAP]
    inside = [min(max(v, BAND[0]), BAND[1]) for v in values]
    return nice_ticks(min(inside, default=BAND[0]), max(inside, default=BAND[1]))


def tick_text(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e5 else f"{value:.2g}"


def dashed(draw: ImageDraw.ImageDraw, y: float, x0: float, x1: float, colour, dash: int = 6) -> None:
    """A horizontal dashed line at height y from x0 to x1."""
    x = x0
    while x < x1:
        draw.line([(x, y), (min(x + dash, x1), y)], fill=colour, width=2)
        x += 2 * dash


def curve_figure(runs: dict[str, Path], path: Path, x_key: str = "train_seconds", cols: int = 3,
                 panel: tuple[int, int] = (300, 200)) -> Path:
    """Draw one panel per run: runs {method name: its track.jsonl}; writes the PNG at `path`."""
    tracks = {name: read_track(p) for name, p in runs.items() if Path(p).is_file()}
    if not tracks:
        raise ValueError("no track.jsonl to draw")
    values = [r[k] for _, recs in tracks.values() for r in recs for k, _, _ in SERIES
              if isinstance(r.get(k), (int, float)) and math.isfinite(r[k])]
    values += [h.get("references", {}).get(k) for h, _ in tracks.values() for k, _, _ in REFERENCES]
    y_ticks = y_axis(values)
    y_lo, y_hi = y_ticks[0], y_ticks[-1]

    small, big = font(14), font(16)
    pw, ph = panel
    left, right, top, bottom = 52, 14, 26, 40  # margins of each panel around its plot area
    cols = min(cols, len(tracks))
    rows = -(-len(tracks) // cols)
    width = cols * (left + pw + right)
    entries = [(label, colour, False) for _, label, colour in SERIES] + [(label, colour, True) for _, label, colour in REFERENCES]
    places, ex, ey = [], 10, 8  # the legend flows left to right, wrapping at the figure's width
    for label, _, _ in entries:
        w = 44 + small.getlength(label)
        if ex + w > width - 10 and ex > 10:
            ex, ey = 10, ey + 22
        places.append((ex, ey))
        ex += w
    legend_h = ey + 30
    height = legend_h + rows * (top + ph + bottom)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for (label, colour, is_ref), (ex, ey) in zip(entries, places):
        if is_ref:
            dashed(draw, ey + 7, ex, ex + 28, colour, dash=5)
        else:
            draw.line([(ex, ey + 7), (ex + 28, ey + 7)], fill=colour, width=3)
        draw.text((ex + 34, ey), label, fill="black", font=small)

    for n, (name, (header, records)) in enumerate(tracks.items()):
        ox, oy = (n % cols) * (left + pw + right) + left, legend_h + (n // cols) * (top + ph + bottom) + top
        xs = [r[x_key] for r in records]
        x_ticks = nice_ticks(0.0, max(xs, default=1.0))
        x_hi = x_ticks[-1]

        def at(xv: float, yv: float) -> tuple[float, float]:
            yv = min(max(yv, y_lo), y_hi)
            return (ox + pw * xv / x_hi, oy + ph * (1 - (yv - y_lo) / (y_hi - y_lo)))

        steps = records[-1]["step"] if records else 0
        icons = f"{header.get('count', '?')} icons"
        unseen = any("unseen_heldout_pixels" in r for r in records)  # not for methods without an encoder
        if unseen:
            icons = f"{header.get('count', '?')} + {header.get('unseen_count', '?')} unseen icons"
        draw.text((ox, oy - 20), f"{name}: {steps} steps, {icons}", fill="black", font=big)
        for yv in y_ticks:
            _, py = at(0, yv)
            draw.line([(ox, py), (ox + pw, py)], fill=(232, 232, 232))
            draw.text((ox - 6, py), tick_text(yv), fill="black", font=small, anchor="rm")
        for xv in x_ticks:
            px, _ = at(xv, y_lo)
            draw.line([(px, oy + ph), (px, oy + ph + 4)], fill="black")
            draw.text((px, oy + ph + 6), tick_text(xv), fill="black", font=small, anchor="mt")
        draw.rectangle([ox, oy, ox + pw, oy + ph], outline="black")
        draw.text((ox + pw / 2, oy + ph + 22), X_LABELS.get(x_key, x_key), fill="black", font=small, anchor="mt")
        draw.text((ox - left + 2, oy - 20 + ph / 2), "dB", fill="black", font=small)
        for key, _, colour in REFERENCES:
            value = header.get("references", {}).get(key)
            if isinstance(value, (int, float)) and math.isfinite(value) and (unseen or "unseen" not in key):
                dashed(draw, at(0, value)[1], ox, ox + pw, colour)
        for (key, _, colour), line_w in zip(SERIES, (4, 2, 2)):  # train under the others, wider: seen where they meet
            points = [at(r[x_key], r[key]) for r in records if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
            if len(points) > 1:
                draw.line(points, fill=colour, width=line_w)
            for px, py in points[-1:]:
                draw.ellipse([px - 2.5, py - 2.5, px + 2.5, py + 2.5], fill=colour)  # the last point: visible alone too
        off = [(label, colour, r[key]) for key, label, colour in SERIES for r in records[-1:]
               if isinstance(r.get(key), (int, float)) and math.isfinite(r[key]) and not y_lo <= r[key] <= y_hi]
        for k, (label, colour, value) in enumerate(off):  # a line along the edge: its true end, in its colour
            where = "above" if value > y_hi else "below"
            draw.text((ox + 6, oy + 8 + 16 * k if where == "above" else oy + ph - 20 - 16 * k),
                      f"{label} ends at {value:.1f} dB, {where} the axis", fill=colour, font=small)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description="Draw the track.jsonl curves of training runs (one panel per run).")
    parser.add_argument("runs", nargs="+", help="run folders (each with a track.jsonl) or track.jsonl files")
    parser.add_argument("--out", default="curves.png", help="PNG to write")
    parser.add_argument("--x", default="train_seconds", choices=sorted(X_LABELS), help="x axis")
    args = parser.parse_args(argv)
    runs = {}
    for run in map(Path, args.runs):
        file = run if run.suffix == ".jsonl" else run / "track.jsonl"
        runs[file.parent.name] = file
    return curve_figure(runs, Path(args.out), args.x)


if __name__ == "__main__":
    print(f"wrote {main()}")

"""The modulated method as a codec: PSNR on unseen icons against bytes per icon, beside JPEG and WebP.

    python -m experiments.codecs_curve --checkpoints runs/scaling/grid6x16/ckpt.pt,runs/scaling/grid12x48/ckpt.pt --out runs/codecs
    python -m experiments.codecs_curve --table results/scaling/scaling.json --out runs/codecs    # earlier runs' scores only

The icons are the 100 unseen icons every training run scores (icons-large's test split at 48 px,
`psnr/unseen_images`: all pixels read, all scored). JPEG (optimized Huffman tables, --jpeg-subsampling)
and lossy WebP (method 6) encode each icon in memory at every quality of --qualities; a point is
the mean file size (headers included) and the mean PSNR over the icons at one quality. JPEG's scan
bytes (the entropy-coded data, without its quantization and Huffman tables) are listed too.
Lossless WebP and PNG, and the raw 8-bit icon, are byte references. A modulated checkpoint
encodes the icons in one pass, and after --latent-steps steps on its grid; each latent is stored
as float16 (2 bytes a float) and decoded from the rounded latent. Rows of --table (a scaling.json)
are earlier runs' float32 scores, placed at their float16 size. Writes codecs.md, codecs.json, codecs.png.
"""
from __future__ import annotations

import io
import json
import math
from collections import Counter
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from analysis.figures import font
from analysis.reporting.curves import nice_ticks, tick_text
from analysis.scoring.evaluate import psnr
from common.cli import check_out_folder, parse_config, resolve_device, run_main
from data.images import check_resolution, load_images
from data.split import unseen_source
from common.errors import UserError
from models.method import Rep
from models.modulated import ModulatedINR
from train.registry import spec
from common.runfolder import check_reuse, claim
from train.checkpoint import method_from_checkpoint


@dataclass
class CodecsConfig:
    """PSNR on unseen icons against bytes per icon: modulated latents (float16) against JPEG and WebP."""

    out: str = "runs/codecs"
    checkpoints: str = ""           # modulated ckpt.pt files, comma separated
    table: str = ""                 # a scaling.json: earlier runs' floats / icon and "unseen icons" PSNR (float32)
    all_rows: bool = False          # every row of --table; default one per grid (most training icons, shifts)
    latent_steps: int = 3           # also encode each checkpoint with this many steps on its grid (0 = one pass only)
    count: int = 100                # unseen icons: the first N of icons-large's test split, as the runs score
    res: int = 48
    qualities: str = "1,5,10,20,30,40,50,60,70,80,90,95,100"  # JPEG and WebP qualities, 0 to 100
    jpeg_subsampling: str = "4:4:4"  # chroma; 4:4:4 beats 4:2:0 on icons at every byte count (measured)
    device: str = "auto"


def _u8(images: torch.Tensor) -> np.ndarray:
    return (images.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()  # (N, H, W, 3)


def scan_bytes(data: bytes) -> int:
    """Bytes of a baseline JPEG's entropy-coded scan: the file less its headers, tables and end marker."""
    i = 2
    while data[i + 1] != 0xDA:  # marker segments up to the start of scan, each with a 2-byte length
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return len(data) - (i + 2 + int.from_bytes(data[i + 2:i + 4], "big")) - 2


def codec_point(images: torch.Tensor, fmt: str, **options) -> dict:
    """Mean bytes (and JPEG scan bytes) and mean PSNR of `images` (N, 3, H, W) through Pillow's `fmt`."""
    sizes, scans, decoded = [], [], []
    for array in _u8(images):
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, fmt, **options)
        data = buffer.getvalue()
        sizes.append(len(data))
        scans.append(scan_bytes(data) if fmt == "JPEG" else None)
        decoded.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    recon = torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2).float() / 255
    return {"bytes": float(np.mean(sizes)), "scan bytes": float(np.mean(scans)) if fmt == "JPEG" else None,
            "psnr": psnr(recon, images).mean().item()}


def checkpoint_points(path: str, images: torch.Tensor, steps: int, device) -> list[dict]:
    """A modulated checkpoint's rows: one pass (and `steps` latent steps), decoded from the float16 latent."""
    method, state = method_from_checkpoint(Path(path), device)
    if not isinstance(method, ModulatedINR):
        raise UserError(f"{path} is a {state['config'].get('model')} checkpoint: pass modulated ones (a latent grid)")
    if state["config"]["res"] != images.shape[-1]:
        raise UserError(f"{path} was trained at {state['config']['res']} px: pass --res {state['config']['res']}")
    grid, rows = f"{method.grid}x{method.grid}x{method.channels}", []
    full = torch.ones_like(images[:, :1], dtype=torch.bool)
    for k in sorted({0, steps}):
        with torch.no_grad():
            latent = torch.cat([method.encode(images[i:i + 25].to(device), full[i:i + 25].to(device), steps=k).latent
                                for i in range(0, len(images), 25)])  # (N, C*G*G) float32
        score = {p: psnr(method.render(Rep(latent=latent.to(p).float()), images.shape[-1]).cpu(), images).mean().item()
                 for p in (torch.float16, torch.float32)}
        rows.append({"codec": "modulated", "setting": f"{grid}, " + (f"{k} latent steps" if k else "one pass"),
                     "label": grid + (f", {k} steps" if k else ""), "kind": "steps" if k else "pass",
                     "bytes": 2.0 * method.floats_per_image, "psnr": score[torch.float16],
                     "psnr float32": score[torch.float32], "tag": Path(path).parent.name,
                     "note": f"float16 latent; float32: {score[torch.float32]:.2f} dB; {path}"})
    return rows


def table_points(path: str, all_rows: bool) -> list[dict]:
    """Rows of a scaling.json as float32 scores at the float16 size of their latent (one per grid by default)."""
    try:
        data = json.loads(Path(path).read_text())
        rows = [r for r in (data["rows"] if isinstance(data, dict) else data) if r.get("unseen icons") is not None]
        most = max((r.get("icons", 0) for r in rows), default=0)
        changes = spec("modulated").defaults["changes"]
        keep = rows if all_rows else sorted(  # per grid: most icons, shifts, the registry's --changes first
            [r for r in rows if r.get("icons", 0) == most and r.get("modulation", "shift") == "shift"],
            key=lambda r: r.get("changes") != changes)
        chosen = {}
        for r in keep:
            chosen.setdefault(r["grid"] if not all_rows else id(r), r)
        return [{"codec": "modulated (earlier run)", "label": r["grid"].replace(" ", ""), "kind": "table",
                 "tag": f"{r.get('icons')} icons, changes {r.get('changes')}, {r.get('modulation', 'shift')}",
                 "setting": f"{r['grid'].replace(' ', '')}, {r.get('icons')} icons, changes {r.get('changes')}, "
                            f"{r.get('modulation', 'shift')}, {r.get('steps')} steps", "bytes": 2.0 * r["floats"],
                 "psnr": float(r["unseen icons"]), "note": f"float32 score of the run; {path}"}
                for r in sorted(chosen.values(), key=lambda r: r["floats"])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise UserError(f"--table {path}: not a readable scaling.json with rows of grid, floats and "
                        f"'unseen icons' ({type(err).__name__}: {err})") from None


def _at(curve: list[dict], x: str, y: str, value: float) -> float | str | None:
    """`y` of a codec curve at `x` = value (interpolated in log bytes); beyond the curve a bound as text (a
    file can always be padded: more bytes give at least the top quality's PSNR), None where no file is that small."""
    log = lambda key, v: math.log(v) if key == "bytes" else v  # noqa: E731
    pts = sorted((log(x, p[x]), log(y, p[y])) for p in curve)
    unit = lambda v: f"{v:,.0f} B" if y == "bytes" else f"{v:.2f} dB"  # noqa: E731
    if log(x, value) > pts[-1][0]:  # more bytes than the top quality / a PSNR above it
        return f">= {unit(max(p[y] for p in curve))}" if x == "bytes" else f"> {unit(max(p[y] for p in curve))}"
    if log(x, value) < pts[0][0]:
        return None if x == "bytes" else f"< {unit(min(p[y] for p in curve))}"
    out = float(np.interp(log(x, value), [p[0] for p in pts], [p[1] for p in pts]))
    return math.exp(out) if y == "bytes" else out


def figure(curves: dict[str, list[dict]], points: list[dict], lossless: list[dict], path: Path, title: str) -> None:
    """PSNR against bytes (log x): codec curves as lines, modulated points as labelled markers, lossless sizes
    as dashed verticals."""
    small, big = font(14), font(16)
    left, top, pw, ph, right = 64, 58, 600, 440, 320
    canvas = Image.new("RGB", (left + pw + right, top + ph + 56), "white")
    draw = ImageDraw.Draw(canvas)
    xs = [p["bytes"] for c in curves.values() for p in c] + [p["bytes"] for p in points + lossless]
    ys = [p["psnr"] for c in curves.values() for p in c] + [p["psnr"] for p in points]
    x_lo, x_hi = math.log10(min(xs) / 1.2), math.log10(max(xs) * 1.2)
    y_ticks = nice_ticks(min(ys) - 1, max(ys) + 1)
    at = lambda x, y: (left + pw * (math.log10(x) - x_lo) / (x_hi - x_lo),  # noqa: E731
                       top + ph * (1 - (y - y_ticks[0]) / (y_ticks[-1] - y_ticks[0])))
    for k, line in enumerate(title.split("\n")):
        draw.text((8, 8 + 22 * k), line, fill="black", font=big)
    for y in y_ticks:
        draw.line([(left, at(10 ** x_lo, y)[1]), (left + pw, at(10 ** x_lo, y)[1])], fill=(232, 232, 232))
        draw.text((left - 6, at(10 ** x_lo, y)[1]), tick_text(y), fill="black", font=small, anchor="rm")
    for e in range(int(x_lo) - 1, int(x_hi) + 2):
        for m in (1, 2, 5):
            if x_lo <= math.log10(m * 10 ** e) <= x_hi:
                px = at(m * 10 ** e, y_ticks[0])[0]
                draw.line([(px, top), (px, top + ph)], fill=(238, 238, 238))
                draw.text((px, top + ph + 6), tick_text(m * 10 ** e), fill="black", font=small, anchor="mt")
    draw.rectangle([left, top, left + pw, top + ph], outline="black")
    draw.text((left + pw / 2, top + ph + 28), "bytes per icon (log scale)", fill="black", font=small, anchor="mt")
    label = Image.new("RGB", (int(small.getlength("PSNR (dB)")) + 4, 18), "white")
    ImageDraw.Draw(label).text((2, 0), "PSNR (dB)", fill="black", font=small)
    canvas.paste(label.rotate(90, expand=True), (4, int(top + ph / 2 - label.width / 2)))
    legend, ly = left + pw + 16, top

    def key(text, colour, sample):
        nonlocal ly
        sample(legend + 15, ly + 8, colour)
        draw.text((legend + 36, ly), text, fill="black", font=small)
        ly += 24

    for (name, curve), colour in zip(curves.items(), [(31, 119, 180), (255, 127, 14), (150, 190, 230)]):
        draw.line([at(p["bytes"], p["psnr"]) for p in sorted(curve, key=lambda p: p["bytes"])], fill=colour,
                  width=3 if "scan" not in name else 2)
        for p in curve:
            x, y = at(p["bytes"], p["psnr"])
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        key(name, colour, lambda x, y, c: draw.line([(x - 12, y), (x + 12, y)], fill=c, width=3))
    greys = [(90, 90, 90), (150, 110, 60), (140, 140, 200)]
    for p, colour in zip(lossless, greys):
        px = at(p["bytes"], y_ticks[0])[0]
        for y in range(top, top + ph, 12):
            draw.line([(px, y), (px, min(y + 6, top + ph))], fill=colour, width=2)
        key(f"{p['setting']}, {p['bytes']:,.0f} B", colour,
            lambda x, y, c: draw.line([(x, y - 8), (x, y + 8)], fill=c, width=2))
    shapes = {"pass": ((214, 39, 40), "one pass, float16 latent"),
              "steps": ((148, 103, 189), "after latent steps, float16"),
              "table": ((44, 160, 44), "earlier run (float32 score)")}

    def marker(x, y, kind):
        colour = shapes[kind][0]
        if kind == "steps":
            draw.polygon([(x, y - 7), (x + 7, y), (x, y + 7), (x - 7, y)], fill=colour)
        elif kind == "table":
            draw.rectangle([x - 5, y - 5, x + 5, y + 5], outline=colour, width=2)
        else:
            draw.ellipse([x - 6, y - 6, x + 6, y + 6], fill=colour)

    placed = []  # label boxes (x, y, width): above the marker, else below, else further up
    for p in sorted(points, key=lambda p: -p["psnr"]):
        x, y = at(p["bytes"], p["psnr"])
        marker(x, y, p["kind"])
        w = small.getlength(p["label"])
        lx = min(max(x - w / 2, left + 5), left + pw - w - 5)
        ty = next(t for t in [y - 26, y + 9, *range(int(y) - 44, top, -18)]
                  if not any(abs(t - b) < 17 and lx < bx + bw and bx < lx + w for bx, b, bw in placed))
        placed.append((lx, ty, w))
        draw.rectangle([lx - 2, ty, lx + w + 2, ty + 16], fill="white")
        draw.text((lx, ty), p["label"], fill=shapes[p["kind"]][0], font=small)
    for kind in dict.fromkeys(p["kind"] for p in points):
        key("modulated, " + shapes[kind][1], kind, lambda x, y, c: marker(x, y, c))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path, optimize=True)


def main(argv=None) -> dict:
    cfg, _ = parse_config(CodecsConfig, argv, choices={"jpeg_subsampling": ("4:4:4", "4:2:2", "4:2:0")})
    out, res = check_out_folder(cfg.out), check_resolution(cfg.res)
    check_reuse(out, "codecs_curve")  # a rerun writes again only into its own folder, before any work
    try:
        qualities = sorted({int(q) for q in cfg.qualities.split(",") if q.strip()})
    except ValueError:
        raise UserError(f"--qualities {cfg.qualities!r}: write whole numbers, comma separated, e.g. 10,50,90") from None
    if not qualities or not all(0 <= q <= 100 for q in qualities):
        raise UserError(f"--qualities {cfg.qualities!r}: give qualities from 0 to 100")
    if cfg.count < 1:
        raise UserError(f"--count must be positive (unseen icons to score), got {cfg.count}")
    data, split = unseen_source("icons100", "auto")  # the bundled runs' unseen icons: icons-large's test split
    images = load_images(data, res, split=split).images[:cfg.count]  # (N, 3, res, res)
    curves = {f"JPEG (optimized, {cfg.jpeg_subsampling})": [
                  {"codec": "JPEG", "setting": f"quality {q}", **codec_point(
                      images, "JPEG", quality=q, optimize=True, subsampling=cfg.jpeg_subsampling)} for q in qualities],
              "WebP (lossy, method 6)": [{"codec": "WebP", "setting": f"quality {q}",
                                          **codec_point(images, "WEBP", quality=q, method=6)} for q in qualities]}
    lossless = [{"codec": name, "setting": name, **codec_point(images, fmt, **options), "psnr": None}
                for name, fmt, options in (("WebP lossless", "WEBP", {"lossless": True, "quality": 100, "method": 6}),
                                           ("PNG", "PNG", {"optimize": True}))]
    lossless.append({"codec": "raw", "setting": "raw 8-bit RGB", "bytes": 3.0 * res * res, "psnr": None})
    device = resolve_device(cfg.device)
    points = [p for c in cfg.checkpoints.split(",") if c.strip()
              for p in checkpoint_points(c.strip(), images, cfg.latent_steps, device)]
    points += table_points(cfg.table, cfg.all_rows) if cfg.table else []
    jpeg, webp = curves.values()
    same = Counter((p["label"], p["kind"]) for p in points)
    for p in points:  # two points of one grid and kind (two runs, or --all-rows) say which run they are
        p["label"] += f" ({p['tag']})" if same[p["label"], p["kind"]] > 1 else ""
        for n, c in (("JPEG", jpeg), ("WebP", webp)):
            p[f"{n} dB at these bytes"] = _at(c, "bytes", "psnr", p["bytes"])
            p[f"{n} bytes for this PSNR"] = _at(c, "psnr", "bytes", p["psnr"])
    rows = [*jpeg, *webp, *lossless, *points]
    num = lambda v, f: "n/a" if v is None else v if isinstance(v, str) else format(v, f)  # noqa: E731
    lines = [f"PSNR on {len(images)} unseen icons ({res} px, icons-large test split; dB, mean over icons) against "
             "mean bytes per icon. JPEG and WebP bytes are whole files, headers included; JPEG scan bytes leave out "
             "its headers and tables. Modulated latents are stored as float16 (2 bytes a float).", "",
             "| codec | setting | bytes / icon | JPEG scan bytes | PSNR dB | note |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['codec']} | {r['setting']} | {num(r['bytes'], ',.0f')} | {num(r.get('scan bytes'), ',.0f')} | "
              f"{num(r['psnr'], '.2f') if r['psnr'] is not None else 'lossless'} | {r.get('note', '')} |" for r in rows]
    if points:
        lines += ["", "| modulated | bytes / icon | PSNR dB | JPEG dB at these bytes | WebP dB at these bytes | "
                  "JPEG bytes for this PSNR | WebP bytes for this PSNR |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {p['codec']}: {p['setting']} | {p['bytes']:,.0f} | {p['psnr']:.2f} | " + " | ".join(
            num(p[f"{n} dB at these bytes"], ".2f") for n in ("JPEG", "WebP")) + " | " + " | ".join(
            num(p[f"{n} bytes for this PSNR"], ",.0f") for n in ("JPEG", "WebP")) + " |" for p in points]
        lines += ["", f"Qualities {qualities[0]} to {qualities[-1]}, interpolated in log bytes; past the top quality "
                  "a codec gives at least its top PSNR (>=); n/a: fewer bytes than its lowest quality writes. "
                  "Lossless, every icon exact: " + ", ".join(f"{r['setting']} {r['bytes']:,.0f} B"
                                                             for r in lossless) + "."]
    curves["JPEG scan data only (no headers, tables)"] = [{**p, "bytes": p["scan bytes"]} for p in jpeg]
    claim(out, "codecs_curve", dataclasses.asdict(cfg))
    figure(curves, points, lossless, out / "codecs.png",
           f"PSNR on {len(images)} unseen icons ({res} px) against bytes per icon\n"
           "JPEG / WebP: whole files, headers included; modulated: latent grid as float16")
    (out / "codecs.md").write_text("\n".join(lines) + "\n")
    result = {"icons": len(images), "res": res, "rows": rows}
    (out / "codecs.json").write_text(json.dumps(result, indent=2))
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    run_main(main)

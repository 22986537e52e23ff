"""Build the shipped icon data from the npm package ``fluentui-emoji`` 1.3.0 (MIT).

Usage (from the repository root)::

    python -m data.build_icons                    # `npm pack fluentui-emoji@1.3.0` into a temp dir
    python -m data.build_icons --npm-dir PATH     # PATH: extracted package dir (holds icons/flat)
    python -m data.build_icons --out-dir /tmp/b/data   # build somewhere else, e.g. to compare

Outputs (under ``--out-dir``, default: this ``data/`` folder)::

    icons100/<res>/<name>.png     100 icons, RGB, res in 24 32 48 64 128 256
    icons100/names.txt            the 100 names, sorted
    icons-large/<split>_<res>.npz split train or test, res in 48 64 256 (train_256 lets icons-all
                                  train with --hr-supervision 256 and score its 256 px renders)
                                  keys images (N, res, res, 3) uint8, names (N,) str, sorted
    LICENSE-fluentui-emoji.txt    the package's LICENSE, verbatim
    ATTRIBUTION.md                source, processing, rules, counts
    MANIFEST.sha256               sha256 of all files above (`sha256sum -c` format, from repo root)

Rules (everything is deterministic; same library versions give the same bytes):

* Source files: ``icons/flat/*.svg`` only (3,145 files), processed in sorted order.
* Skin tones: each person/hand emoji with skin tones comes as six files ``<base>-default``,
  ``-light``, ``-medium-light``, ``-medium``, ``-medium-dark``, ``-dark``. For every ``<base>``
  that has a ``<base>-default.svg`` the five toned files are dropped and ``-default`` is kept.
  Names that merely end in ``-light`` without a ``-default`` sibling (``police-car-light``,
  ``horizontal-traffic-light``, ``vertical-traffic-light``) are ordinary icons and are kept.
* Rendering: every SVG is rasterized directly at every resolution by cairosvg with
  ``output_width = output_height = res`` (never resampled from another size). Cairo's
  straight-alpha RGBA is composited over white with exact integer arithmetic
  ``out = (c * a + 255 * (255 - a) + 127) // 255`` and stored as RGB uint8.
* Usable: the SVG rasterizes at 48 px without an exception and at least 2% of its 48 px pixels
  are non-white (some channel < 247). Rasterization failures at other sizes abort the build.
* Names: file stem with ``-`` replaced by ``_`` (e.g. ``artist_default``, ``1st_place_medal``).
* Groups: near-duplicates (mirrors, rotations, recolours, gender siblings, one-detail edits)
  are grouped by ``data.groups.group_ids`` from the 48 px renders and the names; see that
  module for the rules and the measured 25 dB threshold.
* icons100: on the sorted usable names, ``numpy.random.default_rng(0).choice(n, 100,
  replace=False)``; the chosen names are stored sorted (groups play no part: icons100 is
  training data, and its images predate the groups).
* icons-large: the other usable names, sorted; ``perm = numpy.random.default_rng(1)
  .permutation(m)``; walking ``perm``, each group is decided at its first member by name: all
  its members go to test if none is in icons100 and they fit in the quota ``round(0.1 * m)``,
  else all go to train (``data.groups.select``). So no group spans test and training.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import multiprocessing
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

import cairocffi
import cairosvg
import numpy as np
from PIL import Image

from data.groups import GROUP_RES, PSNR_THRESHOLD_DB, group_ids, select

PACKAGE, VERSION = "fluentui-emoji", "1.3.0"
TARBALL_SHA256 = "ec892e607e854859b812c7d827801756adc19955b0ef56d4ae8afcddd19492c5"
TONES = ("light", "medium-light", "medium", "medium-dark", "dark")
ICONS100_RES = (24, 32, 48, 64, 128, 256)
LARGE_RES = {"train": (48, 64, 256), "test": (48, 64, 256)}
BLANK_RES, MIN_NONWHITE, WHITE_LEVEL = 48, 0.02, 247
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
DATA_DIR = Path(__file__).resolve().parent


def fetch_package(workdir: Path) -> Path:
    """``npm pack`` the package into ``workdir``, check its sha256, extract; return its folder."""
    subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--ignore-scripts", "--loglevel=error",
                    "--pack-destination", str(workdir)], check=True, stdout=subprocess.DEVNULL)
    tgz = workdir / f"{PACKAGE}-{VERSION}.tgz"
    digest = hashlib.sha256(tgz.read_bytes()).hexdigest()
    if digest != TARBALL_SHA256:
        raise RuntimeError(f"{tgz.name}: sha256 {digest} != expected {TARBALL_SHA256}")
    with tarfile.open(tgz) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / "package"


def list_sources(flat_dir: Path) -> list[Path]:
    """Sorted flat SVGs without the five toned variants of ``<base>-default`` icons."""
    stems = {p.stem for p in flat_dir.glob("*.svg")}
    bases = {s[: -len("-default")] for s in stems if s.endswith("-default")}
    toned = {f"{b}-{t}" for b in bases for t in TONES}
    return [flat_dir / f"{s}.svg" for s in sorted(stems - toned)]


def icon_name(svg: Path) -> str:
    """Shipped name of an SVG: lowercase stem with ``-`` replaced by ``_``."""
    return svg.stem.lower().replace("-", "_")


def render(svg: Path, res: int) -> np.ndarray:
    """Rasterize ``svg`` at ``res`` x ``res`` over white; returns (res, res, 3) uint8."""
    png = cairosvg.svg2png(url=str(svg), output_width=res, output_height=res)
    rgba = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"), dtype=np.uint32)
    if rgba.shape != (res, res, 4):
        raise ValueError(f"{svg.name}: rendered shape {rgba.shape} at res {res}")
    alpha = rgba[..., 3:]
    rgb = (rgba[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255
    return rgb.astype(np.uint8)


def _render_job(job: tuple[Path, int]) -> np.ndarray | None:
    """Pool worker: ``render`` returning ``None`` instead of raising."""
    try:
        return render(*job)
    except Exception:  # noqa: BLE001 - any failure means "does not rasterize"
        return None


def render_many(jobs: list[tuple[Path, int]], pool) -> list[np.ndarray | None]:
    """Render (svg, res) jobs in order, in parallel; failures come back as ``None``."""
    return list(pool.imap(_render_job, jobs, chunksize=8))


def is_usable(img: np.ndarray | None) -> bool:
    """True if the 48 px render exists and has at least ``MIN_NONWHITE`` non-white pixels."""
    return img is not None and (img.min(axis=-1) < WHITE_LEVEL).mean() >= MIN_NONWHITE


def save_png(img: np.ndarray, path: Path) -> None:
    """Write an RGB uint8 image as an optimized PNG (no timestamps or text chunks)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, format="PNG", optimize=True)


def save_npz(path: Path, images: np.ndarray, names: list[str]) -> None:
    """Write an ``np.load``-compatible .npz (deflate) with fixed zip metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for key, arr in (("images", images), ("names", np.array(names, dtype=str))):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_DATE)
            info.create_system, info.external_attr = 3, 0o644 << 16
            zf.writestr(info, buf.getvalue(), zipfile.ZIP_DEFLATED, compresslevel=9)


def write_attribution(out_dir: Path, counts: dict[str, int], license_text: str) -> None:
    """Write ``ATTRIBUTION.md``: source, the package's LICENSE quoted verbatim, rules, counts."""
    keys = ("svgs", "candidates", "usable", "groups", "icons100", "train", "test")
    quoted = "".join(f"    {line}".rstrip() + "\n" for line in license_text.splitlines())
    row = " | ".join(str(counts[k]) for k in keys)
    text = f"""# Icon data: attribution and provenance

Source: npm package [`{PACKAGE}`](https://www.npmjs.com/package/{PACKAGE}) version {VERSION},
folder `icons/flat/*.svg` (tarball sha256 `{TARBALL_SHA256}`),
by Mohammad Abu Mattar (`package.json`: `"license": "MIT"`). The package repackages the "Flat"
style of Microsoft's Fluent UI emoji (<https://github.com/microsoft/fluentui-emoji>, whose own
licence file is not in the tarball and not reproduced here).

The package's `LICENSE`, as shipped in the tarball (also `LICENSE-fluentui-emoji.txt`, a
byte-for-byte copy):

{quoted}
## What was done to the icons

Each SVG was rasterized directly at each stored resolution with cairosvg {cairosvg.__version__}
(cairo {cairocffi.cairo_version_string()}), `output_width = output_height = res`; no size was
made by resampling another. Transparent pixels were composited over white with exact integer
arithmetic, `out = (c * a + 255 * (255 - a) + 127) // 255`, and stored as RGB uint8.
Nothing else was changed (no cropping, padding or recolouring).

## Selection rules

- Skin tones: for every `<base>-default.svg` the five toned files `<base>-light`,
  `-medium-light`, `-medium`, `-medium-dark`, `-dark` are dropped; `-default` is kept.
- Usable: rasterizes without error and has at least 2% non-white pixels (some channel < 247)
  at 48 px. Name: file stem with `-` replaced by `_`.
- `icons100`: `numpy.random.default_rng(0).choice(n_usable, 100, replace=False)` over the
  sorted usable names; PNGs in `icons100/<res>/<name>.png` for res 24, 32, 48, 64, 128, 256.
- Groups: two icons are linked when their 48 px renders reach {PSNR_THRESHOLD_DB:g} dB PSNR or
  more under one of the eight symmetries of the square (mirrors and rotations), or when their
  names differ only by gender words (`man`/`woman`/`person`, `men`/`women`/`people`,
  `boy`/`girl`/`child`), colour words, `left`/`right` or `facing_right`; groups are the
  connected components (`data/groups.py` gives the exact rules and why {PSNR_THRESHOLD_DB:g} dB).
- `icons-large`: the remaining usable names (sorted), `perm = numpy.random.default_rng(1)
  .permutation(m)`; walking `perm`, each group is decided at its first member by name: all
  its members go to test if none is in `icons100` and they fit in `round(0.1 * m)`, else all
  go to train. No group spans test and training (`icons100` + train); `tests/test_split.py`
  checks it. Stored as `icons-large/<split>_<res>.npz` (keys `images` (N, res, res, 3) uint8
  and `names` (N,), sorted by name): both splits at 48, 64 and 256 px.

## Counts

| flat SVGs | after skin-tone rule | usable | groups | icons100 | train | test |
|---|---|---|---|---|---|---|
| {row} |

## Rebuild

    python -m data.build_icons                # runs `npm pack {PACKAGE}@{VERSION}`
    python -m data.build_icons --npm-dir PATH # PATH: an extracted package folder

The build writes `MANIFEST.sha256`; `tests/test_data_manifest.py` checks it. Bytes are
reproducible for the same cairosvg/cairo/Pillow/zlib versions.
"""
    (out_dir / "ATTRIBUTION.md").write_text(text, encoding="utf-8")


def write_manifest(out_dir: Path) -> list[Path]:
    """Write ``MANIFEST.sha256`` over all shipped files; paths read ``data/...`` from repo root."""
    files = [out_dir / "ATTRIBUTION.md", out_dir / "LICENSE-fluentui-emoji.txt"]
    for sub in ("icons100", "icons-large"):
        files += [p for p in (out_dir / sub).rglob("*") if p.is_file()]
    rows = sorted((f"data/{p.relative_to(out_dir).as_posix()}", p) for p in files)
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {rel}\n" for rel, p in rows]
    (out_dir / "MANIFEST.sha256").write_text("".join(lines), encoding="utf-8")
    return [p for _, p in rows]


def build(package_dir: Path, out_dir: Path, workers: int) -> dict[str, int]:
    """Render, select and write all outputs into ``out_dir``; returns the counts."""
    meta = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    if (meta.get("name"), meta.get("version")) != (PACKAGE, VERSION):
        raise RuntimeError(f"{package_dir}: expected {PACKAGE}@{VERSION}, found {meta.get('name')}"
                           f"@{meta.get('version')}")
    flat_dir = package_dir / "icons" / "flat"
    sources = list_sources(flat_dir)
    by_name = {icon_name(p): p for p in sources}
    if len(by_name) != len(sources):
        raise RuntimeError("icon names collide after renaming")
    for sub in ("icons100", "icons-large"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)

    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        print(f"checking {len(sources)} icons at {BLANK_RES} px")
        first = dict(zip(by_name, render_many([(p, BLANK_RES) for p in by_name.values()], pool)))
        usable = sorted(n for n, img in first.items() if is_usable(img))
        print(f"grouping {len(usable)} icons at {GROUP_RES} px (threshold {PSNR_THRESHOLD_DB:g} dB)")
        groups = group_ids(usable, np.stack([first[n] for n in usable]))
        icons100, train, test = select(usable, groups)

        def images(names: list[str], res: int) -> np.ndarray:
            if res == BLANK_RES:
                return np.stack([first[n] for n in names])
            out = render_many([(by_name[n], res) for n in names], pool)
            if any(img is None for img in out):
                raise RuntimeError(f"rasterization failed at {res} px")
            return np.stack(out)

        for res in ICONS100_RES:
            print(f"icons100 at {res} px")
            for name, img in zip(icons100, images(icons100, res)):
                save_png(img, out_dir / "icons100" / str(res) / f"{name}.png")
        for split, names in (("train", train), ("test", test)):
            for res in LARGE_RES[split]:
                print(f"icons-large {split} at {res} px ({len(names)} icons)")
                save_npz(out_dir / "icons-large" / f"{split}_{res}.npz", images(names, res), names)

    names_txt = "".join(f"{n}\n" for n in icons100)
    (out_dir / "icons100" / "names.txt").write_text(names_txt, encoding="utf-8")
    shutil.copyfile(package_dir / "LICENSE", out_dir / "LICENSE-fluentui-emoji.txt")
    counts = {"svgs": len(list(flat_dir.glob("*.svg"))), "candidates": len(sources),
              "usable": len(usable), "groups": len(set(groups)), "icons100": len(icons100),
              "train": len(train), "test": len(test)}
    write_attribution(out_dir, counts, (package_dir / "LICENSE").read_text(encoding="utf-8"))
    return counts


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npm-dir", type=Path, help="extracted fluentui-emoji package folder; "
                        "if omitted, `npm pack` fetches it into a temporary folder")
    parser.add_argument("--out-dir", type=Path, default=DATA_DIR,
                        help="output folder (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="render processes (default: 2)")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        package_dir = args.npm_dir or fetch_package(Path(tmp))
        counts = build(package_dir.resolve(), args.out_dir, args.workers)
    files = write_manifest(args.out_dir)
    print("counts:", counts)
    for part in ("icons100", "icons-large"):
        size = sum(p.stat().st_size for p in files if part in p.relative_to(args.out_dir).parts)
        print(f"{part}: {size / 1e6:.2f} MB")
    print(f"total: {sum(p.stat().st_size for p in files) / 1e6:.2f} MB in {len(files)} files")


if __name__ == "__main__":
    main()

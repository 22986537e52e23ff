"""Fuzz: random folders of the kind users have, through train_hyper.py's main as its __main__
runs it (in-process: a subprocess would cost 4 s of imports each). Whatever the folder holds,
the script ends with exit code 0 or with one `error:` line and exit code 2, never a traceback.

A folder draws from: valid images of random modes, sizes and formats (some 1 px, some with an
EXIF orientation), truncated or random-byte files with image suffixes, zero-byte files,
non-image files, hidden files, subfolders, unicode and odd names (spaces, a line break, bytes
that are not UTF-8), symbolic links to images, to folders and to nothing, and two images
with one stem. 40 folders, about 6 s on one core.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_flags
from PIL import Image

import train_hyper
from common.cli import run_main

MODES = {"PNG": ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"), "JPEG": ("L", "RGB", "CMYK"), "GIF": ("P", "L")}
SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif"}
NAMES = ("photo", "Zeichnung_ä", "写真", "😀 smile", "with space", "line\nbreak", "dash-and.dots", "UPPER")


def image_bytes(rng: np.random.Generator, tag_orientation: bool) -> tuple[bytes, str]:
    """A valid image file of a random format, mode and size (1 to 40 px a side); (bytes, suffix)."""
    fmt = ("PNG", "JPEG", "GIF")[int(rng.integers(3))]
    mode = MODES[fmt][int(rng.integers(len(MODES[fmt])))]
    size = (1, 1) if rng.random() < 0.1 else tuple(int(s) for s in rng.integers(1, 41, 2))
    img = Image.frombytes(mode, size, rng.bytes(len(Image.new(mode, size).tobytes())))
    kw = {}
    if tag_orientation and fmt in ("PNG", "JPEG"):
        exif = Image.Exif()
        exif[0x0112] = int(rng.integers(0, 10))  # 0 and 9 are not valid orientations: ignored
        kw["exif"] = exif
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue(), SUFFIX[fmt]


def name(rng: np.random.Generator, k: int) -> str:
    base = NAMES[int(rng.integers(len(NAMES)))]
    if rng.random() < 0.1:
        base = os.fsdecode(b"caf\xe9")  # not UTF-8: a surrogate escape in Python
    return f"{base}_{k}"


def random_folder(rng: np.random.Generator, root: Path, index: int) -> Path:
    """One random folder under `root` (with a sibling folder for link targets)."""
    folder, outside = root / f"case{index:02d}", root / f"outside{index:02d}"
    folder.mkdir()
    outside.mkdir()
    for k in range(int(rng.integers(0, 9))):  # good images
        data, suffix = image_bytes(rng, tag_orientation=rng.random() < 0.3)
        (folder / (name(rng, k) + suffix)).write_bytes(data)
    extras = rng.random(10)
    if extras[0] < 0.15:  # truncated image
        data, suffix = image_bytes(rng, False)
        (folder / f"cut{suffix}").write_bytes(data[:int(rng.integers(1, len(data)))])
    if extras[1] < 0.1:
        (folder / "noise.jpg").write_bytes(rng.bytes(int(rng.integers(1, 200))))
    if extras[2] < 0.1:
        (folder / "empty.png").write_bytes(b"")
    if extras[3] < 0.4:
        (folder / "notes.txt").write_text("not an image")
        (folder / ".hidden.png").write_bytes(b"hidden: skipped")
    if extras[4] < 0.3:
        (folder / "sub").mkdir()
        (folder / "sub" / "inner.png").write_bytes(image_bytes(rng, False)[0])
    if extras[5] < 0.4:  # a link to a good image elsewhere
        data, suffix = image_bytes(rng, False)
        (outside / f"target{suffix}").write_bytes(data)
        (folder / f"linked{suffix}").symlink_to(outside / f"target{suffix}")
    if extras[6] < 0.2:
        (folder / "dangling.png").symlink_to(outside / "missing.png")
    if extras[7] < 0.2:
        (folder / "linked_dir").symlink_to(outside)
    if extras[8] < 0.2:  # one stem, two files
        for suffix in (".png", ".gif"):
            (folder / f"twin{suffix}").write_bytes(_png_or_gif(suffix))
    return folder


def _png_or_gif(suffix: str) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (6, 6), 90).save(buf, "PNG" if suffix == ".png" else "GIF")
    return buf.getvalue()


def test_random_folders_end_in_exit_0_or_one_error_line(tmp_path, capsys):
    rng = np.random.default_rng(2024)
    outcomes = {0: 0, 2: 0}
    for index in range(40):
        folder = random_folder(rng, tmp_path, index)
        res, hr = int(rng.choice([4, 8])), int(rng.choice([0, 16, 256]))
        argv = ["--data", str(folder), "--out", str(tmp_path / f"run{index:02d}"), "--res", str(res), "--steps", "2",
                "--minutes", "0", "--hr-res", str(hr), "--eval-every", "2", "--image-every", "2", "--device", "cpu",
                *tiny_flags("hyper")]
        listing = sorted(os.fsencode(p.name) for p in folder.iterdir())
        try:
            run_main(train_hyper.main, argv)
            code = 0
        except SystemExit as done:
            code = done.code
        except BaseException as err:  # noqa: BLE001 (the point of the test: report which folder did it)
            pytest.fail(f"folder {index} {listing} raised {type(err).__name__}: {err}")
        err = capsys.readouterr().err
        assert code in (0, 2) and "Traceback" not in err, (index, listing, err)
        if code == 2:
            last = err.strip().splitlines()[-1]
            assert last.startswith("error: ") and err.count("error: ") == 1, (index, listing, err)
        outcomes[code] += 1
    assert outcomes[0] >= 10 and outcomes[2] >= 5, outcomes  # both paths really exercised

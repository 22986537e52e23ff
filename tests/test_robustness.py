"""Bad input and bad runs: every one is a one-line UserError naming the file and the fix.

Covers the image loader (broken, odd and huge files, fuzzed bytes); checkpoints, exit codes
and training health are in test_robustness_runs.py. The
loader's basic cases (empty folder, a file truncated in its header, unknown data set,
resolution 0/-3/100000) live in test_data_loader.py and are not repeated here.
"""
from __future__ import annotations

import io
import json
import logging
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import one_line_error, write_shapes
from PIL import Image

from data.decode import to_rgb
from data.images import check_resolution, load_images
from common.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--res", "12", "--hidden", "16", "--hidden-layers", "1", "--latent-dim", "8", "--hyper-hidden", "16",
        "--hr-res", "0", "--unseen", "", "--device", "cpu", "--eval-every", "1000", "--image-every", "1000"]


# --------------------------------------------------------------------------- helpers

def png_bytes(width: int, height: int, bit_depth: int, color_type: int, rows: np.ndarray | None = None,
              idat: bytes | None = None) -> bytes:
    """A PNG written by hand, so 16-bit colour (which Pillow cannot write) and lying headers can be made.

    color_type: 0 grey, 2 RGB, 4 grey+alpha, 6 RGBA. rows: (height, width * channels) big-endian
    samples; or `idat`, the compressed data itself; neither: a header with no pixel data at all.
    """
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    if idat is None:
        idat = b"" if rows is None else zlib.compress(b"".join(b"\0" + row.tobytes() for row in rows))
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def folder_with(tmp_path: Path, name: str, data: bytes) -> Path:
    """A folder holding the one file `name` with content `data`."""
    folder = tmp_path / f"case_{name.replace('.', '_')}"
    folder.mkdir()
    (folder / name).write_bytes(data)
    return folder


def encoded(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def check_images(images: torch.Tensor, count: int, res: int) -> None:
    assert images.shape == (count, 3, res, res) and images.dtype == torch.float32
    assert torch.isfinite(images).all() and images.min() >= 0 and images.max() <= 1


# --------------------------------------------------------------------------- loader: broken files

@pytest.mark.parametrize("name,make,expected", [
    ("zero.png", lambda: b"", r"is empty \(0 bytes\)"),
    ("text.png", lambda: b"this is not an image\n", "not a PNG, JPEG or GIF file"),
    ("half.png", lambda: encoded(Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)),
                                 "PNG")[:2000], "cannot decode image"),
    ("half.jpg", lambda: encoded(Image.new("RGB", (64, 64), "red"), "JPEG")[:300], "cannot decode image"),
    ("bmp_in_disguise.png", lambda: encoded(Image.new("RGB", (8, 8)), "BMP"), "not a PNG, JPEG or GIF file"),
    ("bomb.png", lambda: png_bytes(100_000, 100_000, 8, 2), "decompression bomb"),       # Pillow's own guard
    ("big_header.png", lambda: png_bytes(20_000, 20_000, 8, 0), "claims 20000 x 20000 px"),  # between 1x and 2x
])
def test_broken_file_is_a_one_line_error_naming_it(tmp_path, recwarn, name, make, expected):
    folder = folder_with(tmp_path, name, make())
    with pytest.raises(UserError, match=expected) as err:
        load_images(str(folder), 16)
    one_line_error(err, str(folder / name))
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_folder_of_non_images_says_so(tmp_path, caplog):
    for name in ("a.txt", "b.pdf", "c.tiff", "d.csv"):
        (tmp_path / name).write_text("x")
    with pytest.raises(UserError, match="all its 4 files have other suffixes") as err:
        load_images(str(tmp_path), 16)
    one_line_error(err, str(tmp_path), "a.txt")
    write_shapes(tmp_path, count=1)  # one image among them: loaded, the others skipped with a warning
    with caplog.at_level(logging.WARNING):
        assert load_images(str(tmp_path), 16).names == ["shape00"]
    assert "skipping" in caplog.text and "a.txt" in caplog.text


def test_wrong_kind_of_path_is_a_clear_error(tmp_path, shapes_dir):
    with pytest.raises(UserError, match="is a file, not a folder"):
        load_images(str(shapes_dir / "shape00.png"), 16)
    (tmp_path / "parent" / "inner").mkdir(parents=True)
    with pytest.raises(UserError, match=r"only subfolders \(inner/\): pass one of them"):
        load_images(str(tmp_path / "parent"), 16)


def test_resolution_must_be_a_sensible_integer():
    assert check_resolution(np.int64(16)) == 16  # a numpy integer is an integer
    for res in (1, 2049, True, 16.0, "16", None):
        with pytest.raises(UserError, match="resolution"):
            check_resolution(res)


# --------------------------------------------------------------------------- loader: odd but valid files

def test_16_bit_pngs_are_rescaled_not_clipped(tmp_path, caplog):
    folder = tmp_path / "deep"
    folder.mkdir()
    Image.fromarray(np.full((8, 8), 40_000, np.uint16)).save(folder / "a_grey16.png")   # mode I;16
    Image.fromarray(np.full((8, 8), 200, np.uint16)).save(folder / "b_dark16.png")      # dark, not stretched
    rgb = np.zeros((8, 8, 3), np.uint16)
    rgb[..., 0], rgb[..., 2] = 0xFFFF, 0x8080                                           # 48-bit RGB
    (folder / "c_rgb48.png").write_bytes(png_bytes(8, 8, 16, 2, rgb.astype(">u2").reshape(8, -1)))
    rgba = np.zeros((8, 8, 4), np.uint16)
    rgba[..., 1], rgba[..., 3] = 0xFFFF, 0                                              # 64-bit RGBA, transparent
    (folder / "d_rgba64.png").write_bytes(png_bytes(8, 8, 16, 6, rgba.astype(">u2").reshape(8, -1)))
    assert Image.open(folder / "a_grey16.png").mode == "I;16"
    with caplog.at_level(logging.INFO):
        images = load_images(str(folder), 8).images
    check_images(images, 4, 8)
    assert torch.allclose(images[0], torch.full((3, 8, 8), 156 / 255))        # 40000 / 65535 * 255 = 155.6
    assert torch.allclose(images[1], torch.full((3, 8, 8), 1 / 255))          # 200 / 257 rounds to 1
    assert torch.allclose(images[2, :, 0, 0], torch.tensor([255, 0, 128]) / 255)
    assert torch.allclose(images[3], torch.ones(3, 8, 8))                     # transparent -> white
    assert "a_grey16.png: converting mode I;16" in caplog.text


def test_cmyk_jpeg_and_animated_gif_are_converted_and_logged(tmp_path, caplog):
    folder = tmp_path / "odd"
    folder.mkdir()
    Image.new("CMYK", (20, 20), (0, 255, 255, 0)).save(folder / "a_cmyk.jpg")  # no cyan/black: red
    frames = [Image.new("RGB", (20, 20), colour).convert("P") for colour in ("blue", "lime", "red")]
    frames[0].save(folder / "b_anim.gif", save_all=True, append_images=frames[1:], duration=50)
    Image.new("L", (20, 20), 255).save(folder / "c_still.gif")
    with caplog.at_level(logging.INFO):
        images = load_images(str(folder), 10).images
    check_images(images, 3, 10)
    assert images[0, 0].mean() > 0.9 and images[0, 1:].mean() < 0.15                # red
    assert images[1, 2].mean() > 0.9 and images[1, :2].mean() < 0.1                   # first frame: blue
    assert torch.allclose(images[2], torch.ones(3, 10, 10))
    assert "a_cmyk.jpg: converting mode CMYK" in caplog.text
    assert "b_anim.gif is animated: using its first frame" in caplog.text


def test_mixed_sizes_are_cropped_and_resampled(tmp_path, caplog):
    folder = tmp_path / "sizes"
    folder.mkdir()
    for k, size in enumerate([(6, 6), (30, 20), (20, 90), (64, 64)]):
        Image.new("RGB", size, (40 * k, 0, 0)).save(folder / f"img{k}.png")
    with caplog.at_level(logging.INFO):
        images = load_images(str(folder), 16).images
    check_images(images, 4, 16)
    assert "images of 4 different sizes" in caplog.text
    assert torch.allclose(images[:, 0, 8, 8], torch.tensor([0, 40, 80, 120]) / 255, atol=1e-6)
    assert "1 of 4 images are below 16 px on their shorter side (e.g. img0.png, 6 x 6): upsampled" in caplog.text


def test_every_pil_mode_converts_to_rgb():
    for mode in ("1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV",
                 "I", "F", "I;16", "I;16B", "I;16L"):
        out = to_rgb(Image.new(mode, (3, 2)))
        assert out.mode == "RGB" and out.size == (3, 2), mode
    weird = Image.fromarray(np.array([[np.nan, np.inf], [-1.0, 0.5]], np.float32), "F")  # NaN/inf -> 0
    assert np.asarray(to_rgb(weird))[..., 0].tolist() == [[0, 0], [0, 128]]


def test_huge_images_load_shrunk_while_decoding(tmp_path):
    """A 10,000 x 10,000 image is not a bomb, and loading it never holds more than one decoded copy.

    JPEG is decoded at 1/8 scale (DCT scaling), so it costs a few MB instead of 100 MB; the
    PNG must be decoded whole (100 MB as 8-bit grey), but is then shrunk in strips, not
    converted to RGB at full size (another 300 MB). Measured in a fresh process, whose peak
    RSS is not inflated by this one's.
    """
    side = 10_000
    jpg, png = tmp_path / "jpg", tmp_path / "png"
    jpg.mkdir(), png.mkdir()
    Image.new("L", (side, side), 77).save(jpg / "huge.jpg", quality=80)
    comp, row = zlib.compressobj(1), b"\0" + bytes([200]) * side  # streamed: the PNG is never whole in memory
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    (png / "huge.png").write_bytes(png_bytes(side, side, 8, 0, idat=idat))
    script = (
        "import json, resource, sys, torch\n"
        "from data.images import load_images\n"
        "for folder in sys.argv[1:]:\n"
        "    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    images = load_images(folder, 48).images\n"
        "    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024\n"
        "    print(json.dumps([list(images.shape), round(images.mean().item() * 255), grown]))\n")
    done = subprocess.run([sys.executable, "-c", script, str(jpg), str(png)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    (shape_j, mean_j, mb_j), (shape_p, mean_p, mb_p) = map(json.loads, done.stdout.splitlines())
    assert shape_j == shape_p == [1, 3, 48, 48] and mean_j == 77 and mean_p == 200
    if sys.platform.startswith("linux"):  # ru_maxrss is in KiB there
        assert mb_j < 40, f"JPEG decode grew the process by {mb_j} MB"
        assert mb_p < 100 * 1.6, f"PNG decode grew the process by {mb_p} MB"


# --------------------------------------------------------------------------- loader: fuzz

def _fuzz_files(rng: np.random.Generator) -> list[tuple[str, bytes]]:
    """~50 broken byte strings: noise, real headers + garbage, truncations, bit flips."""
    tile = Image.fromarray(rng.integers(0, 256, (12, 12, 3), np.uint8))
    real = {".png": encoded(tile, "PNG"), ".jpg": encoded(tile, "JPEG"), ".gif": encoded(tile.convert("P"), "GIF")}
    files = []
    for k in range(50):
        suffix = (".png", ".jpg", ".gif")[k % 3]
        good = real[suffix]
        noise = rng.bytes(int(rng.integers(0, 300)))
        kind = k % 5
        if kind == 0:
            data = noise
        elif kind == 1:
            data = good[:int(rng.integers(8, 40))] + noise        # a real signature and header, then garbage
        elif kind == 2:
            data = good[:int(rng.integers(1, len(good)))]         # truncated anywhere
        elif kind == 3:
            flipped = bytearray(good)
            for pos in rng.integers(0, len(good), int(rng.integers(1, 12))):
                flipped[pos] ^= int(rng.integers(1, 256))
            data = bytes(flipped)
        else:
            data = good[:len(good) // 2] + noise + good[len(good) // 2:]
        files.append((f"fuzz{k:02d}{suffix}", data))
    return files


def _random_images(rng: np.random.Generator) -> list[tuple[str, bytes]]:
    """~20 valid small images of random modes and sizes, in every format that can hold the mode."""
    choices = [("PNG", m) for m in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I;16B")]
    choices += [("JPEG", m) for m in ("1", "L", "RGB", "CMYK", "YCbCr")] + [("GIF", m) for m in ("P", "L", "RGBA")]
    files = []
    for k in range(20):
        fmt, mode = choices[int(rng.integers(len(choices)))]
        size = tuple(int(s) for s in rng.integers(1, 40, 2))
        raw = rng.bytes(len(Image.new(mode, size).tobytes()))
        img = Image.frombytes(mode, size, raw)
        if mode == "P" and k % 2:
            img.info["transparency"] = 0
        suffix = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif"}[fmt]
        files.append((f"rand{k:02d}_{mode.replace(';', '')}{suffix}", encoded(img, fmt)))
    return files


def test_fuzzed_files_load_or_raise_user_error_only(tmp_path):
    """Whatever the bytes, load_images returns valid images or raises UserError, nothing else."""
    rng = np.random.default_rng(1234)
    outcomes = {"loaded": 0, "refused": 0}
    for name, data in _fuzz_files(rng) + _random_images(rng):
        folder = folder_with(tmp_path, name, data)
        res = int(rng.choice([2, 7, 16]))
        try:
            images = load_images(str(folder), res).images
        except UserError as err:
            assert name in str(err) and "\n" not in str(err), str(err)
            assert not name.startswith("rand"), f"valid image refused: {err}"
            outcomes["refused"] += 1
        else:
            check_images(images, 1, res)
            outcomes["loaded"] += 1
    assert outcomes["refused"] > 20 and outcomes["loaded"] >= 20, outcomes  # both paths really exercised

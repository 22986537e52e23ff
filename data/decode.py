"""Decode one image file into a small 8-bit RGB array, or fail with a one-line UserError.

`read_rgb(path, res)` is the only way a file on disk becomes pixels (`data.images` builds
data sets from it). It accepts PNG, JPEG and GIF content and guarantees:

* Any failure is a `UserError` naming the file and the fix: a zero-byte file, a file that
  is not a PNG/JPEG/GIF (whatever its suffix says), truncated or corrupt data, and a header
  claiming more than MAX_PIXELS pixels (a corrupt file or a decompression bomb). Pillow's
  decoders raise many exception types on corrupt data (OSError, SyntaxError, ValueError,
  struct.error, IndexError, ...); all of them end up as that one message.
* Every mode becomes RGB through `to_rgb` (documented there). Modes other than the common
  8-bit ones (16-bit, float, CMYK, ...) are logged at INFO when converted.
* Animated GIF/PNG: the first frame is used, and logged.
* The EXIF orientation tag is applied (as PIL's `ImageOps.exif_transpose` does): a phone
  stores a portrait photo as landscape pixels plus "rotate 90", and every viewer shows it
  upright, so the user expects that image. An unreadable EXIF block is logged and ignored.
* Large images (over LARGE_PIXELS) are shrunk while or right after decoding, so a
  10,000 x 10,000 photo costs one decoded copy at most: a JPEG is decoded at 1/2, 1/4 or
  1/8 scale by DCT scaling (`Image.draft`), other formats are box-reduced by an integer
  factor (`Image.reduce`); both stop at >= REDUCE_GAP x `res` so the final Lanczos still
  does the anti-aliasing (Pillow documents a reducing gap of 3 as indistinguishable from
  plain Lanczos). Smaller images take the exact reference path: crop, then Lanczos.
* Images smaller than `res` are upsampled with Lanczos (`data.images` warns about them).
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image

from common.errors import UserError

log = logging.getLogger(__name__)

FORMATS = ("PNG", "JPEG", "GIF")  # what the suffixes .png/.jpg/.jpeg/.gif promise (JPEG covers MPO)
# A 10,000 x 10,000 photo is a legitimate input; Pillow's default bomb guard (89 Mpx) is
# not meant for local files, so allow up to 16,384^2 (1 GiB as RGBA), and refuse more.
MAX_SIDE = 16_384
MAX_PIXELS = MAX_SIDE * MAX_SIDE
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow itself refuses > 2x this; read_rgb refuses > 1x
LARGE_PIXELS = 4096 * 4096
REDUCE_GAP = 4
STRIP_PIXELS = 1 << 22  # pixels per strip when shrinking a large image
# Modes whose channels may be box-averaged (Pillow premultiplies LA/RGBA by alpha first);
# palette indices and 1-bit cannot, and Pillow cannot reduce I;16.
REDUCIBLE_MODES = {"L", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "I", "F"}
COMMON_MODES = {"1", "L", "LA", "P", "PA", "RGB", "RGBA"}  # converted silently
# EXIF orientation -> the transposition that shows the image upright (PIL's ImageOps.exif_transpose table)
ORIENTATIONS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
                5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                8: Image.Transpose.ROTATE_90}


def read_rgb(path: Path, res: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode `path` to a (res, res, 3) uint8 RGB array; any problem is a UserError naming it.

    Returns (array, (width, height) of the image in the file, as shown: after its EXIF
    orientation), so a caller can report sizes.
    """
    path = Path(path)
    fix = "re-save it as PNG or remove it from the folder"
    try:
        if path.stat().st_size == 0:
            raise UserError(f"{path} is empty (0 bytes): re-export the image or remove the file")
        with warnings.catch_warnings():
            # Pillow warns between 1x and 2x MAX_IMAGE_PIXELS; _open_frame refuses those with a clearer message.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=FORMATS) as img:
                frame, size = _open_frame(path, img, res)
                return np.asarray(square_resize(to_rgb(frame), res), dtype=np.uint8), size
    except UserError:
        raise
    except Image.DecompressionBombError:
        raise UserError(f"{path}: the header claims more than {2 * MAX_PIXELS:,} pixels, a corrupt file or a "
                        f"decompression bomb; downscale it below {MAX_SIDE} x {MAX_SIDE} px or remove it") from None
    except Image.UnidentifiedImageError:
        raise UserError(f"{path}: cannot decode image (not a PNG, JPEG or GIF file, or its header is corrupt); "
                        f"{fix}") from None
    except PermissionError:
        raise UserError(f"{path}: permission denied; make the file readable or remove it") from None
    except MemoryError:
        raise UserError(f"{path}: not enough memory to decode it; downscale it or remove it") from None
    except Exception as err:  # noqa: BLE001 (Pillow raises many types on corrupt data, see module doc)
        reason = (str(err).splitlines() or [type(err).__name__])[0] or type(err).__name__
        raise UserError(f"{path}: cannot decode image ({reason}); {fix}") from None


def _open_frame(path: Path, img: Image.Image, res: int) -> tuple[Image.Image, tuple[int, int]]:
    """Check the header's size, pick the first frame, decode (shrunk if large), turn it upright;
    returns (a loaded image, the full image's (width, height) upright)."""
    w, h = img.size
    if w < 1 or h < 1 or w * h > MAX_PIXELS:
        raise UserError(f"{path}: the header claims {w} x {h} px, outside 1 to {MAX_PIXELS:,} pixels: a corrupt "
                        f"file or a decompression bomb; downscale it below {MAX_SIDE} x {MAX_SIDE} px or remove it")
    if getattr(img, "is_animated", False):
        log.info("%s is animated: using its first frame", path)  # n_frames would scan every frame
        img.seek(0)
    turn = _orientation(path, img)  # before draft/load: a JPEG's EXIF is in its header
    large = w * h > LARGE_PIXELS
    if large:
        img.draft(None, (REDUCE_GAP * res, REDUCE_GAP * res))  # JPEG: decode at 1/2..1/8 scale; others: no-op
    img.load()
    if img.mode not in COMMON_MODES:
        log.info("%s: converting mode %s to 8-bit RGB", path, img.mode)
    frame = _shrink(img, res) if large else img  # a centre square: turning it after shrinking is cheaper
    if turn is None:
        return frame, (w, h)
    swaps = turn in (Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90,
                     Image.Transpose.ROTATE_270)
    return frame.transpose(turn), ((h, w) if swaps else (w, h))


def _orientation(path: Path, img: Image.Image) -> Image.Transpose | None:
    """The transposition that the image's EXIF orientation asks for, or None."""
    try:
        orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception as err:  # noqa: BLE001 (a broken EXIF block must not cost a good image)
        log.info("%s: unreadable EXIF (%s), orientation ignored", path, type(err).__name__)
        return None
    return ORIENTATIONS.get(orientation) if isinstance(orientation, int) else None


def _shrink(img: Image.Image, res: int) -> Image.Image:
    """Centre square crop + integer box reduction to no less than REDUCE_GAP * res per side.

    Works in strips of whole reduction blocks, so besides the decoded image only one strip
    (and its mode conversion, premultiplication) exists at full resolution at a time.
    """
    w, h = img.size
    side = min(w, h)
    factor = side // (REDUCE_GAP * res)
    if factor < 2:
        return img
    left, top = (w - side) // 2, (h - side) // 2
    rows = factor * max(1, STRIP_PIXELS // (side * factor))
    strips = []
    for y in range(top, top + side, rows):
        strip = img.crop((left, y, left + side, min(y + rows, top + side)))
        if strip.mode not in REDUCIBLE_MODES:
            strip = to_rgb(strip)  # averaging palette indices would be wrong
        strips.append(strip.reduce(factor))
    out = Image.new(strips[0].mode, (strips[0].width, sum(s.height for s in strips)))
    for k, strip in enumerate(strips):
        out.paste(strip, (0, k * (rows // factor)))
    return out


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB (always a new image).

    Transparency (RGBA, LA, PA, P with a transparent colour, premultiplied RGBa/La) is
    composited over white. 16-bit grey (I;16*) is scaled by 255/65535; 32-bit "I" is taken
    as 8-bit when its maximum is <= 255, as 16-bit when <= 65535, else scaled by its maximum;
    float "F" is taken as [0, 1] when its maximum is <= 1, else scaled by its maximum; NaN
    and inf count as 0. (PIL's own convert("L") would clip instead of rescaling.) CMYK,
    YCbCr, HSV, LAB and 1-bit use PIL's conversions. 48-bit RGB and 64-bit RGBA PNGs arrive
    here already as 8-bit RGB/RGBA: Pillow decodes them so.
    """
    if img.mode.startswith("I") or img.mode == "F":
        arr = np.nan_to_num(np.asarray(img, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        top = float(arr.max()) if arr.size else 0.0
        if img.mode.startswith("I;16"):
            peak = 65535.0
        elif img.mode == "I":
            peak = 255.0 if top <= 255 else 65535.0 if top <= 65535 else top
        else:
            peak = 1.0 if top <= 1 else top
        img = Image.fromarray(np.clip(arr * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode in ("La", "RGBa"):  # premultiplied: Pillow converts La only to LA
        img = img.convert(img.mode[:-1] + "A")
    if img.mode in ("P", "PA"):
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def square_resize(img: Image.Image, res: int) -> Image.Image:
    """Centre-crop to a square, then resize to res x res with Lanczos."""
    w, h = img.size
    side = min(w, h)
    if w != h:
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if side != res:
        img = img.resize((res, res), Image.LANCZOS)
    return img

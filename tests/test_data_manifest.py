"""Shipped icon data matches ``data/MANIFEST.sha256`` and has the documented layout."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
MANIFEST = DATA / "MANIFEST.sha256"
ICONS100_RES = (24, 32, 48, 64, 128, 256)


def read_manifest() -> dict[str, str]:
    """Map repo-relative path -> sha256 hex digest, from ``sha256sum``-style lines."""
    entries = {}
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        digest, rel = line.split("  ", 1)
        entries[rel] = digest
    return entries


def test_manifest_checksums_match():
    entries = read_manifest()
    assert entries, "empty manifest"
    assert list(entries) == sorted(entries), "manifest not sorted by path"
    bad = [rel for rel, digest in entries.items()
           if not (REPO / rel).is_file()
           or hashlib.sha256((REPO / rel).read_bytes()).hexdigest() != digest]
    assert not bad, f"{len(bad)} missing or changed files, e.g. {bad[:5]}"


def test_no_unlisted_data_files():
    listed = set(read_manifest())
    on_disk = {p.relative_to(REPO).as_posix()
               for sub in ("icons100", "icons-large") for p in (DATA / sub).rglob("*")
               if p.is_file()}
    assert on_disk - listed == set(), f"unlisted files: {sorted(on_disk - listed)[:5]}"


@pytest.mark.parametrize("res", ICONS100_RES)
def test_icons100_resolution(res):
    names = (DATA / "icons100" / "names.txt").read_text(encoding="utf-8").split()
    assert len(names) == 100 and names == sorted(set(names))
    files = sorted(p.stem for p in (DATA / "icons100" / str(res)).glob("*.png"))
    assert files == names
    for name in names:
        with Image.open(DATA / "icons100" / str(res) / f"{name}.png") as img:
            assert img.size == (res, res) and img.mode == "RGB", name

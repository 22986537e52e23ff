"""Loader: modes, sizes, coordinate grids, held-out masks and bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from data.images import load_images
from data.pixels import heldout_mask, pixel_grid, to_images, to_pixels
from common.errors import UserError


def test_folder_loads_any_mode_and_size(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.new("RGBA", (40, 40), (255, 0, 0, 0)).save(folder / "a_transparent.png")   # -> white
    Image.new("L", (30, 50), 0).save(folder / "b_gray.png")                           # non-square -> crop
    Image.new("P", (20, 20), 3).save(folder / "c_palette.png")
    Image.new("RGB", (64, 64), (0, 0, 255)).save(folder / "d_rgb.jpg")
    Image.fromarray(np.full((16, 16), 65535, np.uint16)).save(folder / "e_16bit.png")  # -> white, not clipped
    (folder / "notes.txt").write_text("not an image")                                 # skipped, logged
    images = load_images(str(folder), 16)
    assert images.images.shape == (5, 3, 16, 16) and images.images.dtype == torch.float32
    assert images.names == ["a_transparent", "b_gray", "c_palette", "d_rgb", "e_16bit"]
    assert 0 <= images.images.min() and images.images.max() <= 1
    assert torch.allclose(images.images[0], torch.ones(3, 16, 16))
    assert torch.allclose(images.images[1], torch.zeros(3, 16, 16))
    assert images.images[3, 2].mean() > 0.9 and images.images[3, 0].mean() < 0.1
    assert torch.allclose(images.images[4], torch.ones(3, 16, 16))


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="contains no .png"):
        load_images(str(tmp_path), 16)


def test_truncated_png_names_the_file(shapes_dir):
    bad = shapes_dir / "shape00.png"
    bad.write_bytes(bad.read_bytes()[:60])
    with pytest.raises(UserError, match="shape00.png: cannot decode"):
        load_images(str(shapes_dir), 16)


def test_unknown_dataset_and_bad_resolution(shapes_dir):
    with pytest.raises(UserError, match="unknown data set"):
        load_images("no-such-set", 16)
    for res in (0, -3, 100_000):
        with pytest.raises(UserError, match="resolution"):
            load_images(str(shapes_dir), res)
    with pytest.raises(UserError, match="ships resolutions"):
        load_images("icons100", 40)


def test_grids_of_all_resolutions_share_one_domain():
    small, big = pixel_grid(48), pixel_grid(256)
    assert small.shape == (48 * 48, 2) and big.shape == (256 * 256, 2)
    # pixel centres: symmetric about 0, half a pixel inside the [-1, 1] square
    assert torch.allclose(small.min(0).values, torch.full((2,), -1 + 1 / 48))
    assert torch.allclose(big.max(0).values, torch.full((2,), 1 - 1 / 256))
    # row-major: x runs fastest, matching to_pixels
    assert small[1, 0] > small[0, 0] and small[1, 1] == small[0, 1]
    images = torch.rand(2, 3, 5, 5)
    assert torch.equal(to_images(to_pixels(images), 5), images)
    assert torch.equal(to_pixels(images)[0, 7], images[0, :, 1, 2])  # pixel 7 = row 1, col 2


def test_heldout_mask_is_fixed_and_ten_percent():
    a, b = heldout_mask(3, 48), heldout_mask(3, 48)
    assert torch.equal(a, b) and a.shape == (3, 1, 48, 48) and a.dtype == torch.bool
    assert (a.flatten(1).sum(1) == round(0.1 * 48 * 48)).all()
    assert not torch.equal(a[0], a[1])  # each image its own pixels


def test_icons100_loads_at_48_and_256():
    small, big = load_images("icons100", 48), load_images("icons100", 256)
    assert small.images.shape == (100, 3, 48, 48) and big.images.shape == (100, 3, 256, 256)
    assert small.names == big.names
    # rendered independently at each size, but the same icons: the Lanczos downsample matches
    from data.images import lanczos_resize
    err = (lanczos_resize(big.images, 48) - small.images).abs().mean()
    assert err < 0.05


def test_icons_large_splits_are_disjoint():
    train, test = load_images("icons-large", 48, "train"), load_images("icons-large", 48, "test")
    assert len(train) > 5 * len(test) > 0
    assert not set(train.names) & set(test.names)
    assert load_images("icons-large", 256, "test").names == test.names

"""The icons-large test split is unseen in substance: no near-duplicate of it is in training.

Training is icons100 plus icons-large train. Pixels: every test icon against every training
icon at 48 px, at the best of the eight symmetries of the square (mirrors and rotations), must
stay below ``PSNR_THRESHOLD_DB`` (``data.groups`` says why 25 dB). Names: no test name may share
a ``name_key`` (gender, colour, left/right and facing variants) with a training name.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data.groups import GROUP_RES, N_ICONS100, PSNR_THRESHOLD_DB, max_psnr, name_key, select, symmetries
from data.icons_large import load_icons_large_arrays

ICONS100 = Path(__file__).resolve().parents[1] / "data" / "icons100"


def training_and_test() -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    """uint8 (N, 48, 48, 3) training images (icons100 + icons-large train) and names, then test."""
    names100 = (ICONS100 / "names.txt").read_text(encoding="utf-8").split()
    images100 = np.stack([np.asarray(Image.open(ICONS100 / str(GROUP_RES) / f"{n}.png").convert("RGB"))
                          for n in names100])
    train, train_names = load_icons_large_arrays("train", GROUP_RES)
    test, test_names = load_icons_large_arrays("test", GROUP_RES)
    return np.concatenate([images100, train]), names100 + train_names, test, test_names


def test_no_test_icon_has_a_training_twin_in_pixels():
    train, train_names, test, test_names = training_and_test()
    assert len(test) >= 100, "the study scores the first 100 test icons"
    psnr = max_psnr(test, train)
    assert psnr.shape == (len(test), len(train)) and np.isfinite(psnr.min())
    i, j = np.nonzero(psnr >= PSNR_THRESHOLD_DB)
    pairs = sorted(zip(psnr[i, j].round(1).tolist(), (test_names[k] for k in i), (train_names[k] for k in j)),
                   reverse=True)
    assert not pairs, f"{len(pairs)} test/training pairs at >= {PSNR_THRESHOLD_DB} dB, e.g. {pairs[:5]}"


def test_no_test_name_shares_a_group_key_with_training():
    _, train_names, _, test_names = training_and_test()
    assert not set(train_names) & set(test_names)
    train_keys = {name_key(n): n for n in train_names}
    shared = [(n, train_keys[name_key(n)]) for n in test_names if name_key(n) in train_keys]
    assert not shared, f"{len(shared)} test names with a training sibling, e.g. {shared[:5]}"


@pytest.mark.parametrize("names", [
    ("person_running_default", "person_running_facing_right_default", "man_running_facing_right_default"),
    ("farmer_default", "man_farmer_default", "woman_farmer_default"),
    ("man_default", "woman_default", "person_default", "boy_default", "girl_default", "child_default"),
    ("old_man_default", "old_woman_default", "older_person_default"),
    ("men_holding_hands", "women_holding_hands", "people_holding_hands"),
    ("red_heart", "blue_heart", "light_blue_heart", "black_heart"),
    ("red_circle", "white_circle"), ("black_large_square", "white_large_square"),
    ("left_arrow", "right_arrow"), ("left_facing_fist_default", "right_facing_fist_default"),
    ("leftwards_hand_default", "rightwards_hand_default"),
])
def test_name_key_links_variants(names):
    assert len({name_key(n) for n in names}) == 1, [name_key(n) for n in names]


def test_name_key_keeps_different_icons_apart():
    distinct = ["police_car_light", "police_car", "light_bulb", "old_key", "key", "red_circle",
                "red_square", "man_cook_default", "man_dancing_default", "page_facing_up", "front_facing_baby_chick"]
    assert len({name_key(n) for n in distinct}) == len(distinct)


def test_max_psnr_sees_every_symmetry_and_is_exact():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    for sym in symmetries(images):
        psnr = max_psnr(np.ascontiguousarray(sym), images)
        assert np.isinf(np.diag(psnr)).all() and np.isfinite(psnr[~np.eye(3, dtype=bool)]).all()
    one_off = images.copy()
    one_off[0, 0, 0, 0] ^= 1  # one channel of one pixel off by 1: exactly 10 log10(255^2 * 192)
    assert max_psnr(one_off[:1], images[:1])[0, 0] == pytest.approx(10 * np.log10(255 ** 2 * 192), abs=1e-9)


def test_select_keeps_groups_on_one_side():
    rng = np.random.default_rng(3)
    names = [f"icon{i:04d}" for i in range(1000)]
    groups = [min(i, int(g)) for i, g in enumerate(rng.integers(0, 1000, 1000))]  # links to an earlier icon
    icons100, train, test = select(names, groups)
    plain = sorted(names[i] for i in np.random.default_rng(0).choice(1000, N_ICONS100, replace=False))
    assert icons100 == plain, "icons100 must not depend on the groups"
    assert sorted(icons100 + train + test) == names and test == sorted(test)
    side = {**{n: "train" for n in icons100 + train}, **{n: "test" for n in test}}
    by_group: dict[int, set[str]] = {}
    for name, group in zip(names, groups):
        by_group.setdefault(group, set()).add(side[name])
    assert all(len(sides) == 1 for sides in by_group.values())
    assert 0.08 * 900 <= len(test) <= round(0.1 * 900)

"""A folder of the user's own images: its held-back split, honest upsampling targets, EXIF
orientation, and the demo folder of the README. The bundled sets keep their behaviour."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from conftest import tiny_config, tiny_flags, write_shapes
from PIL import Image

import train_hyper
import upsample
from analysis.endpoints import training_set
from analysis.scoring.evaluate import Evaluator, psnr
from data.images import lanczos_resize, load_images
from data.pixels import heldout_mask
from data.split import holdback_rows, train_split, unseen_source
from train.registry import build_method
from tests.make_demo_folder import make_demo_folder
from train.checkpoint import load_checkpoint

RUN = ["--res", "12", "--steps", "2", "--minutes", "0", "--eval-every", "1000", "--image-every", "1000",
       "--device", "cpu", *tiny_flags("hyper")]


def sized_folder(folder, sizes: list[int]):
    """One PNG of random pixels per size (its side in px), named by its position; random, so
    that resampling loses something and a Lanczos round trip is not exact."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k, side in enumerate(sizes):
        Image.fromarray(rng.integers(0, 256, (side, side, 3), np.uint8)).save(folder / f"img{k:02d}.png")
    return folder


# --------------------------------------------------------------------------- the split

def test_split_is_deterministic_disjoint_and_independent_of_order():
    names = [f"photo_{k:03d}" for k in range(40)]
    held = holdback_rows(names)
    assert len(held) == 4 and held == holdback_rows(list(names))
    shuffled = names[::-1]
    assert {shuffled[k] for k in holdback_rows(shuffled)} == {names[k] for k in held}
    grown = names + ["photo_new"]  # one more image moves at most one image across
    assert len({names[k] for k in held} ^ {grown[k] for k in holdback_rows(grown)}) <= 2
    assert holdback_rows(names[:4]) == [] and len(holdback_rows(names[:5])) == 1 and len(holdback_rows(names[:15])) == 2


def test_folder_splits_are_disjoint_and_cover_the_folder(tmp_path):
    folder = write_shapes(tmp_path / "shapes", count=12)
    every, train, test = (load_images(str(folder), 8, split) for split in ("all", "train", "test"))
    assert not set(train.names) & set(test.names) and sorted(train.names + test.names) == every.names
    assert train.heldback == test.names and len(test) == 1
    assert torch.equal(every.images[[every.names.index(n) for n in test.names]], test.images)
    assert "held back as unseen images" in train.note and test.names[0] in train.note
    assert load_images(str(folder), 8).names == every.names  # a plain load is the whole folder


def test_which_images_are_unseen_and_trained_on(tmp_path):
    folder = str(write_shapes(tmp_path / "shapes", count=6))
    assert unseen_source(folder, "auto") == (folder, "test") and train_split(folder, "auto") == "train"
    assert unseen_source(folder, "") is None and train_split(folder, "") == "all"
    assert unseen_source(folder, "icons-large") == ("icons-large", "test") and train_split(folder, "icons-large") == "all"
    for bundled in ("icons100", "icons-large"):  # as before the split
        assert unseen_source(bundled, "auto") == ("icons-large", "test") and train_split(bundled, "auto") == "train"


def test_folder_run_scores_its_held_back_images_and_saves_them(tmp_path, caplog):
    folder = write_shapes(tmp_path / "shapes", count=8)
    held = load_images(str(folder), 12, "test").names
    with caplog.at_level(logging.INFO):
        metrics = train_hyper.main(["--data", str(folder), "--out", str(tmp_path / "run"), "--hr-res", "24", *RUN])
    assert f"1 of 8 images (10%, chosen by a seeded hash of their names) held back as unseen images" in caplog.text
    ckpt = load_checkpoint(tmp_path / "run" / "ckpt.pt")
    assert ckpt["heldback"] == held and not set(held) & set(ckpt["names"]) and len(ckpt["names"]) == 7
    assert training_set(ckpt)[0].names == ckpt["names"]  # the checkpoint rebuilds its training set
    for tag in ("psnr/unseen_images", "psnr/upsample_24", "psnr/unseen_upsample_24", "psnr/unseen_upsample_24_residual"):
        assert 0 < metrics[tag] < 60, tag
    # 2 steps read the icon badly: its own pixels put back are far closer to the truth
    assert metrics["psnr/unseen_upsample_24_residual"] > metrics["psnr/unseen_upsample_24"] + 3
    ckpt_path = str(tmp_path / "run" / "ckpt.pt")
    kept = upsample.main(["--ckpt", ckpt_path, "--res", "24", "--unseen", "1", "--residual",
                          "--out", str(tmp_path / "kept"), "--device", "cpu"])["unseen"]
    for label, tag in (("hyper", "unseen_upsample_24"), ("hyper + residual", "unseen_upsample_24_residual")):
        for metric in ("psnr", "flat_rmse"):  # the script and the trainer's evaluation agree
            assert kept[label][metric] == pytest.approx(metrics[f"{metric}/{tag}"], abs=1e-3), (label, metric)
    scored = upsample.main(["--ckpt", ckpt_path, "--res", "24", "--out", str(tmp_path / "up24"), "--device", "cpu"])
    assert set(scored["mean_psnr"]) == {"lanczos", "hyper"}
    shown = upsample.main(["--ckpt", ckpt_path, "--res", "32", "--out", str(tmp_path / "up32"), "--device", "cpu"])
    assert shown["mean_psnr"] == {} and not any("psnr_lanczos" in row for row in shown["icons"])  # 24 px files


def test_too_few_images_train_on_all_without_unseen_scores(tmp_path, caplog):
    folder = write_shapes(tmp_path / "shapes", count=4)
    with caplog.at_level(logging.INFO):
        metrics = train_hyper.main(["--data", str(folder), "--out", str(tmp_path / "run"), "--hr-res", "0", *RUN])
    assert "only 4 images, too few to hold any back as unseen images (5 needed): training on all of them" in caplog.text
    assert load_checkpoint(tmp_path / "run" / "ckpt.pt")["heldback"] == [] and metrics["images"] == 4
    assert not any(tag.startswith("psnr/unseen") for tag in metrics)


def test_evaluator_of_a_bundled_set_still_scores_icons_large():
    train = load_images("icons100", 48)
    ev = Evaluator(train, heldout_mask(len(train), 48), hr_res=0, data="icons100", unseen="auto", unseen_count=3)
    assert ev.unseen.source == "icons-large/test" and len(ev.unseen) == 3


# --------------------------------------------------------------------------- upsampling targets

def evaluate_folder(folder, hr_res: int):
    train = load_images(str(folder), 8, "train")
    ev = Evaluator(train, heldout_mask(len(train), 8), hr_res=hr_res, data=str(folder), unseen="auto")
    method = build_method(tiny_config("hyper", res=8), len(train))
    return train, ev, ev(method)[0]


def test_upsampling_is_scored_only_on_images_with_a_true_version(tmp_path, caplog):
    folder = sized_folder(tmp_path / "mixed", [32, 32, 32, 6, 6, 6, 6, 32, 32, 6, 6])
    with caplog.at_level(logging.INFO):
        train, ev, scores = evaluate_folder(folder, 16)
    big = [k for k, name in enumerate(train.names) if int(name[3:]) in (0, 1, 2, 7, 8)]
    assert ev.hr_rows.tolist() == big
    assert f"upsampling to 16 px scored on {len(big)} of {len(train)} training images" in caplog.text
    truth = load_images(str(folder), 16, "train").images[big]
    expected = psnr(lanczos_resize(train.images[big], 16), truth).mean().item()
    assert scores["psnr/lanczos_16"] == pytest.approx(expected) and scores["psnr/lanczos_16"] < 99


def test_a_folder_of_tiny_images_gets_no_upsampling_score(tmp_path, caplog):
    """The issue's case: 1 px images logged psnr/lanczos_256=100.00 (their own upscale as the truth)."""
    folder = sized_folder(tmp_path / "dots", [1] * 6)
    with caplog.at_level(logging.INFO):
        _, _, scores = evaluate_folder(folder, 256)
    assert not [tag for tag in scores if "256" in tag], scores
    assert "no upsampling evaluation: none of the 5 training images" in caplog.text
    assert "no true 256 px image to score against: pass --hr-res 1 or less" in caplog.text


# --------------------------------------------------------------------------- EXIF orientation

@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_exif_orientation_turns_the_image_upright(tmp_path, fmt):
    """Pixels stored 20 x 10, left half red, right half blue, as a camera writes them."""
    folder = tmp_path / fmt
    folder.mkdir()
    stored = np.zeros((10, 20, 3), np.uint8)
    stored[:, :10], stored[:, 10:] = (255, 0, 0), (0, 0, 255)
    for orientation in (1, 3, 6, 8):
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.fromarray(stored).save(folder / f"o{orientation}.{fmt.lower()}", fmt, exif=exif, quality=95)
    loaded = load_images(str(folder), 10)
    red = lambda img, rows, cols: img[0, rows, cols].mean() > 0.8 and img[2, rows, cols].mean() < 0.2  # noqa: E731
    o1, o3, o6, o8 = loaded.images
    assert red(o1, slice(None), slice(0, 3)) and red(o3, slice(None), slice(7, 10))  # as stored; upside down
    assert red(o6, slice(0, 3), slice(None)) and red(o8, slice(7, 10), slice(None))  # turned upright: red on top / bottom
    assert loaded.sizes == [(20, 10), (20, 10), (10, 20), (10, 20)]  # sizes as shown


# --------------------------------------------------------------------------- the README's demo folder

def test_demo_folder_is_deterministic_and_loads(tmp_path):
    make_demo_folder(tmp_path / "a", count=12)
    make_demo_folder(tmp_path / "b", count=12)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir()) and len(files) == 12
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    every = load_images(str(tmp_path / "a"), 16)
    assert len(every) == 12 and min(min(s) for s in every.sizes) < 64 <= max(min(s) for s in every.sizes)

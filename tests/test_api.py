"""The Python API (api/): load a checkpoint, encode any input, render at any size, interpolate in
every mode the method has, rank pairs; inputs read as training reads them; one-line errors."""
from __future__ import annotations

import logging

import pytest
import torch
from conftest import one_line_error, write_shapes
from PIL import Image
from tiny_runs import BAD_KINDS, ODD_KINDS, RES, train_tiny, write_file

import api
from analysis.endpoints import encode_images
from data.images import load_images
from common.errors import UserError

METHODS = ("modulated", "maml", "local")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return write_shapes(tmp_path_factory.mktemp("api") / "shapes", count=6)


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory, shapes):
    """name -> a tiny checkpoint trained on `shapes`, trained on first use."""
    root, made = tmp_path_factory.mktemp("api_runs"), {}

    def get(name: str):
        if name not in made:
            made[name] = train_tiny(name, shapes, root / name)
        return made[name]
    return get


@pytest.mark.parametrize("name", METHODS)
def test_load_encode_render_interpolate_rank(ckpts, shapes, name):
    model = api.load(ckpts(name), "cpu")
    assert model.kind == name and model.res == RES and "aligned" in model.modes and model.default_mode == "aligned"
    enc = model.encode(shapes)
    assert len(enc) == 6 and enc.images.shape == (6, 3, RES, RES) and enc.names[0] == "shape00"
    big = model.render(enc, 20)
    assert big.shape == (6, 3, 20, 20) and 0 <= big.min() and big.max() <= 1
    assert model.render(enc.rep).shape == (6, 3, RES, RES)  # a Rep renders too, at the training resolution
    file = shapes / "shape00.png"
    start = model.render(file, 16)[0]  # (3, 16, 16)
    for mode in model.modes:
        frames = model.interpolate(file, "shape01", 4, mode, size=16)
        assert frames.shape == (4, 3, 16, 16) and torch.isfinite(frames).all(), mode
        if mode != "aligned":  # aligned re-encodes its ends from the warped images: close, not equal
            assert torch.allclose(frames[0], start, atol=1e-4), mode
    times = model.interpolate(file, "shape01", [0.0, 0.25, 1.0], "pixel")
    assert times.shape == (3, 3, RES, RES)
    pairs = model.rank_pairs(enc)
    assert len(pairs) == 15 and [p.similarity for p in pairs] == sorted((p.similarity for p in pairs), reverse=True)
    assert {p.a for p in pairs} | {p.b for p in pairs} == set(enc.names)
    sim, measure = model.similarity(enc)
    assert sim.shape == (6, 6) and pairs[0].similarity == pytest.approx(float(sim[pairs[0].i, pairs[0].j]))
    assert measure in ("weights", "latent")
    assert model.rank_pairs(shapes, measure="pixel")[0].similarity > 0  # pixel PSNR, dB


def test_a_training_image_is_encoded_as_in_training(ckpts):
    """By name or index, through the pixels training showed the encoder, with its row: the scripts'
    encoding of a training image (analysis.endpoints.encode_images), bit for bit."""
    model = api.load(ckpts("modulated"), "cpu")
    images, observed = model.training.loaded()
    expected = encode_images(model.method, images, observed, [1, 4])
    for key in (["shape01", "shape04"], [1, 4], ["1", "-2"]):
        enc = model.encode(key)
        assert enc.inputs.rows == [1, 4] and enc.inputs.paths == [None, None]
        assert torch.equal(enc.rep.latent, expected.latent), key


def test_every_input_kind_reads_the_pixels_training_reads(ckpts, shapes):
    model = api.load(ckpts("maml"), "cpu")
    folder = load_images(str(shapes), RES)  # the training loader: (6, 3, 12, 12)
    file = shapes / "shape02.png"
    assert torch.equal(model.read(shapes).images, folder.images)
    for same in (str(file), file, Image.open(file), folder.images[2], folder.images[2:3]):
        assert torch.equal(model.read(same).images, folder.images[2:3]), type(same)
    bigger = load_images(str(shapes), 24).images[2]  # (3, 24, 24): resized as the file is
    assert torch.allclose(model.read(bigger).images, folder.images[2:3], atol=1 / 255)
    mixed = model.read([file, "shape00", str(shapes)])
    assert len(mixed) == 8 and mixed.rows == [None, 0] + [None] * 6 and mixed.paths[0] == file
    assert mixed.sizes[0] == (24, 24) and mixed.sizes[1] is None


@pytest.mark.parametrize("kind", ODD_KINDS)
def test_odd_files_are_read_as_training_reads_them(ckpts, tmp_path, kind, caplog):
    """Too small (upsampled, with a warning), transparent (on white), EXIF-rotated (upright)."""
    model = api.load(ckpts("modulated"), "cpu")
    file = write_file(tmp_path / kind, kind)
    with caplog.at_level(logging.WARNING):
        read = model.read(file)
    assert torch.equal(read.images, load_images(str(file.parent), RES).images)
    assert ("below 12 px" in caplog.text) == (kind == "small")
    if kind == "transparent":
        assert (read.images[0, :, 0, 0] == 1).all()  # the transparent corner is white
    if kind == "exif_rotated":
        assert read.sizes == [(32, 32)] and model.encode(file).images.shape == (1, 3, RES, RES)


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_files_are_one_line_errors_naming_them(ckpts, tmp_path, kind):
    model = api.load(ckpts("modulated"), "cpu")
    file = write_file(tmp_path, kind)
    for call in (model.encode, model.render, lambda f: model.interpolate(f, "shape00")):
        with pytest.raises(UserError, match=BAD_KINDS[kind].replace("(", r"\(").replace(")", r"\)")) as err:
            call(file)
        one_line_error(err, str(file))


@pytest.mark.parametrize("call,message", [
    (lambda m, s: m.encode("nosuch"), "no training image named 'nosuch'.*or the path of an image file"),
    (lambda m, s: m.encode("nosuch.png"), "nosuch.png not found"),
    (lambda m, s: m.encode(7), "out of range"),
    (lambda m, s: m.encode([]), "no images given"),
    (lambda m, s: m.encode(3.5), "cannot read an image from a float"),
    (lambda m, s: m.encode(torch.rand(4, 8, 8)), "must be float"),
    (lambda m, s: m.encode(torch.full((3, 8, 8), 255.0)), "outside"),
    (lambda m, s: m.interpolate(s, "shape00"), "holds 6 images"),
    (lambda m, s: m.interpolate("shape00", "shape01", 1), "at least 2 frames"),
    (lambda m, s: m.interpolate("shape00", "shape01", 3, "weights"), "does not apply"),
    (lambda m, s: m.interpolate("shape00", "shape01", 3, "morph"), "unknown interpolation mode"),
    (lambda m, s: m.render("shape00", 0), "resolution"),
    (lambda m, s: m.rank_pairs("shape00"), "at least two images"),
    (lambda m, s: m.rank_pairs(s, measure="weights"), "does not apply"),
])
def test_bad_arguments_are_one_line_errors(ckpts, shapes, call, message):
    model = api.load(ckpts("local"), "cpu")  # its representation holds a latent grid, no weights
    with pytest.raises(UserError, match=message) as err:
        call(model, shapes)
    one_line_error(err)


def test_a_code_table_encodes_its_training_images_only(ckpts, shapes):
    model = api.load(ckpts("hyper_table"), "cpu")
    assert model.render("shape03").shape == (1, 3, RES, RES)
    assert "aligned" not in model.modes and model.default_mode == "warp"
    with pytest.raises(UserError, match="cannot encode an image it was not trained on") as err:
        model.encode(shapes / "shape03.png")
    one_line_error(err, "shape03")
    with pytest.raises(UserError, match="checkpoint .* not found"):
        api.load(shapes / "nosuch.pt")

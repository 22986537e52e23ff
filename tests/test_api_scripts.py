"""upsample.py, interpolate.py and similarity.py on image files and folders (--input, --a/--b,
--images), beside training icons by name; bad files stop them with one line and exit code 2."""
from __future__ import annotations

import json

import pytest
import torch
from conftest import write_shapes
from test_bad_runs import exits_2_with_one_line
from tiny_runs import BAD_KINDS, ODD_KINDS, train_tiny, write_file

import interpolate
import similarity
import upsample


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(a tiny modulated checkpoint, the folder it was trained on, a folder of new images)."""
    root = tmp_path_factory.mktemp("api_scripts")
    shapes = write_shapes(root / "shapes", count=6)
    mine = write_shapes(root / "mine", count=4, seed=7)  # images the model never saw
    return train_tiny("modulated", shapes, root / "run"), shapes, mine


def test_upsample_takes_files_and_folders(run, tmp_path):
    ckpt, _, mine = run
    one = mine / "shape00.png"
    result = upsample.main(["--ckpt", str(ckpt), "--input", f"{one},{mine}", "--res", "16", "--out",
                            str(tmp_path / "up"), "--device", "cpu"])
    assert [r["name"] for r in result["icons"]] == ["shape00", "shape00", "shape01", "shape02", "shape03"]
    assert result["icons"][0]["path"] == str(one) and "psnr_modulated" in result["icons"][0]
    assert set(result["mean_psnr"]) == {"lanczos", "modulated"} and (tmp_path / "up" / "sheet.png").is_file()
    above = upsample.main(["--ckpt", str(ckpt), "--input", str(one), "--res", "32", "--out", str(tmp_path / "up32")])
    assert above["mean_psnr"] == {}  # a 24 px file has no true 32 px version: shown, not scored


def test_upsample_with_the_residual_reproduces_the_input(run, tmp_path):
    ckpt, _, mine = run  # a tiny checkpoint trained at 12 px; the files are 24 px
    kept = upsample.main(["--ckpt", str(ckpt), "--input", str(mine), "--res", "12", "--residual",
                          "--out", str(tmp_path / "up"), "--device", "cpu"])
    assert set(kept["mean_psnr"]) == {"lanczos", "modulated", "modulated + residual"}
    assert kept["mean_psnr"]["modulated + residual"] > 60  # at its own resolution the input comes back exactly
    assert kept["mean_psnr"]["modulated + residual"] > kept["mean_psnr"]["modulated"] + 10
    import api
    from common.errors import UserError
    with pytest.raises(UserError, match="needs the images"):
        api.load(ckpt).render(api.load(ckpt).encode(mine).rep, 16, residual=True)


def test_interpolate_with_the_residual_ends_on_the_files(run, tmp_path):
    ckpt, _, mine = run
    import api
    model = api.load(ckpt)
    a, b = mine / "shape00.png", mine / "shape03.png"
    frames = model.interpolate(a, b, 3, "aligned_residual")  # (3, 3, res, res)
    ends = model.read([a, b]).images  # (2, 3, res, res): the images the encoder reads
    assert torch.allclose(frames[0], ends[0].clamp(0, 1), atol=1e-4) and torch.allclose(frames[-1], ends[1], atol=1e-4)
    plain = model.interpolate(a, b, 3, "aligned")
    assert not torch.allclose(plain[0], ends[0], atol=1e-2)  # the tiny model's own reading is not the file


def test_interpolate_takes_two_files(run, tmp_path):
    ckpt, _, mine = run
    out = tmp_path / "interp"
    result = interpolate.main(["--ckpt", str(ckpt), "--a", str(mine / "shape00.png"), "--b", str(mine / "shape03.png"),
                               "--frames", "4", "--res", "16", "--out", str(out), "--device", "cpu"])
    pair = result["pairs"][0]
    assert pair["a"] == {"index": None, "name": "shape00", "path": str(mine / "shape00.png")}
    assert list(pair["modes"]) == ["latent", "weights", "warp", "aligned", "pixel"]  # modulated's
    for mode in pair["modes"]:
        assert (out / f"strip_{mode}.png").is_file() and (out / f"{mode}.gif").is_file()
    mixed = interpolate.main(["--ckpt", str(ckpt), "--a", str(mine / "shape01.png"), "--b", "shape02", "--frames", "3",
                              "--res", "12", "--modes", "pixel", "--pixel-source", "truth",
                              "--out", str(tmp_path / "m")])
    assert mixed["pairs"][0]["b"] == {"index": 2, "name": "shape02"}


def test_similarity_of_a_folder_feeds_interpolate(run, tmp_path):
    ckpt, _, mine = run
    result = similarity.main(["--ckpt", str(ckpt), "--images", str(mine), "--pairs", "2", "--correlate", "5",
                              "--out", str(tmp_path / "sim"), "--device", "cpu"])
    assert len(result["pairs"]) == 2 and all(p["a"]["path"].startswith(str(mine)) for p in result["pairs"])
    for name in ("pairs.json", "pairs.png", "similarity_latent.png", "pixel_psnr.png"):
        assert (tmp_path / "sim" / name).is_file(), name
    saved = json.loads((tmp_path / "sim" / "pairs.json").read_text())
    assert saved["images"] == str(mine)
    many = interpolate.main(["--ckpt", str(ckpt), "--pairs", str(tmp_path / "sim" / "pairs.json"), "--frames", "3",
                             "--res", "12", "--modes", "latent,pixel", "--out", str(tmp_path / "many")])
    assert [p["a"]["path"] for p in many["pairs"]] == [p["a"]["path"] for p in saved["pairs"]]


def test_aligned_similarity_sees_through_a_shift_and_picks_only_measured_pairs(run, tmp_path):
    """An icon and its shifted copy: once the warp lines them up they encode alike (cosine near 1),
    more alike than the plain cosine says. --measure aligned scores the aligned path and chooses
    among the pairs it measured."""
    import torch

    import api
    from analysis.interpolation.similarity import aligned_similarity, rep_similarities
    from analysis.interpolation.warp_fit import fit_warp
    from models.method import Rep

    ckpt, _, mine = run
    model = api.load(ckpt, "cpu")
    image = model.read(mine / "shape01.png").images[0]  # (3, r, r)
    shifted = torch.roll(image, shifts=2, dims=-1)  # the same shape two pixels to the right (a white margin wraps)
    enc = model.encode([mine / "shape00.png", mine / "shape02.png", mine / "shape03.png"])
    both = model.encode(torch.stack([image, shifted]))
    plain = float(rep_similarities(Rep.cat([enc.rep, both.rep]))["weights"][3, 4])
    aligned = aligned_similarity(model.method, image, shifted, fit_warp(image, shifted), "weights", enc.rep)
    assert aligned > 0.9 and aligned > plain
    out = tmp_path / "aligned"
    result = similarity.main(["--ckpt", str(ckpt), "--images", str(mine), "--measure", "aligned", "--pairs", "2",
                              "--correlate", "4", "--out", str(out), "--device", "cpu"])
    assert result["measure"] == "aligned" and result["blend_scored"] == "aligned" and result["correlated_pairs"] == 4
    from analysis.interpolation.pair_choice import sample_pairs
    measured = {tuple(p) for p in sample_pairs(4, 4, seed=0)}
    assert all((p["a"]["index"], p["b"]["index"]) in measured for p in result["pairs"])


def test_similarity_of_identical_images_is_a_result_not_a_crash(run, tmp_path):
    """A file given twice (or only copies) has +inf pixel PSNR: the heatmap stays finite and
    pairs.json stays strict JSON (null for inf)."""
    ckpt, _, mine = run
    one = mine / "shape00.png"
    for images in (f"{one},{one}", f"{one},{one},{mine / 'shape01.png'}"):
        out = tmp_path / f"sim{images.count(',')}"
        result = similarity.main(["--ckpt", str(ckpt), "--images", images, "--correlate", "3", "--out", str(out)])
        assert result["pairs"] and (out / "pixel_psnr.png").is_file()
        saved = json.loads((out / "pairs.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
        assert all(p["pixel_psnr"] is None or p["pixel_psnr"] < 1e9 for p in saved["pairs"])


def script_args(script, ckpt, file, out) -> list[str]:
    """Each script's flags that read `file` as the image to work on."""
    if script is upsample:
        return ["--ckpt", str(ckpt), "--input", str(file), "--res", "16", "--out", str(out)]
    if script is interpolate:
        return ["--ckpt", str(ckpt), "--a", str(file), "--b", "shape01", "--frames", "3", "--res", "12",
                "--out", str(out)]
    other = write_file(file.parent / "other", "transparent" if "transparent" not in file.name else "small")
    return ["--ckpt", str(ckpt), "--images", f"{file},{other}", "--correlate", "3", "--out", str(out)]


@pytest.mark.parametrize("script", [upsample, interpolate, similarity], ids=lambda s: s.__name__)
@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_files_stop_each_script_with_one_line(run, tmp_path, capsys, script, kind):
    file = write_file(tmp_path / "in", kind)
    line = exits_2_with_one_line(capsys, script.main, script_args(script, run[0], file, tmp_path / "out"))
    assert str(file) in line and BAD_KINDS[kind] in line, line


@pytest.mark.parametrize("script", [upsample, interpolate, similarity], ids=lambda s: s.__name__)
@pytest.mark.parametrize("kind", ODD_KINDS)
def test_odd_files_run_as_in_training(run, tmp_path, script, kind):
    """Small, transparent and EXIF-rotated files are read (upsampled, on white, upright), not refused."""
    file = write_file(tmp_path / "in", kind)
    script.main(script_args(script, run[0], file, tmp_path / "out"))


@pytest.mark.parametrize("flags,message", [
    (["--input", "x.png", "--icons", "0"], "pass one of them"),
    (["--input", "nosuch/"], "not found"),
])
def test_upsample_input_errors(run, tmp_path, capsys, flags, message):
    line = exits_2_with_one_line(capsys, upsample.main, ["--ckpt", str(run[0]), *flags, "--out", str(tmp_path / "o")])
    assert message in line


def test_interpolate_refuses_a_folder_or_one_file_twice(run, tmp_path, capsys):
    ckpt, shapes, mine = run
    line = exits_2_with_one_line(capsys, interpolate.main, ["--ckpt", str(ckpt), "--a", str(mine), "--b", "0",
                                                            "--out", str(tmp_path / "o")])
    assert "--a holds 4 images" in line
    line = exits_2_with_one_line(capsys, interpolate.main, ["--ckpt", str(ckpt), "--a", str(mine / "shape00.png"),
                                                            "--b", str(mine / "." / "shape00.png"),
                                                            "--out", str(tmp_path / "o")])
    assert "same image" in line


def test_similarity_pools_draws_and_states_rho_with_its_interval(run, tmp_path):
    """--pool compares only the first N training images, --seed draws other random pairs, and pairs.json
    holds rho with its 95% interval; --steps makes every encode adapt (modulated's latent steps)."""
    ckpt, _, _ = run
    common = ["--ckpt", str(ckpt), "--pool", "5", "--pairs", "2", "--correlate", "6", "--device", "cpu"]
    a = similarity.main([*common, "--out", str(tmp_path / "a")])
    b = similarity.main([*common, "--seed", "1", "--steps", "2", "--out", str(tmp_path / "b")])
    saved = json.loads((tmp_path / "a" / "pairs.json").read_text())
    low, high = saved["spearman_ci95"]
    assert low <= saved["spearman"] <= high and saved["correlated_pairs"] == 6 and len(saved["order"]) == 5
    assert a["seed"] == 0 and b["seed"] == 1
    with pytest.raises(SystemExit) as done:
        from common.cli import run_main
        run_main(similarity.main, [*common, "--images", "x.png", "--unseen", "3", "--out", str(tmp_path / "c")])
    assert done.value.code == 2


def test_sample_writes_a_sheet_a_walk_and_each_samples_nearest_icon(run, tmp_path):
    """sample.py with a prior beside the checkpoint (untrained here): the same seed, the same icons."""
    import torch

    import sample
    from models.prior import GridFlow
    from train.prior import prior_path

    ckpt, _, _ = run
    cfg = torch.load(ckpt, weights_only=True)["config"]
    torch.manual_seed(0)
    flow = GridFlow(cfg["grid_channels"], cfg["grid"], width=8)
    torch.nn.init.normal_(flow.head[-1].weight, std=0.1)  # a prior that moves the noise: samples differ by seed
    torch.save({"kind": "grid_flow", "shape": [flow.channels, flow.grid, flow.width], "model": flow.state_dict()},
               prior_path(ckpt))
    common = ["--ckpt", str(ckpt), "--n", "5", "--walk", "2", "--walk-frames", "2", "--device", "cpu"]
    first = sample.main([*common, "--out", str(tmp_path / "a")])
    again = sample.main([*common, "--out", str(tmp_path / "b")])
    other = sample.main([*common, "--seed", "1", "--out", str(tmp_path / "c")])
    assert len(first["samples"]) == 5 and all(r["nearest"] for r in first["samples"])
    assert first["samples"] == again["samples"] and first["samples"] != other["samples"]
    for name in ("samples.png", "walk.gif", "samples.json"):
        assert (tmp_path / "a" / name).is_file(), name
    prior_path(ckpt).unlink()
    with pytest.raises(Exception, match="no prior at"):
        sample.main([*common, "--out", str(tmp_path / "d")])

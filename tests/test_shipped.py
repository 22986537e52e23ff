"""The checkpoints shipped in checkpoints/ load and score what checkpoints/manifest.json records.

Nothing is skipped: every listed file must exist and match, and every checkpoint file there must
be listed. With an empty manifest the consistency test still runs, and the check itself is
exercised on a tiny checkpoint (recorded, re-measured, refused when the record is wrong)."""
from __future__ import annotations

import json

import pytest
from conftest import one_line_error, write_shapes
from tiny_runs import RES, train_tiny

from api.shipped import FOLDER, MANIFEST, main, read_manifest, verify
from common.errors import UserError

ENTRIES = read_manifest()


# An empty list would make pytest skip the test ("empty parameter set"); None stands for "none listed",
# which test_manifest_and_folder_agree then holds to: no checkpoint file lies there unlisted.
@pytest.mark.parametrize("entry", ENTRIES or [None], ids=[e["file"] for e in ENTRIES] or ["none-listed"])
def test_shipped_checkpoint_scores_what_it_records(entry):
    if entry is None:
        assert not list(FOLDER.glob("*.pt"))
        return
    verify(entry)


def test_manifest_and_folder_agree():
    listed = {e["file"] for e in ENTRIES}
    present = {p.name for p in FOLDER.glob("*.pt")}
    assert MANIFEST.is_file() and (FOLDER / "README.md").is_file()
    assert present <= listed, f"checkpoints/ holds files the manifest does not list: {sorted(present - listed)}"
    assert listed <= present, f"the manifest lists missing files: {sorted(listed - present)}"


def test_the_check_measures_records_and_refuses(tmp_path, capsys):
    shapes = write_shapes(tmp_path / "shapes", count=6)
    train_tiny("modulated", shapes, tmp_path / "run")
    (tmp_path / "run" / "ckpt.pt").rename(tmp_path / "tiny.pt")
    check = main([str(tmp_path / "tiny.pt"), "--data", str(shapes), "--split", "all", "--count", "3", "--res", "16"])
    assert json.loads(capsys.readouterr().out)["check"] == check and check["res"] == 16 and check["count"] == 3
    entry = {"file": "tiny.pt", "command": "train_tiny", "scores": {}, "check": check}
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"checkpoints": [entry]}))
    assert read_manifest(manifest) == [entry]
    assert verify(entry, tmp_path) == pytest.approx(check["psnr"], abs=0.001)
    with pytest.raises(UserError, match="its manifest records") as err:
        verify({**entry, "check": {**check, "psnr": check["psnr"] + 1}}, tmp_path)
    one_line_error(err, "tiny.pt")
    with pytest.raises(UserError, match="listed in the manifest but missing"):
        verify({**entry, "file": "gone.pt"}, tmp_path)
    manifest.write_text(json.dumps({"checkpoints": [{**entry, "check": {"data": "x"}}]}))
    with pytest.raises(UserError, match="entry 0 lacks or mistypes check.split"):
        read_manifest(manifest)
    assert RES < check["res"]  # scored above the training resolution: the continuous image


def test_ship_drops_the_optimizer_and_keeps_the_score(tmp_path, capsys):
    shapes = write_shapes(tmp_path / "shapes", count=6)
    train_tiny("modulated", shapes, tmp_path / "run")
    args = ["--data", str(shapes), "--split", "all", "--count", "3", "--res", "16"]
    full = main([str(tmp_path / "run" / "ckpt.pt"), *args])
    shipped = main([str(tmp_path / "run" / "ckpt.pt"), *args, "--ship", str(tmp_path / "small.pt")])
    assert shipped == full  # the same weights: the same score
    assert (tmp_path / "small.pt").stat().st_size < 0.6 * (tmp_path / "run" / "ckpt.pt").stat().st_size
    with pytest.raises(UserError, match="exists"):
        main([str(tmp_path / "run" / "ckpt.pt"), *args, "--ship", str(tmp_path / "small.pt")])


def test_a_prior_entry_is_measured_by_its_samples(tmp_path, capsys):
    """A prior (train_prior.py's file) is checked by the PSNR of its seeded samples against their nearest
    training icons: recorded by --prior-of, re-measured by verify, refused when the record is wrong."""
    import torch

    from models.prior import GridFlow

    shapes = write_shapes(tmp_path / "shapes", count=6)
    train_tiny("modulated", shapes, tmp_path / "run")
    (tmp_path / "run" / "ckpt.pt").rename(tmp_path / "tiny.pt")
    cfg = torch.load(tmp_path / "tiny.pt", weights_only=True)["config"]
    flow = GridFlow(cfg["grid_channels"], cfg["grid"], width=8)
    torch.save({"kind": "grid_flow", "shape": [flow.channels, flow.grid, flow.width], "model": flow.state_dict()},
               tmp_path / "tiny_prior.pt")
    check = main([str(tmp_path / "tiny_prior.pt"), "--prior-of", str(tmp_path / "tiny.pt"), "--count", "3", "--res", "16"])
    assert check["of"] == "tiny.pt" and check["count"] == 3 and 0 < check["psnr"] < 60
    entry = {"file": "tiny_prior.pt", "command": "a test", "scores": {}, "check": check}
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"checkpoints": [entry]}))
    assert read_manifest(manifest) == [entry]
    assert verify(entry, tmp_path) == pytest.approx(check["psnr"], abs=0.001)
    with pytest.raises(UserError, match="its manifest records"):
        verify({**entry, "check": {**check, "psnr": check["psnr"] + 1}}, tmp_path)

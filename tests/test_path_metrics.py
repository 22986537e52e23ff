"""Path metrics for real pairs: unit checks, and the calibration that they can fail: on true
morphs of known-midpoint cases, every ranking metric must put the truth above every degenerate
path (blank, mean, cross-fade, blurred and noisy cross-fades, hold-then-jump)."""
from __future__ import annotations

import math

import pytest
import torch

from analysis.interpolation.calibrate_paths import calibrate, retimed_crossfade
from analysis.scoring.degenerate_paths import DEGENERATE, degenerate_path, degenerate_paths
from analysis.scoring.path_metrics import ENERGY_FLOOR, band_energy_error, morph_error, path_length, path_metrics, pdv
from data.transforms import gaussian_blur
from data.images import load_images

TS = [k / 8 for k in range(9)]  # 9 frames: 8 steps
GEOMETRIC = ("translate", "scale", "rotate", "combo")
RANKING = ("morph_error", "pdv")  # lower is better; each must beat every degenerate on every case


def disc(cx: float, res: int = 48, r: float = 8.0) -> torch.Tensor:
    """A blue disc at (cx, res/2) on white, antialiased by 4x supersampling: (3, res, res)."""
    yy, xx = torch.meshgrid(torch.arange(4 * res).float() / 4, torch.arange(4 * res).float() / 4, indexing="ij")
    inside = (((xx - cx) ** 2 + (yy - res / 2) ** 2) < r * r).float()[None, None]
    inside = torch.nn.functional.avg_pool2d(inside, 4)[0]  # (1, res, res)
    return 1 - inside * (1 - torch.tensor([0.2, 0.3, 0.8])[:, None, None])


@pytest.fixture(scope="module")
def calibration():
    """12 geometric cases (3 per kind, seed 0, icons100 at 48 px, 9 frames):
    [{path name: path_metrics dict}] per case, the truth and every degenerate path."""
    icons = load_images("icons100", 256)
    rows = calibrate(icons.images, res=48, frames=len(TS), count=3, seed=0, kinds=GEOMETRIC, timing=False)
    return [{name: ms[k] for name, ms in paths.items()} for paths in rows.values() for k in range(3)]


def test_pdv_is_zero_for_even_motion_and_maximal_for_a_jump():
    move = torch.stack([disc(12 + 24 * t) for t in TS])  # constant speed
    hold = torch.stack([disc(12)] * 4 + [disc(36)] * 5)
    assert pdv(move) < 0.05
    assert pdv(hold) == pytest.approx(math.sqrt(len(TS) - 2), rel=1e-6)  # one step of 8
    assert pdv(torch.stack([disc(12)] * 9)) == 0.0  # nothing moves: nothing uneven
    assert path_length(hold) == pytest.approx(1.0, abs=1e-6) and path_length(move) > 1


def test_band_energy_error_is_zero_for_sharp_frames_and_floored_for_blank():
    move = torch.stack([disc(12 + 24 * t) for t in TS])
    assert band_energy_error(move, TS) < 0.05  # a moving disc keeps its detail at every scale
    blank = move.clone()
    blank[1:-1] = 1
    assert band_energy_error(blank, TS) == pytest.approx(math.log(1 / ENERGY_FLOOR), rel=1e-6)
    blurred = torch.cat([move[:1], gaussian_blur(move[1:-1], 1.5), move[-1:]])
    assert band_energy_error(blurred, TS) > 0.5
    assert morph_error(move, TS) == pytest.approx(pdv(move) + band_energy_error(move, TS))


def test_path_metrics_dict_and_bad_input():
    frames = torch.stack([disc(12 + 24 * t) for t in TS])
    m = path_metrics(frames, TS)
    assert set(m) == {"morph_error", "pdv", "band_energy_error", "path_length", "steps"} and len(m["steps"]) == 8
    with pytest.raises(ValueError, match="3 frames"):
        path_metrics(frames[:2], TS[:2])
    with pytest.raises(ValueError, match="unknown degenerate"):
        degenerate_path("nosuch", frames[0], frames[-1], TS)


def test_degenerate_paths_keep_the_endpoints():
    a, b = disc(12), disc(36)
    for name, frames in degenerate_paths(a, b, TS, torch.full((3, 48, 48), 0.8)).items():
        assert frames.shape == (9, 3, 48, 48), name
        assert torch.allclose(frames[0], a) and torch.allclose(frames[-1], b), name


def test_ranking_metrics_put_the_true_morph_above_every_degenerate_path_on_every_case(calibration):
    assert len(calibration) == 12
    for k, m in enumerate(calibration):
        for name in DEGENERATE:
            for metric in RANKING:
                assert m["truth"][metric] < m[name][metric], (k, name, metric, m["truth"][metric])


def test_band_energy_error_catches_every_degenerate_frame_but_not_hold(calibration):
    """Per case: blank, mean, cross-fade, blur and noise frames all lose detail or gain grain.
    Hold-then-jump shows the endpoints themselves, as detailed as can be: band energy alone
    cannot see it, which is why it only ranks inside morph_error (with pdv)."""
    for k, m in enumerate(calibration):
        for name in ("blank", "mean", "crossfade", "blur", "noise"):
            assert m["truth"]["band_energy_error"] < m[name]["band_energy_error"], (k, name)
    assert min(m["hold"]["band_energy_error"] for m in calibration) < \
        max(m["truth"]["band_energy_error"] for m in calibration)


def test_path_length_is_a_diagnostic_not_a_ranking(calibration):
    """Why path length is not lower-is-better: hold is exactly 1, the cross-fade near the
    straight line, a true morph long (a moved shape is far from its old place)."""
    for m in calibration:
        assert m["hold"]["path_length"] == pytest.approx(1.0, abs=1e-5)
        assert m["crossfade"]["path_length"] < m["truth"]["path_length"]


def test_a_retimed_crossfade_is_even_but_still_loses_on_morph_error():
    """pdv alone is fooled by re-timing (why morph_error adds the frames' band energy)."""
    a, b = disc(12), disc(36)
    move = torch.stack([disc(12 + 24 * t) for t in TS])
    even = retimed_crossfade(a, b, len(TS), grid=65)  # (9, 3, 48, 48)
    plain = torch.lerp(a[None], b[None], torch.tensor(TS)[:, None, None, None])
    assert torch.equal(even[0], a) and torch.equal(even[-1], b)
    assert pdv(even) < 0.5 * pdv(plain)
    assert morph_error(move, TS) < morph_error(even, TS)

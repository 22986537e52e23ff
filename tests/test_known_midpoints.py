"""The known-midpoint benchmark: transforms, truth frames, references, the scorer, SSIM."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from analysis.interpolation import known_midpoints as km
from analysis.scoring.degenerate_paths import DEGENERATE, degenerate_path
from analysis.scoring.ssim import gaussian_window, ms_ssim, ssim, ssim_distance
from data.transforms import State, hsv_to_rgb, hue_rotate, reduce, rgb_to_hsv, warp
from data.images import load_images

GEOMETRIC = ("translate", "scale", "rotate", "combo")


@pytest.fixture(scope="module")
def icons():
    return load_images("icons100", 256)


@pytest.fixture(scope="module")
def cases(icons):
    return km.build_benchmark(icons.images, res=48, count_per_kind=2, seed=0, names=icons.names)


@pytest.fixture(scope="module")
def mean(icons):
    return km.mean_image(icons.images, 48)


def test_ssim_matches_a_direct_computation_and_its_properties():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(3, 16, 16, generator=gen), torch.rand(3, 16, 16, generator=gen)
    w = np.outer(*[gaussian_window().numpy()] * 2)  # (11, 11)
    c1, c2, vals = 0.01 ** 2, 0.03 ** 2, []
    for c in range(3):  # every valid window position, written out
        for i in range(6):
            for j in range(6):
                a, b = x[c, i:i + 11, j:j + 11].double().numpy(), y[c, i:i + 11, j:j + 11].double().numpy()
                ma, mb = (w * a).sum(), (w * b).sum()
                va, vb, cov = (w * a * a).sum() - ma ** 2, (w * b * b).sum() - mb ** 2, (w * a * b).sum() - ma * mb
                vals.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    assert float(ssim(x, y)) == pytest.approx(np.mean(vals), abs=1e-5)
    assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-6) and float(ssim_distance(x, x)) < 1e-3
    assert ssim(x[None, None], torch.stack([x, y])[None]).shape == (1, 2)  # broadcasts (frames x set)
    big = torch.rand(2, 3, 48, 48, generator=gen)
    assert torch.allclose(ms_ssim(big, big), torch.ones(2), atol=1e-5) and float(ms_ssim(big[0], big[1])) < 0.5


def test_transforms_identity_hue_and_white_fill(icons):
    x = icons.images[:3]
    assert torch.allclose(warp(x, State()), x, atol=1e-4)  # identity samples pixel centres
    assert torch.allclose(hsv_to_rgb(rgb_to_hsv(x)), x, atol=1e-5)
    assert torch.allclose(hue_rotate(x, 360.0), x, atol=1e-4)
    grey = torch.linspace(0, 1, 16).expand(3, 4, 16)  # greys have no hue
    assert torch.allclose(hue_rotate(grey, 123.0), grey, atol=1e-6)
    red = torch.tensor([1.0, 0, 0])[:, None, None].expand(3, 2, 2)
    assert torch.allclose(hue_rotate(red, 120.0), torch.tensor([0, 1.0, 0])[:, None, None].expand(3, 2, 2), atol=1e-5)
    moved = warp(x, State(dx=0.5))  # half a width to the right: the left half is revealed, white
    assert torch.all(moved[..., :120] > 0.999)
    shifted = warp(x, State(dx=0.125, dy=-0.0625))  # 32 px right, 16 px up, exactly
    assert torch.allclose(shifted[..., :-16, 32:], x[..., 16:, :-32], atol=1e-4)
    turned = warp(x, State(angle=90))  # a quarter turn clockwise on screen, exactly
    assert torch.allclose(turned, torch.rot90(x, -1, dims=(-2, -1)), atol=1e-4)


def test_truth_starts_and_ends_at_the_endpoints(cases):
    assert [c.kind for c in cases] == [k for k in km.KINDS for _ in range(2)]
    for c in cases:
        ends = c.frames([0.0, 1.0])  # (2, 3, 48, 48)
        assert torch.allclose(ends[0], c.start, atol=1e-6) and torch.allclose(ends[1], c.end, atol=1e-6)
        assert torch.allclose(c.frames(c.ts), c.truth, atol=1e-6)
        assert c.truth.shape == (3, 3, 48, 48) and c.start.shape == (3, 48, 48)
        assert km.psnr(c.start, c.end) < km.VISIBLE_DB  # a visible change
        if c.kind != "hue":  # every geometric change moves pixels, the identity would not
            assert State(**c.params["from"]) != State(**c.params["to"])


def test_benchmark_is_seeded_and_magnitudes_are_in_range(icons, cases):
    again = km.build_benchmark(icons.images, res=48, count_per_kind=2, seed=0)
    assert all(torch.equal(a.truth, b.truth) and a.params == b.params for a, b in zip(cases, again))
    other = km.build_benchmark(icons.images, res=48, count_per_kind=2, seed=1)
    assert [c.index for c in other] != [c.index for c in cases]
    for c in cases:
        p0, p1 = State(**c.params["from"]), State(**c.params["to"])
        shift = ((p1.dx - p0.dx) ** 2 + (p1.dy - p0.dy) ** 2) ** 0.5
        assert shift <= 0.30 + 1e-6 and 0.6 <= min(p0.scale, p1.scale) and abs(p1.angle - p0.angle) <= 45 + 1e-6
        assert abs(p1.hue - p0.hue) <= 180 + 1e-6


def test_references_and_scores(cases, mean):
    c = cases[0]
    fade = km.reference_frames(c, "pixel/crossfade")
    assert torch.allclose(fade[1], (c.start + c.end) / 2, atol=1e-6)
    hold = km.reference_frames(c, "hold/nearest")
    assert torch.equal(hold[0], c.start) and torch.equal(hold[1], c.end) and torch.equal(hold[2], c.end)
    assert torch.equal(km.reference_frames(c, "mean/constant", mean)[2], mean)
    perfect = km.score_frames(c.truth, c.truth)
    assert perfect == {"frame_psnr": km.PSNR_CAP_DB, "ssim": pytest.approx(1.0, abs=1e-6)}
    summary = km.evaluate_references(cases, mean)
    assert set(summary) == set(km.REFERENCES)
    row = summary["pixel/crossfade"]
    assert set(row) == {*km.KINDS, "all", "cases"} and row["all"]["ssim"]["n"] == len(cases)
    assert set(row["translate"]["frame_psnr"]) == {"mean", "std", "ci95", "n"}
    assert "| pixel/crossfade | all |" in km.table(summary)


def test_score_ranks_the_truth_and_a_near_truth_above_every_degenerate(cases, mean):
    """Per case, every kind: the truth scores best on both scores. Per case, geometric kinds:
    a slightly mistimed truth (frames at t + 0.04, ~1 px off at 48 px) still beats every
    degenerate path, so the score rewards being close, not only being exact."""
    for c in cases:
        ts = (0.0, *c.ts, 1.0)
        near = c.frames([t + 0.04 for t in c.ts])
        truth_score, near_score = km.score_frames(c.truth, c.truth), km.score_frames(near, c.truth)
        for name in DEGENERATE:
            bad = km.score_frames(degenerate_path(name, c.start, c.end, ts, mean)[1:-1], c.truth)
            for metric in ("frame_psnr", "ssim"):
                assert truth_score[metric] > bad[metric], (c.kind, name, metric)
                if c.kind in GEOMETRIC:
                    assert near_score[metric] > bad[metric], (c.kind, c.name, name, metric, near_score, bad)


def test_demo_prints_the_reference_table(capsys):
    results = km.main(["--res", "24", "--count", "1"])
    out = capsys.readouterr().out
    assert "| hold/nearest | hue | 1 |" in out and set(results) == set(km.REFERENCES)


def test_reduce_is_the_one_reduction(icons):
    x = icons.images[:2]
    assert reduce(x, 48).shape == (2, 3, 48, 48) and torch.equal(reduce(x, 256), x)

"""Spearman correlation, pair sampling, the pair rule and the scatter plot."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from analysis.interpolation.pair_choice import choose_pairs, correlate, ranks, sample_pairs, scatter_png, significant, spearman


def test_spearman_is_one_for_monotone_and_minus_one_for_reversed():
    x = torch.linspace(-2, 3, 50)
    assert spearman(x, x ** 3) == pytest.approx(1.0)  # monotone, far from linear
    assert spearman(x, torch.exp(-x)) == pytest.approx(-1.0)
    assert math.isnan(spearman(x, torch.ones(50)))
    assert torch.equal(ranks(torch.tensor([3.0, 1, 2, 2])), torch.tensor([4.0, 1, 2.5, 2.5], dtype=torch.float64))
    # ties: ranks (1, 2.5, 2.5, 4) vs (1, 2, 3, 4): 4.5 / sqrt(4.5 * 5)
    assert spearman(torch.tensor([1.0, 2, 2, 3]), torch.tensor([1.0, 2, 3, 4])) == pytest.approx(4.5 / math.sqrt(22.5))
    gen = torch.Generator().manual_seed(0)
    assert abs(spearman(torch.rand(2000, generator=gen), torch.rand(2000, generator=gen))) < 0.06
    assert significant(0.3, 100) and not significant(0.15, 100)


def test_sample_pairs_are_distinct_seeded_and_ordered():
    pairs = sample_pairs(100, 120, seed=3)
    assert len(set(pairs)) == 120 and all(i < j for i, j in pairs)
    assert pairs == sample_pairs(100, 120, seed=3) and pairs != sample_pairs(100, 120, seed=4)
    assert len(sample_pairs(4, 100)) == 6  # all pairs when there are fewer


def similarity_matrix(n: int = 12, seed: int = 0) -> torch.Tensor:
    x = torch.randn(n, 5, generator=torch.Generator().manual_seed(seed))
    x = x / x.norm(dim=1, keepdim=True)
    return x @ x.T  # (n, n) cosines


def test_correlate_and_scatter(tmp_path):
    sim = similarity_matrix(20)
    score = lambda i, j: float(-(sim[i, j] ** 3)) if (i + j) % 7 else float("nan")  # noqa: E731  an error
    result = correlate(sim, score, count=100, seed=0)
    assert result["count"] < 100 and result["spearman"] == pytest.approx(-1.0) and result["significant"]
    assert len(result["pairs"]) == len(result["similarity"]) == len(result["score"]) == result["count"]
    path = scatter_png(result["similarity"], result["score"], tmp_path / "scatter.png",
                       f"morph_error vs similarity, Spearman rho = {result['spearman']:.2f}", "similarity (weights)",
                       "morph_error (lower is better)")
    img = Image.open(path)
    assert img.size == (760, 520) and len(np.unique(np.asarray(img.convert("L")))) > 2


SIMILAR, SPREAD = ["similar", "similar", "hard"], ["spread", "spread", "hard"]


@pytest.mark.parametrize("rho,higher,kinds", [(-0.6, False, SIMILAR),  # errors fall as similarity grows
                                              (0.6, True, SIMILAR),  # scores rise as similarity grows
                                              (0.6, False, SPREAD),  # similarity hurts
                                              (0.05, False, SPREAD)])  # no evidence either way
def test_choose_pairs_follows_the_sign_and_never_reuses_an_icon(rho, higher, kinds):
    sim = similarity_matrix(12)
    pairs, rule = choose_pairs(sim, rho, 100, higher_is_better=higher)
    assert [p["kind"] for p in pairs] == kinds and f"{rho:.2f}" in rule
    icons = [i for p in pairs for i in (p["a"], p["b"])]
    assert len(icons) == len(set(icons))
    iu = torch.triu_indices(12, 12, offset=1)
    values = sim[iu[0], iu[1]]
    if kinds[0] == "similar":
        assert pairs[0]["similarity"] == pytest.approx(float(values.max()))
    used = set(icons[:-2])
    left = [float(sim[a, b]) for a, b in iu.T.tolist() if a not in used and b not in used]
    assert pairs[-1]["similarity"] == pytest.approx(min(left))  # the least similar pair left


def test_choose_pairs_respects_eligible_pairs():
    sim = similarity_matrix(8)
    eligible = torch.ones(8, 8, dtype=torch.bool)
    eligible[0, :] = eligible[:, 0] = False  # icon 0 may not be used
    pairs, _ = choose_pairs(sim, -0.9, 100, higher_is_better=False, eligible=eligible)
    assert all(0 not in (p["a"], p["b"]) for p in pairs) and len(pairs) == 3


def test_spearman_interval_brackets_rho_and_narrows_with_pairs():
    import math

    from analysis.interpolation.pair_choice import spearman_interval

    low, high = spearman_interval(0.0, 100)
    assert low < 0 < high and high == pytest.approx(-low) and 0.35 < high - low < 0.5
    assert spearman_interval(0.5, 100)[0] > 0  # resolved: the interval excludes 0
    assert spearman_interval(0.3, 1000)[1] - spearman_interval(0.3, 1000)[0] < high - low
    assert all(math.isnan(v) for v in spearman_interval(0.5, 3))


def test_choose_pairs_never_takes_an_unmeasured_pair():
    """A per-pair measure (the aligned similarity) is measured on a sample: nan elsewhere is no candidate."""
    sim = similarity_matrix(10)
    measured = torch.zeros(10, 10, dtype=torch.bool)
    for a, b in sample_pairs(10, 12, seed=3):
        measured[a, b] = measured[b, a] = True
    sparse = torch.where(measured, sim, torch.full_like(sim, float("nan")))
    for rho in (-0.9, 0.05):  # the similar rule and the spread rule
        pairs, _ = choose_pairs(sparse, rho, 100, higher_is_better=False)
        assert pairs and all(measured[p["a"], p["b"]] for p in pairs)
        assert all(math.isfinite(p["similarity"]) for p in pairs)

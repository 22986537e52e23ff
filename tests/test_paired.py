"""Paired differences on the known-midpoint benchmark: a real gap is resolved, noise is a tie."""
from __future__ import annotations

import torch

from analysis.interpolation.paired import paired_difference, paired_rows, paired_table


def _score(values):
    return {"cases": [{"kind": "shift", "index": i, "frame_psnr": float(v)} for i, v in enumerate(values)]}


def test_a_consistent_gap_is_resolved_and_noise_is_not():
    g = torch.Generator().manual_seed(0)
    hard = 20 + 7 * torch.randn(100, generator=g)  # cases spread by 7 dB, as the benchmark's frames are
    better = hard + 0.5 + 0.3 * torch.randn(100, generator=g)  # 0.5 dB better on every case, small noise
    noisy = hard + 0.3 * torch.randn(100, generator=g)  # the same path up to noise
    d = paired_difference(_score(better), _score(hard))
    assert d["resolved"] and 0.4 < d["mean"] < 0.6 and d["n"] == 100
    assert not paired_difference(_score(noisy), _score(hard))["resolved"]
    # the same 0.5 dB between two unpaired means of spread 7 would be far inside their intervals
    assert 1.96 * 7 / 10 > 0.5


def test_rows_sort_and_table_names_the_verdicts():
    base = _score([20.0, 21.0, 22.0, 23.0])
    rows = paired_rows({"a": base, "up": _score([21.0, 22.1, 23.0, 24.1]), "down": _score([18.0, 19.2, 20.0, 21.1])}, "a")
    assert list(rows) == ["up", "down"]
    text = paired_table(rows, "a")
    assert "yes: better" in text and "yes: worse" in text and "minus a" in text

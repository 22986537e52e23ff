"""The fast path (--fast) computes what the eager reference (--no-fast) computes.

Tolerances: the malloc setting changes no arithmetic (bit-identical); channels-last
convolutions and fused Adam change float rounding only: forward values within 1e-4
absolute (outputs ~1), gradients within 1e-3 of the largest gradient entry (BatchNorm over
4 images amplifies rounding: the float32 reference itself is 1.5e-4 of that scale away from
a float64 computation of this case, the fast path 2.8e-4), an Adam step within 1e-6. Whole training runs are not compared step by step: Adam normalizes every
gradient entry, so rounding noise on an entry whose gradient is ~0 (e.g. a bias feeding
BatchNorm) moves it by up to lr either way; experiments/bench.py compares PSNR curves instead.
"""
from __future__ import annotations

import copy
import json

import pytest
import torch

from experiments import bench
from common.errors import UserError
from models.encoder import ConvSetEncoder
from models.hypernet import HyperINR
from models.siren import SirenConfig
from train.registry import build_method
from tests.conftest import tiny_config
from train.fast import keep_freed_memory, make_optimizer
from train.health import LossGuard


def tiny_batch(b: int = 4, res: int = 16):
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(b, 3, res, res, generator=gen)
    masks = torch.rand(b, 1, res, res, generator=gen) > 0.1
    coords = torch.rand(b, 50, 2, generator=gen) * 2 - 1
    return images, masks, torch.arange(b), coords


def forward_and_grads(method, batch):
    """Method.forward (the trainer's entry point), a fixed random loss, all parameter gradients."""
    method.zero_grad(set_to_none=True)
    pred, penalty = method(*batch)
    weights = torch.randn(pred.shape, generator=torch.Generator().manual_seed(1))
    ((pred * weights).mean() + penalty).backward()
    return pred.detach(), penalty.detach(), {n: p.grad for n, p in method.named_parameters() if p.grad is not None}


def test_fast_hypernetwork_matches_eager_forward_and_gradients():
    torch.manual_seed(0)
    ref = HyperINR(SirenConfig(hidden=16, hidden_layers=2), "conv", num_images=4, latent_dim=8, hyper_hidden=16)
    fast = copy.deepcopy(ref)
    fast.latent_source.channels_last = True  # what train/registry.py builds from a config with fast=True
    assert build_method(tiny_config("hyper", fast=True), 4).latent_source.channels_last
    batch = tiny_batch()
    pred_r, pen_r, grads_r = forward_and_grads(ref, batch)
    pred_f, pen_f, grads_f = forward_and_grads(fast, batch)
    assert pred_r.shape == (4, 50, 3)
    assert torch.allclose(pred_f, pred_r, atol=1e-4) and torch.allclose(pen_f, pen_r, rtol=1e-4)
    scale = max(g.abs().max() for g in grads_r.values())
    assert grads_f.keys() == grads_r.keys() and len(grads_r) > 10
    for name, g in grads_r.items():
        assert (grads_f[name] - g).abs().max() <= 1e-3 * scale, name


def test_channels_last_encoder_output_is_the_same_tensor_shape_and_values():
    torch.manual_seed(0)
    enc = ConvSetEncoder(latent_dim=8, width=8).eval()
    images, masks, index, _ = tiny_batch()
    ref = enc(images, masks, index)
    enc.channels_last = True
    assert torch.allclose(enc(images, masks, index), ref, atol=1e-5)


def test_fused_adam_step_matches_the_default_adam():
    gen = torch.Generator().manual_seed(0)
    start = [torch.randn(32, 16, generator=gen), torch.randn(16, generator=gen)]
    grads = [[torch.randn(p.shape, generator=gen) for p in start] for _ in range(5)]
    results = []
    for fast in (False, True):
        params = [p.clone().requires_grad_() for p in start]
        opt = make_optimizer(params, 1e-2, fast)
        assert bool(opt.defaults.get("fused")) == fast
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = g.clone()
            opt.step()
        results.append(params)
    for a, b in zip(*results):
        assert torch.allclose(a, b, atol=1e-6)


def test_malloc_setting_applies_on_glibc():
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert keep_freed_memory()


def test_deferred_loss_check_skips_the_bad_step_and_reports_it_later(tmp_path):
    """The CUDA mode, exercised on CPU: fused Adam skips a NaN step on its own (no host sync),
    and `flush` raises the same one-line error the immediate check raises, naming the step."""
    weight = torch.nn.Parameter(torch.ones(3))
    opt = make_optimizer([weight], 0.1, fast=True)
    guard = LossGuard(tmp_path, opt, step=5)
    guard.deferred, guard.count, guard.first_bad = True, torch.tensor(5.0), torch.tensor([-1.0, 0.0, 0.0])
    for value in (1.0, float("nan"), 2.0):  # steps 5, 6, 7
        loss = (weight * value).sum()
        guard.check(5, loss, loss)
        opt.zero_grad()
        loss.backward()
        before = weight.detach().clone()
        opt.step()
        assert torch.equal(weight, before) == (value != value), value  # only the NaN step left it untouched
    with pytest.raises(UserError, match=r"loss became nan at step 6: no checkpoint was written; lower --lr"):
        guard.flush()


def test_bench_quick_writes_ratios_and_roofline(tmp_path):
    out = tmp_path / "bench.json"
    results = bench.main(["--quick", "--methods", "hyper,maml", "--threads", "1", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert set(saved) >= {"header", "hyper", "maml", "_siren_step"} and saved["header"].startswith("threads: 1")
    for name in ("hyper", "maml"):
        r = results[name]
        assert r["speedup_steps"] > 0 and r["speedup_equal_work"] > 0 and r["fast"]["steps_per_s"] > 0
        assert r["ref"]["peak_memory_bytes"] >= 0
        assert r["config"]["ref"]["pixels"] == 0 and not r["config"]["ref"]["fast"]  # the plain eager reference
        assert r["config"]["eager"]["pixels"] == r["config"]["fast"]["pixels"] > 0 and not r["config"]["eager"]["fast"]
        assert r["fast"]["renders_per_s"] > 0 and "fused Adam" in r["fast_path"]
        assert r["fast"]["curve"] and 0 < r["fast"]["final_psnr"] < 100
    table = out.with_suffix(".md").read_text()  # the README's benchmark table, from the same run
    assert "| hyper | fast |" in table and "| maml | ref |" in table and "achieved fraction of the roofline" in table
    siren = results["_siren_step"]
    assert 0 < siren["roofline_s"] and 0 < siren["roofline_fraction_fast"] and siren["matmul_gflops"] > 0

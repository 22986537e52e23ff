"""Hypernetwork + MAML (meta/hyper_maml.py): 0 steps == the hypernetwork, inner steps help every
image, vmap == loop, meta-gradients reach every part, training script + checkpoint, render,
and the inner-step table (analysis/scoring/inner_steps.py)."""
from __future__ import annotations

import math

import numpy as np
import torch

import train_maml
from analysis.scoring.inner_steps import inner_step_table
from data.pixels import pixel_grid, to_pixels
from meta.adapt import adapt, masked_mse
from meta.hyper_maml import HyperMamlINR, adapt_each
from meta.maml import MamlINR
from models.hypernet import HyperINR
from train.registry import build_method
from tests.conftest import tiny_config, tiny_flags
from tests.maml_reference import TINY, toy_images, write_pngs
from train.checkpoint import method_from_checkpoint


def hybrid(**cfg) -> HyperMamlINR:
    torch.manual_seed(0)
    args = {"inner_steps": 2, "inner_lr": 1e-2, "meta_sgd": True, "first_order": False, "adapt": "all",
            "latent_dim": 8, "hyper_hidden": 16, **cfg}
    return HyperMamlINR(TINY, **args)


def test_zero_steps_is_exactly_the_hypernetwork():
    torch.manual_seed(1)
    hyper = HyperINR(TINY, "conv", 3, latent_dim=8, hyper_hidden=16)
    method = hybrid()
    missing, unexpected = method.load_state_dict(hyper.state_dict(), strict=False)
    assert not unexpected and all(k == "log_lr" or k.startswith("lr_offsets.") for k in missing), missing
    images, masks = toy_images()
    coords = pixel_grid(8)
    for mode in ("train", "eval"):
        hyper.train(mode == "train"), method.train(mode == "train")
        want = hyper.encode(images, masks, torch.arange(3))
        got = method.encode(images, masks, torch.arange(3), steps=0)
        assert torch.equal(got.latent, want.latent)
        for k in want.params:
            assert torch.equal(got.params[k], want.params[k]), (mode, k)
        assert torch.equal(method.decode(got, coords), hyper.decode(want, coords))


def test_inner_steps_lower_the_loss_on_every_image():
    method = hybrid().eval()
    images, masks = toy_images(4)
    coords, target, weights = pixel_grid(8), to_pixels(images), masks.flatten(1).float()  # (P,2), (B,P,3), (B,P)
    losses = [masked_mse(method.decode(method.encode(images, masks, None, steps=k), coords), target, weights)
              for k in (0, 1, 3)]  # (B,) each
    assert (losses[1] < losses[0]).all() and (losses[2] < losses[1]).all(), losses


def test_vmap_equals_a_loop_over_images_including_meta_gradients():
    method = hybrid()
    images, masks = toy_images()
    coords, target, weights = pixel_grid(8), to_pixels(images), masks.flatten(1).float()
    _, init = method.initial_params(images, masks)  # {name: (B, *shape)}
    lrs = method.inner_lrs()
    batched = adapt_each(method.siren, init, coords, target, weights, 3, lrs)
    loop = [adapt(method.siren, {k: v[b] for k, v in init.items()}, coords, target[b], weights[b], 3, lrs)
            for b in range(3)]
    wrt = [p for p in method.parameters()]
    grads = []
    for out in (batched, {k: torch.stack([p[k] for p in loop]) for k in init}):
        for k in init:
            assert out[k].shape == init[k].shape
            torch.testing.assert_close(out[k], batched[k], rtol=1e-5, atol=1e-6)
        grads.append(torch.autograd.grad(sum(v.sin().sum() for v in out.values()), wrt, allow_unused=True, retain_graph=True))
    # atol on the scale of the largest gradient: the encoder's last bias feeds a BatchNorm, so its
    # exact gradient is 0 and both paths give float32 noise there.
    scale = max(g.abs().max().item() for g in grads[0] if g is not None)
    for a, b in zip(*grads):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5 * scale)  # float32 sums in another order


def test_meta_gradient_reaches_encoder_hypernetwork_and_rates():
    for first_order in (False, True):
        # head_init > 0: a zero head (the default) passes no gradient to trunk and encoder on the
        # first step; test_starts_as_maml_and_then_learns_per_image checks the step after.
        method = hybrid(first_order=first_order, head_init=0.5).train()
        images, masks = toy_images(4)
        rep = method.encode(images, masks, None)
        loss = (method.decode(rep, pixel_grid(8)) - to_pixels(images)).pow(2).mean()
        loss.backward()
        for name, p in method.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, f"no meta-gradient on {name} (first_order={first_order})"
        assert {n.split(".")[0] for n, _ in method.named_parameters()} == {"siren", "lr_offsets", "latent_source", "hypernet"}


def test_starts_as_maml_and_then_learns_per_image():
    """head_init 0 (the default): at init every image starts from the base SIREN, so the hybrid
    adapts exactly as MamlINR built from the same seed; one outer step later the hypernetwork's
    head has moved and the encoder gets a meta-gradient, so starts differ per image."""
    method = hybrid()
    torch.manual_seed(0)
    maml = MamlINR(TINY, inner_steps=2, inner_lr=1e-2, meta_sgd=True, first_order=False, adapt="all")
    images, masks = toy_images(3)
    method.eval(), maml.eval()
    for k in (0, 1, 2):
        got, want = method.encode(images, masks, None, steps=k), maml.encode(images, masks, None, steps=k)
        for name in want.params:
            torch.testing.assert_close(got.params[name], want.params[name], rtol=0, atol=1e-7)
    method.train()
    optimizer = torch.optim.Adam(method.parameters(), lr=1e-3)
    for _ in range(2):
        optimizer.zero_grad()
        loss = (method.decode(method.encode(images, masks, None), pixel_grid(8)) - to_pixels(images)).pow(2).mean()
        loss.backward()
        optimizer.step()
    encoder_grad = sum(p.grad.abs().sum() for p in method.latent_source.parameters() if p.grad is not None)
    assert encoder_grad > 0
    _, init = method.initial_params(images, masks)  # {name: (B, *shape)}
    assert all((v[0] - v[1]).abs().max() > 0 for v in init.values())  # per-image starts


def test_eval_runs_under_no_grad_and_matches_training_mode():
    method = hybrid().eval()
    images, masks = toy_images(2)
    rep = method.encode(images, masks, None)
    assert all(not v.requires_grad for v in rep.params.values()) and not rep.latent.requires_grad
    graph = method._adapt(images, masks, None)  # eval mode (BatchNorm's running stats) with the graph kept
    for k in rep.params:
        torch.testing.assert_close(rep.params[k], graph.params[k].detach(), rtol=1e-5, atol=1e-6)
    (tag, rows), = method.extra_reconstructions(images, masks).items()
    assert tag == "images/inner_steps_0_1_2_truth" and len(rows) == 3 and rows[0].shape == (2, 3, 8, 8)


def test_declared_capabilities():
    method = build_method(tiny_config("hybrid"), 4)
    assert isinstance(method, HyperMamlINR) and method.adapts and method.handles_unseen_images
    assert not method.decodes_latent  # adapted weights are not a function of the latent alone
    assert build_method(tiny_config("maml"), 4).adapts and not build_method(tiny_config("hyper"), 4).adapts


def test_inner_step_table_for_hybrid_maml_and_hyper():
    images, _ = toy_images(4, 10)
    heldout = torch.rand(4, 1, 10, 10, generator=torch.Generator().manual_seed(3)) < 0.1
    unseen, _ = toy_images(3, 10, seed=5)
    for name in ("hybrid", "maml", "hyper"):
        method = build_method(tiny_config(name), 4).train()
        table = inner_step_table(method, images, heldout, unseen, steps=(0, 1, 3))
        assert method.training  # mode restored
        assert set(table) == {"train_pixels", "heldout_pixels", "unseen_images", "unseen_read_pixels", "unseen_heldout_pixels"}
        for row in table.values():  # a method that does not adapt has one column, 0 = its one pass
            assert list(row) == ([0, 1, 3] if method.adapts else [0]) and all(math.isfinite(v) for v in row.values())
        if method.adapts:  # inner steps fit the pixels they read
            assert table["train_pixels"][1] > table["train_pixels"][0]
            assert table["unseen_images"][1] > table["unseen_images"][0]


def test_train_script_checkpoint_rebuilds_and_renders_at_another_resolution(tmp_path):
    write_pngs(tmp_path / "pngs")
    out = tmp_path / "run"
    flags = tiny_flags("hybrid") + ["--model", "hybrid", "--data", str(tmp_path / "pngs"), "--res", "12",
                                    "--unseen", "", "--hr-res", "0", "--batch", "2", "--steps", "3", "--out", str(out)]
    metrics = train_maml.main(flags)
    assert metrics["step"] == 3 and np.isfinite(metrics["psnr/train_pixels"])
    method, ckpt = method_from_checkpoint(out / "ckpt.pt")
    assert isinstance(method, HyperMamlINR) and ckpt["script"] == "train_maml" and not method.training
    images, _ = toy_images(2, 12)
    rep = method.encode(images, torch.ones_like(images[:, :1], dtype=torch.bool), None)
    assert method.render(rep, 20).shape == (2, 3, 20, 20)

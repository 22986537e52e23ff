"""MAML / Meta-SGD inner loop and method: meta-gradients, vmap == loop, shift modulation, training script."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import train_maml
from analysis.figures import make_grid
from data.pixels import pixel_grid, to_pixels
from common.errors import UserError
from meta.adapt import adapt, adapt_batch, adapt_names, masked_mse
from meta.maml import MamlINR
from models.method import rgb_from_output
from models.siren import Siren
from tests.maml_reference import TINY, adapt_batch_manual, toy_images, write_pngs


def inner_problem(b: int = 3, res: int = 8):
    """A tiny SIREN, its init, per-parameter lrs that require grad, and B images as pixels."""
    torch.manual_seed(0)
    siren = Siren(TINY)
    init = siren.params()
    lrs = {k: torch.full_like(v, 1e-2, requires_grad=True) for k, v in init.items()}
    images, masks = toy_images(b, res)
    return siren, init, lrs, pixel_grid(res), to_pixels(images), masks.flatten(1).float()  # (P,2), (B,P,3), (B,P)


def maml(**cfg) -> MamlINR:
    torch.manual_seed(0)
    args = {"inner_steps": 2, "inner_lr": 1e-2, "meta_sgd": True, "first_order": False, "adapt": "all", **cfg}
    return MamlINR(TINY, **args)


def meta_grads(method: MamlINR, images, masks) -> dict[str, torch.Tensor]:
    """Outer loss after adaptation, backpropagated: {param name: grad}."""
    method.zero_grad(set_to_none=True)
    rep = method.encode(images, masks, torch.arange(len(images)))
    coords = pixel_grid(images.shape[-1])
    loss = (method.decode(rep, coords) - to_pixels(images)).pow(2).mean()
    loss.backward()
    return {n: p.grad for n, p in method.named_parameters()}


def test_meta_gradient_reaches_every_init_param_and_rate():
    images, masks = toy_images()
    grads = meta_grads(maml(), images, masks)
    assert set(grads) >= {f"siren.{n}" for n, _ in Siren(TINY).named_parameters()}
    for name, g in grads.items():
        assert g is not None and g.abs().sum() > 0, f"no meta-gradient on {name}"


def test_second_order_differs_from_first_order():
    images, masks = toy_images()
    second = meta_grads(maml(), images, masks)
    first = meta_grads(maml(first_order=True), images, masks)
    for name in second:
        if name.startswith("siren."):
            diff = (second[name] - first[name]).norm()
            assert diff > 1e-3 * second[name].norm(), f"second-order term of {name} is ~0"


def test_vmap_equals_loop_and_manual_including_meta_gradients():
    siren, init, lrs, coords, target, weights = inner_problem()
    for mode in ("all", "shift"):
        names = adapt_names(siren, mode)
        batched = adapt_batch(siren, init, coords, target, weights, 3, lrs, adapt_names=names)
        loop = [adapt(siren, init, coords, target[b], weights[b], 3, lrs, adapt_names=names) for b in range(len(target))]
        manual = adapt_batch_manual(siren, init, coords, target, weights, 3, lrs, adapt_names=names)
        wrt = list(init.values()) + [lrs[n] for n in names]
        grads = []
        for out in (batched, {k: torch.stack([p[k] for p in loop]) for k in init}, manual):
            for k in init:
                assert out[k].shape == (len(target), *init[k].shape)
                torch.testing.assert_close(out[k], batched[k], rtol=1e-5, atol=1e-6)
            grads.append(torch.autograd.grad(sum(v.sin().sum() for v in out.values()), wrt))
        for g in grads[1:]:
            for a, b in zip(grads[0], g):
                torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_inner_steps_lower_the_loss_on_every_image():
    siren, init, lrs, coords, target, weights = inner_problem()
    losses = []
    for steps in (0, 1, 3):
        params = adapt_batch(siren, init, coords, target, weights, steps, lrs)
        pred = rgb_from_output(siren.functional(params, coords))  # (B, P, 3)
        losses.append(masked_mse(pred, target, weights).detach())  # (B,)
    assert (losses[1] < losses[0]).all() and (losses[2] < losses[1]).all(), losses


def test_shift_adapts_hidden_biases_only():
    siren, init, lrs, coords, target, weights = inner_problem()
    names = adapt_names(siren, "shift")
    assert names == ["layers.0.bias", "layers.1.bias"]  # hidden layers only, not the output layer
    out = adapt_batch(siren, init, coords, target, weights, 2, lrs, adapt_names=names)
    for k, v in init.items():
        changed = not torch.equal(out[k], v.expand_as(out[k]))
        assert changed == (k in names), k


def test_adaptation_runs_under_no_grad_and_matches():
    siren, init, lrs, coords, target, weights = inner_problem()
    with_graph = adapt_batch(siren, init, coords, target, weights, 2, lrs)
    with torch.no_grad():
        for fn in (adapt_batch, adapt_batch_manual):
            out = fn(siren, init, coords, target, weights, 2, lrs)
            for k in init:
                assert not out[k].requires_grad
                torch.testing.assert_close(out[k], with_graph[k].detach(), rtol=1e-5, atol=1e-6)
    assert not torch.equal(out["layers.0.weight"][0], init["layers.0.weight"])


def test_method_eval_represent_and_grids():
    method = maml(meta_sgd=False, adapt="shift").eval()
    assert not any("lr_offsets" in n for n, _ in method.named_parameters())
    images, masks = toy_images(2)
    rep = method.encode(images, masks, torch.arange(2))
    assert all(v.shape[0] == 2 and not v.requires_grad for v in rep.params.values())
    torch.testing.assert_close(method.represent(images, masks).params["layers.0.bias"], rep.params["layers.0.bias"])
    assert method.render(rep, 16).shape == (2, 3, 16, 16)
    (tag, rows), = method.extra_reconstructions(images, masks).items()
    grid = make_grid(torch.cat([*rows, images]), ncol=2)
    assert tag == "images/inner_steps_0_1_2_truth" and grid.shape == (3, 4 * 10 + 2, 2 * 10 + 2)


def test_train_script_writes_checkpoint_events_and_resumes(tmp_path):
    write_pngs(tmp_path / "pngs")
    out = tmp_path / "run"
    flags = ["--data", str(tmp_path / "pngs"), "--res", "12", "--unseen", "", "--hr-res", "0", "--batch", "2",
             "--hidden", "16", "--hidden-layers", "1", "--inner-steps", "2", "--out", str(out)]
    metrics = train_maml.main(flags + ["--steps", "3"])
    assert metrics["step"] == 3 and np.isfinite(metrics["psnr/train_pixels"])
    assert (out / "ckpt.pt").is_file()
    assert list((out / "tb").glob("events.out.tfevents.*"))
    first = torch.load(out / "ckpt.pt", weights_only=False)
    assert first["step"] == 3 and first["script"] == "train_maml"
    metrics = train_maml.main(flags + ["--steps", "5", "--resume"])
    assert metrics["step"] == 5
    resumed = torch.load(out / "ckpt.pt", weights_only=False)
    assert resumed["step"] == 5
    assert not torch.equal(resumed["model"]["siren.layers.0.weight"], first["model"]["siren.layers.0.weight"])
    with pytest.raises(UserError):  # the same --out without --resume or --overwrite is refused
        train_maml.main(flags + ["--steps", "6"])

"""hyper_interp: the augmentation's truth, the interpolation loss's gradients, the no-op at
weight 0, a tiny training run through train_hyper.py, and the method benchmark's API."""
from __future__ import annotations

import pytest
import torch

import train_hyper
from analysis.interpolation import known_midpoints as km
from analysis.interpolation.method_benchmark import MODES, endpoint_psnr, known_midpoint_scores, reference_scores, table
from data.augment import as_tensor, change_batch, draw_changes, hue_rotate_batch, warp_batch
from data.transforms import State, hue_rotate, warp
from common.errors import UserError
from train.registry import build_method
from tests.conftest import tiny_config, tiny_flags
from train.checkpoint import method_from_checkpoint


def _batch(n=4, res=12, seed=0):
    gen = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 3, res, res, generator=gen)  # (n, 3, res, res)
    masks = torch.rand(n, 1, res, res, generator=gen) > 0.1  # (n, 1, res, res), True = observed
    coords = torch.rand(n, 20, 2, generator=gen) * 2 - 1  # (n, 20, 2)
    return images, masks, torch.arange(n), coords


def test_batched_changes_are_the_benchmarks():
    """The batched warp and hue equal data.transforms' one-state versions (the benchmark renders
    its truth with the latter, the interpolation objective its targets with the former)."""
    images = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    states = [State(dx=0.1, dy=-0.05), State(scale=0.7, angle=20.0), State(dx=-0.08, scale=0.8, angle=-12.0)]
    batched = warp_batch(images, as_tensor(states)).clamp(0, 1)
    for k, s in enumerate(states):
        torch.testing.assert_close(batched[k:k + 1], warp(images[k:k + 1], s), atol=1e-5, rtol=0)
    turned = hue_rotate_batch(images, torch.tensor([90.0, -150.0, 33.0]))
    for k, deg in enumerate((90.0, -150.0, 33.0)):
        torch.testing.assert_close(turned[k:k + 1], hue_rotate(images[k:k + 1], deg), atol=1e-5, rtol=0)


def test_truth_at_t0_and_t1_is_the_endpoints():
    method = build_method(tiny_config("hyper_interp", interp_share=1.0), 4)
    images, masks, _, _ = _batch()
    for t_value in (0.0, 1.0):
        torch.manual_seed(1)
        batch = method.make_batch(images, masks, t=torch.full((4,), t_value))
        end = batch.inputs[:4] if t_value == 0 else batch.inputs[4:]  # (K, 3, H, W)
        assert torch.equal(batch.truth, end)
    ends = build_method(tiny_config("hyper_interp", interp_share=1.0, interp_blend="ends"), 4)
    batch = ends.make_batch(images, masks)  # the control: t is 0 or 1, the truth is one of the ends
    for k, t in enumerate(batch.t.tolist()):
        assert t in (0.0, 1.0) and torch.equal(batch.truth[k], batch.inputs[k + 4 * int(t)])


def test_heldout_pixels_never_reach_the_truth_or_the_inputs():
    """Changing the values of held-out pixels changes neither the changed icons nor their
    valid target pixels (they were filled from observed neighbours, and `valid` excludes
    every pixel whose bilinear footprint touches one)."""
    images, masks, _, _ = _batch(n=6)
    p0, p1, _ = draw_changes(6, torch.Generator().manual_seed(0))
    other = torch.where(masks, images, 1 - images)  # held-out pixels altered
    a, va = change_batch(images, ~masks, p1)
    b, vb = change_batch(other, ~masks, p1)
    assert torch.equal(va, vb) and va.float().mean() > 0.5
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("blend", ["latent", "weights"])
def test_interp_loss_reaches_encoder_and_hypernetwork(blend):
    method = build_method(tiny_config("hyper_interp", interp_blend=blend, interp_share=0.5), 4).train()
    images, masks, index, coords = _batch()
    torch.manual_seed(0)
    batch = method.make_batch(images, masks)
    latent = method.latent_source(batch.inputs, torch.ones_like(batch.inputs[:, :1], dtype=torch.bool),
                                  torch.zeros(len(batch.inputs), dtype=torch.long))  # (2K, D)
    k = len(batch.pick)
    loss = method.interp_loss(batch, latent[:k], latent[k:])
    assert loss.item() > 0
    loss.backward()
    for name, module in (("encoder", method.latent_source), ("trunk", method.hypernet.trunk),
                         ("head", method.hypernet.head), ("base", method.hypernet.base)):
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        assert grads and sum(g.abs().sum() for g in grads) > 0, name


def test_weights_blend_equals_blending_the_emitted_weights():
    """The head is affine: decoding blended trunk features = blending the emitted weights."""
    method = build_method(tiny_config("hyper_interp"), 4).eval()
    z = torch.randn(2, 8)
    h = method.hypernet.trunk(z)  # (2, H)
    blended = method.params_from_features(torch.lerp(h[:1], h[1:], 0.3))
    direct = method.hypernet(z)
    for name, value in blended.items():
        torch.testing.assert_close(value, torch.lerp(direct[name][:1], direct[name][1:], 0.3), atol=1e-6, rtol=1e-5)


def test_weight_zero_is_hypers_forward():
    interp = build_method(tiny_config("hyper_interp", interp_weight=0.0), 4).train()
    hyper = build_method(tiny_config("hyper"), 4).train()
    hyper.load_state_dict(interp.state_dict())
    images, masks, index, coords = _batch()
    a, pa = interp(images, masks, index, coords)
    b, pb = hyper(images, masks, index, coords)
    assert torch.equal(a, b) and torch.equal(pa, pb)
    on = build_method(tiny_config("hyper_interp"), 4).train()
    on.load_state_dict(interp.state_dict())
    _, penalty = on(images, masks, index, coords)
    assert penalty.item() > 0  # the loss is on


def test_changed_icons_do_not_move_the_batch_codes():
    """The batch's latents and the encoder's running statistics are what HyperINR's encoder
    gives with the changed icons encoded alongside (they are standardized with the batch's
    statistics, never mixed into them)."""
    method = build_method(tiny_config("hyper_interp"), 4).train()
    twin = build_method(tiny_config("hyper_interp"), 4).train()
    twin.load_state_dict(method.state_dict())
    images, masks, index, _ = _batch()
    extra = torch.rand(6, 3, 12, 12)  # (6, 3, H, W)
    z, z_extra = method.encode_with_changed(torch.cat([images, extra]), torch.cat([masks, torch.ones(6, 1, 12, 12, dtype=torch.bool)]),
                                            torch.cat([index, torch.zeros(6, dtype=torch.long)]), 4)
    torch.testing.assert_close(z, twin.latent_source(images, masks, index))
    bn, bn_twin = method.latent_source.standardize, twin.latent_source.standardize
    torch.testing.assert_close(bn.running_mean, bn_twin.running_mean)
    torch.testing.assert_close(bn.running_var, bn_twin.running_var)
    assert z_extra.shape == (6, 8) and isinstance(bn, torch.nn.BatchNorm1d)


def test_bad_settings_are_one_line_errors():
    with pytest.raises(UserError, match="interp_blend"):
        build_method(tiny_config("hyper_interp", interp_blend="pixels"), 4)
    with pytest.raises(UserError, match="--encoder conv"):
        build_method(tiny_config("hyper_interp", encoder="table"), 4)


def test_tiny_training_run_writes_a_checkpoint_that_rebuilds(shapes_dir, tmp_path):
    out = tmp_path / "run"
    train_hyper.main(["--data", str(shapes_dir), "--out", str(out), "--model", "hyper_interp", *tiny_flags("hyper_interp"),
                      "--res", "12", "--steps", "3", "--eval-every", "3", "--hr-res", "0", "--unseen", "",
                      "--device", "cpu"])
    method, ckpt = method_from_checkpoint(out / "ckpt.pt")
    assert ckpt["config"]["model"] == "hyper_interp" and ckpt["config"]["interp_weight"] == 1.0
    assert type(method).__name__ == "InterpHyperINR" and not method.training


@pytest.fixture(scope="module")
def cases():
    gen = torch.Generator().manual_seed(0)
    icons = torch.ones(6, 3, 64, 64)
    for k in range(6):  # a coloured square per icon, off centre
        icons[k, :, 8 + 2 * k:40 + 2 * k, 12:44] = torch.rand(3, 1, 1, generator=gen)
    return km.build_benchmark(icons, res=12, count_per_kind=1, kinds=("translate", "hue"))


def test_known_midpoint_scores_on_tiny_models(cases):
    hyper = build_method(tiny_config("hyper_interp"), 4)
    scores = known_midpoint_scores(hyper, cases, MODES)
    assert set(scores) == set(MODES)
    for mode, s in scores.items():
        assert s is not None, mode
        assert all(torch.isfinite(torch.tensor(c["frame_psnr"])) for c in s["cases"]), mode
        assert set(s["by_t"]) == {"0.25", "0.5", "0.75"} and s["all"]["frame_psnr"]["n"] == len(cases)
    assert torch.isfinite(torch.tensor(endpoint_psnr(hyper, cases)["mean"]))
    table_text = table({"hyper_interp": scores, **{k: {"ref": v} for k, v in
                                                    reference_scores(cases, torch.ones(3, 12, 12)).items()}})
    assert "hyper_interp | latent" in table_text

    concat = build_method(tiny_config("concat"), 4)
    assert known_midpoint_scores(concat, cases, MODES)["weights"] is None  # concat has no weights
    table_rep = build_method(tiny_config("hyper", encoder="table"), 4)  # cannot encode unseen images
    assert known_midpoint_scores(table_rep, cases, MODES) == {m: None for m in MODES}
    assert endpoint_psnr(table_rep, cases) is None
    assert "n/a" in table({"table": known_midpoint_scores(table_rep, cases, MODES)})

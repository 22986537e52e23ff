"""The modulated SIREN (models/modulated.py): the base SIREN at init, batched = per image, one
pass = zero steps, the latent and the modulation paths agree, held-out pixels are never read,
inner steps on the grid lower the loss, the encoding follows a shift, PSNR rises on an overfit."""
from __future__ import annotations

import torch

from analysis.scoring.evaluate import psnr
from data.images import load_images
from data.pixels import heldout_mask, pixel_grid, to_pixels
from models.method import Rep
from models.modulated import ModulatedINR
from models.siren import SirenConfig

SIREN = SirenConfig(hidden=16, hidden_layers=1)


def _model(res: int = 16, grid: int = 4, modulation: str = "shift", trained: bool = True, seed: int = 0,
           read: str = "bilinear") -> ModulatedINR:
    torch.manual_seed(seed)
    model = ModulatedINR(SIREN, res, grid=grid, channels=4, modulation=modulation, read=read)
    if trained:  # non-zero modulations, as after training
        torch.nn.init.normal_(model.hyper.weight, std=0.05)
    return model


def _overfit(model: ModulatedINR, images: torch.Tensor, steps: int, lr: float = 3e-3) -> list[float]:
    """Adam on all pixels of `images`; PSNR before and after."""
    observed = torch.ones(len(images), 1, *images.shape[-2:], dtype=torch.bool)
    coords, target = pixel_grid(images.shape[-1]), to_pixels(images)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    scores = []
    for step in range(steps + 1):
        pred = model.decode(model.encode(images, observed), coords)
        if step in (0, steps):
            scores.append(psnr(pred.detach().clamp(0, 1), target).mean().item())
        loss = (pred - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return scores


def test_untrained_every_image_is_the_base_siren():
    model = _model(trained=False)
    images, observed = torch.rand(3, 3, 16, 16), torch.ones(3, 1, 16, 16, dtype=torch.bool)
    rep = model.encode(images, observed)
    assert all(m.abs().max() == 0 for m in rep.params.values())
    base = model.siren(pixel_grid(16)) * 0.5 + 0.5  # (P, 3)
    assert torch.allclose(model.decode(rep, pixel_grid(16)), base.expand(3, -1, -1), atol=1e-6)


def test_sizes_and_shapes():
    model = ModulatedINR(SirenConfig(), 48)  # the defaults: a 24 x 24 x 4 grid
    assert model.floats_per_image == 2304 <= 48 * 48 * 3 / 3
    rep = model.encode(torch.rand(2, 3, 48, 48), torch.ones(2, 1, 48, 48, dtype=torch.bool))
    assert rep.latent.shape == (2, 2304)
    assert {k: tuple(v.shape) for k, v in rep.params.items()} == {f"modulations.{k}": (2, 64, 24, 24) for k in range(4)}


def test_batched_equals_per_image_and_zero_steps_is_one_pass():
    for modulation in ("shift", "film"):
        model = _model(modulation=modulation).eval()
        images, observed = torch.rand(3, 3, 16, 16), ~heldout_mask(3, 16)
        coords = torch.rand(3, 50, 2) * 2 - 1
        for steps in (0, 2):
            batched = model.decode(model.encode(images, observed, steps=steps), coords)
            single = torch.cat([model.decode(model.encode(images[k:k + 1], observed[k:k + 1], steps=steps), coords[k:k + 1])
                                for k in range(3)])
            assert torch.allclose(batched, single, atol=1e-5), (modulation, steps)
        one_pass = model.encoder(images, observed).flatten(1)
        assert torch.equal(model.encode(images, observed, steps=0).latent, one_pass)
        assert torch.equal(model.encode(images, observed).latent, one_pass)  # latent_steps defaults to 0


def test_latent_and_modulation_paths_decode_alike():
    model = _model(modulation="film")
    rep = model.encode(torch.rand(2, 3, 16, 16), torch.ones(2, 1, 16, 16, dtype=torch.bool))
    coords = torch.rand(70, 2) * 2 - 1
    assert torch.allclose(model.decode(rep, coords), model.decode(Rep(params=rep.params), coords), atol=1e-5)
    blend = Rep(latent=torch.lerp(rep.latent[:1], rep.latent[1:], 0.3))  # linear map: a latent blend = a weight blend
    weights = Rep(params={k: torch.lerp(v[:1], v[1:], 0.3) for k, v in rep.params.items()})
    assert torch.allclose(model.decode(blend, coords), model.decode(weights, coords), atol=1e-5)


def test_held_out_pixels_are_never_read():
    model = _model().eval()
    images, observed = torch.rand(2, 3, 16, 16), ~heldout_mask(2, 16)
    changed = torch.where(observed, images, torch.rand_like(images))
    for steps in (0, 2):
        assert torch.equal(model.encode(images, observed, steps=steps).latent,
                           model.encode(changed, observed, steps=steps).latent)


def test_inner_steps_lower_the_loss_on_the_observed_pixels():
    model = _model().eval()
    images, observed = torch.rand(4, 3, 16, 16), ~heldout_mask(4, 16)
    model.log_rate.data.fill_(0.0)  # rate 1: a step the size of the gradient
    coords, target, weight = pixel_grid(16), to_pixels(images), to_pixels(observed.float())

    def loss(steps):
        pred = model.decode(model.encode(images, observed, steps=steps), coords)
        return ((pred - target).pow(2) * weight).sum().item()

    losses = [loss(k) for k in (0, 1, 3)]
    assert losses[2] < losses[1] < losses[0], losses


def test_inner_steps_are_differentiable_in_training():
    model = _model().train()
    images, observed = torch.rand(2, 3, 16, 16), torch.ones(2, 1, 16, 16, dtype=torch.bool)
    model.decode(model.encode(images, observed, steps=1), pixel_grid(16)).sum().backward()
    assert model.log_rate.grad is not None and model.log_rate.grad.abs().sum() > 0  # Meta-SGD rates learn


def test_psnr_rises_on_a_tiny_overfit():
    images = load_images("icons100", 24).images[:4]
    before, after = _overfit(_model(res=24, grid=6, trained=False), images, steps=150)
    assert after > before + 8 and after > 20, (before, after)


def test_encoding_follows_a_shift_after_a_tiny_overfit():
    """Icons and their copies shifted by one grid cell (4 px at 24 px, G = 6): once trained, the
    shifted icon's grid is the icon's grid moved by one cell (away from the border: the encoder
    is convolutional), and it decodes to the shifted icon, not the original."""
    icons = load_images("icons100", 24).images[:4]
    white = torch.ones_like(icons)
    shifted = torch.cat([white[..., :4], icons[..., :-4]], -1)  # (4, 3, 24, 24) moved 4 px right
    model = _model(res=24, grid=6, trained=False)
    _overfit(model, torch.cat([icons, shifted]), steps=150)
    observed = torch.ones(4, 1, 24, 24, dtype=torch.bool)
    with torch.no_grad():
        z, zs = (model.encoder(x, observed) for x in (icons, shifted))  # (4, C, 6, 6)
        inner = (slice(None), slice(None), slice(2, 4))
        moved_err = (zs[..., 3:5] - z[..., 2:4])[inner].abs().mean()
        still_err = (zs[..., 2:4] - z[..., 2:4])[inner].abs().mean()
        assert moved_err < 0.25 * still_err, (moved_err, still_err)
        render = model.render(model.encode(shifted, observed), 24)
    assert (psnr(render, shifted) > psnr(render, icons) + 3).all()


def test_training_forward_equals_encode_then_decode():
    model = _model()
    images, observed = torch.rand(2, 3, 16, 16), ~heldout_mask(2, 16)
    coords = torch.rand(2, 30, 2) * 2 - 1
    pred, penalty = model(images, observed, torch.arange(2), coords)
    assert torch.equal(pred, model.decode(model.encode(images, observed), coords)) and penalty == 0


def test_grid_cells_sit_where_decode_reads_them():
    """With every weight of the down path equal and positive (so every ReLU passes and each kernel
    weighs its window evenly) and the residual blocks off (they are symmetric 3 x 3 kernels at grid
    resolution: they move no centre, but the border clips their wide window), a cell's output depends
    on the input pixels around the cell's centre: the centroid of its gradient must be where `decode`
    reads that cell, ((i + 1/2) / G) of the width."""
    for res, grid in ((48, 12), (48, 6), (48, 24)):
        model = ModulatedINR(SIREN, res, grid=grid, channels=4)
        for name, p in model.encoder.named_parameters():
            p.data.fill_(0.01 if name.endswith("weight") and not name.startswith("blocks") else 0.0)
        images = torch.zeros(1, 3, res, res, requires_grad=True)
        z = model.encoder(images, torch.ones(1, 1, res, res, dtype=torch.bool))  # (1, C, G, G)
        i = grid // 2
        (-z[0, :, i, i].sum()).backward()
        weight = images.grad[0].sum(0)  # (res, res), >= 0
        centre = (weight * torch.arange(res, dtype=torch.float32)[None, :]).sum() / weight.sum()  # column, in pixels
        read_at = (i + 0.5) * res / grid - 0.5  # the cell's read position in pixel-index units
        assert abs(centre.item() - read_at) < 1e-3, (res, grid, centre.item(), read_at)


def test_training_time_steps_on_all_pixels_match_the_evaluation_steps():
    """First-order steps in training (latent_pixels = 0: every observed pixel) reach the same grid
    as the steps of an evaluation; with latent_pixels > 0 they read a subset and differ."""
    model = _model()
    images, observed = torch.rand(2, 3, 16, 16), ~heldout_mask(2, 16)
    with torch.no_grad():
        evaluated = model.eval()._latent(images, observed, 2)
    model.train()
    model.latent_pixels = 0
    trained = model._latent(images, observed, 2)
    assert torch.allclose(trained, evaluated, atol=1e-5) and trained.requires_grad
    model.latent_pixels = 32
    assert not torch.allclose(model._latent(images, observed, 2), evaluated, atol=1e-3)


def test_the_corner_cells_blended_by_their_weights_are_the_bilinear_read():
    """`_corners` (the ensemble read) and `_read` (grid_sample) agree on cell centres and the border."""
    from models.modulated import _corners, _read

    torch.manual_seed(0)
    for g in (1, 2, 5):
        grid, coords = torch.randn(2, 3, g, g), torch.rand(2, 40, 2) * 2.4 - 1.2  # some outside [-1, 1]
        cells, weights = _corners(grid, coords)  # (2, 160, 3), (2, 4, 40)
        assert torch.allclose(weights.sum(1), torch.ones(2, 40)) and (weights >= 0).all()
        blend = (cells.view(2, 4, 40, 3) * weights[..., None]).sum(1)
        assert torch.allclose(blend, _read(grid, coords), atol=1e-6), g


def test_the_ensemble_read_is_per_image_and_differs_from_bilinear_only_between_unequal_cells():
    bilinear, ensemble = _model(read="bilinear"), _model(read="ensemble")
    ensemble.load_state_dict(bilinear.state_dict())
    images, observed = torch.rand(3, 3, 16, 16), ~heldout_mask(3, 16)
    coords = torch.rand(3, 50, 2) * 2 - 1
    rep = ensemble.encode(images, observed)
    batched = ensemble.decode(rep, coords)
    single = torch.cat([ensemble.decode(ensemble.encode(images[k:k + 1], observed[k:k + 1]), coords[k:k + 1])
                        for k in range(3)])
    assert torch.allclose(batched, single, atol=1e-5)
    assert torch.allclose(batched, ensemble.decode(Rep(params=rep.params), coords), atol=1e-5)  # both paths
    assert not torch.allclose(batched, bilinear.decode(rep, coords), atol=1e-3)  # mixing colours, not modulations
    flat = Rep(latent=rep.latent[:, :4].repeat_interleave(16, 1))  # every cell of a channel alike: (3, 64)
    assert torch.allclose(ensemble.decode(flat, coords), bilinear.decode(flat, coords), atol=1e-5)


def test_the_ensemble_read_overfits_too():
    images = load_images("icons100", 24).images[:4]
    before, after = _overfit(_model(res=24, grid=6, trained=False, read="ensemble"), images, steps=100)
    assert after > before + 6, (before, after)

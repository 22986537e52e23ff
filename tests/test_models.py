"""SIREN, encoder, hypernetwork and concat baseline on tiny sizes."""
from __future__ import annotations

import math

import pytest
import torch

from data.pixels import pixel_grid, to_pixels
from models.encoder import ConvSetEncoder
from models.hypernet import HyperINR
from models.latent_concat import LatentConcatINR
from models.siren import Siren, SirenConfig

TINY = SirenConfig(hidden=32, hidden_layers=2)


def test_siren_init_statistics():
    cfg = SirenConfig(hidden=256, hidden_layers=2)
    siren = Siren(cfg)
    first, hidden = siren.layers[0].weight, siren.layers[1].weight
    assert first.abs().max() <= 1 / 2 and first.abs().max() > 0.45          # U(-1/in, 1/in), in = 2
    bound = math.sqrt(6 / 256) / 30
    assert hidden.abs().max() <= bound and hidden.abs().max() > 0.95 * bound  # U(-sqrt(6/in)/w0, ...)
    assert abs(hidden.std().item() - siren.init_std()["layers.1.weight"]) < 0.02 * bound


@pytest.mark.parametrize("encoding,activation", [("none", "sine"), ("positional", "relu"), ("fourier", "relu"), ("none", "relu")])
@pytest.mark.parametrize("res", [8, 17, 48])
def test_siren_shapes(encoding, activation, res):
    siren = Siren(SirenConfig(hidden=16, hidden_layers=1, encoding=encoding, activation=activation))
    assert siren(pixel_grid(res)).shape == (res * res, 3)


def test_batched_params_equal_per_image_loop():
    siren = Siren(TINY)
    batch = {k: v + 0.01 * torch.randn(3, *v.shape) for k, v in siren.params().items()}  # (3, *shape)
    coords = pixel_grid(10)
    batched = siren.functional(batch, coords)  # (3, 100, 3)
    for b in range(3):
        single = siren.functional({k: v[b] for k, v in batch.items()}, coords)
        assert torch.allclose(batched[b], single, atol=1e-5)


def test_latent_concat_equals_explicit_concatenation():
    siren = Siren(TINY, latent_dim=5)
    coords, latent = pixel_grid(6), torch.randn(2, 5)
    explicit = torch.cat([coords.expand(2, -1, -1), latent[:, None].expand(-1, 36, -1)], -1)  # (2, 36, 7)
    plain = Siren(TINY, in_features=7)
    plain.load_state_dict(siren.state_dict())
    assert torch.allclose(siren(coords, latent), plain(explicit), atol=1e-5)


def test_hypernet_emits_siren_init_statistics():
    model = HyperINR(SirenConfig(hidden=64, hidden_layers=2), "conv", 8, latent_dim=32, hyper_hidden=64)
    images = torch.rand(8, 3, 16, 16)
    rep = model.encode(images, torch.ones(8, 1, 16, 16, dtype=torch.bool), torch.arange(8))
    std = model.siren.init_std()
    for name, value in rep.params.items():
        assert value.shape[0] == 8 and value.shape[1:] == dict(model.siren.named_parameters())[name].shape
        if value[0].numel() < 32:
            continue  # the 3 output biases are too few samples for a statistic
        assert abs(value.std().item() / std[name] - 1) < 0.25, name
        assert abs(value[0].mean().item()) < 4 * std[name] / math.sqrt(value[0].numel()), name  # zero-mean
    # images differ: the per-image delta is small but not zero
    assert (rep.params["layers.1.weight"][0] - rep.params["layers.1.weight"][1]).abs().max() > 0


@pytest.mark.parametrize("fraction", [1.0, 0.1, 0.0])
@pytest.mark.parametrize("res", [12, 33])
def test_encoder_accepts_any_mask_and_resolution(fraction, res):
    encoder = ConvSetEncoder(latent_dim=8, width=8)
    masks = torch.rand(2, 1, res, res) < fraction
    latent = encoder(torch.rand(2, 3, res, res), masks)
    assert latent.shape == (2, 8) and torch.isfinite(latent).all()


def test_encoder_ignores_unobserved_pixels():
    encoder = ConvSetEncoder(latent_dim=8, width=8)
    images, masks = torch.rand(3, 3, 16, 16), torch.rand(3, 1, 16, 16) < 0.3
    noisy = torch.where(masks, images, torch.rand_like(images))
    assert torch.allclose(encoder(images, masks), encoder(noisy, masks))


@pytest.mark.parametrize("model_cls", [HyperINR, LatentConcatINR])
def test_overfit_one_16px_image_above_30db(model_cls):
    torch.manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing="ij")
    disc = (xx ** 2 + yy ** 2 < 0.4).float()
    image = torch.stack([1 - disc, 0.3 + 0.5 * disc, torch.ones_like(disc)])[None]  # (1, 3, 16, 16)
    model = model_cls(TINY, "table", 1, latent_dim=8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    coords, target, mask, index = pixel_grid(16), to_pixels(image), torch.ones(1, 1, 16, 16, dtype=torch.bool), torch.arange(1)
    for _ in range(300):
        loss = (model.decode(model.encode(image, mask, index), coords) - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert -10 * math.log10(loss.item()) > 30


def test_render_in_chunks_matches_one_pass():
    model = HyperINR(TINY, "table", 2, latent_dim=8, hyper_hidden=16)
    rep = model.encode(None, None, torch.arange(2))
    whole = model.render(rep, 20)
    chunked = model.render(rep, 20, chunk_pixels=50)
    assert whole.shape == (2, 3, 20, 20) and torch.allclose(whole, chunked, atol=1e-6)

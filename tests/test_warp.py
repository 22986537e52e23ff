"""The landmark-free warp, the warp-and-blend morph and the aligned weight-space blend (analysis/)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from analysis.interpolation.aligned_blend import aligned_frames, encode_aligned, rep_sampler
from analysis.interpolation.morph import morph_frames
from analysis.interpolation.sampling import foreground_moments, image_sampler, sample_image
from analysis.interpolation.warp import Warp, affine_velocity, smoothness
from analysis.interpolation.warp_cache import WarpCache
from analysis.interpolation.warp_fit import fit_warp
from data.pixels import pixel_grid
from common.errors import UserError
from analysis.interpolation.blend import interpolation_path
from models.hypernet import HyperINR
from models.method import Method, Rep
from models.siren import SirenConfig

RED = torch.tensor([0.9, 0.2, 0.1])


def disk(res: int, centre: tuple[float, float], radius: float = 0.3, colour: torch.Tensor = RED) -> torch.Tensor:
    """An anti-aliased disk (4x4 supersampling) on white: (3, res, res); centre/radius in domain units."""
    grid = pixel_grid(4 * res)  # (16 res^2, 2)
    inside = ((grid - torch.tensor(centre)).norm(dim=-1) < radius).float()  # (16 res^2,)
    cover = F.avg_pool2d(inside.view(1, 1, 4 * res, 4 * res), 4)[0]  # (1, res, res)
    return 1 - cover * (1 - colour.view(3, 1, 1))  # (3, res, res)


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    return float(-10 * torch.log10((x.clamp(0, 1) - y).pow(2).mean()))


@pytest.fixture(scope="module")
def shifted_disk():
    """A disk shifted by 0.3 of the width (0.6 domain units, ~10 px at 32 px), and its fitted warp."""
    a, b = disk(32, (-0.3, -0.1)), disk(32, (0.3, -0.1))
    return a, b, fit_warp(a, b)


def test_identity_warp_frames_are_the_endpoints_and_the_crossfade():
    torch.manual_seed(0)
    a, b = torch.rand(3, 16, 16), torch.rand(3, 16, 16)
    frames = morph_frames(image_sampler(a), image_sampler(b), Warp.identity(), [0.0, 0.5, 1.0], 16)
    assert frames.shape == (3, 3, 16, 16)
    assert torch.allclose(frames[0], a, atol=1e-6) and torch.allclose(frames[2], b, atol=1e-6)
    assert torch.allclose(frames[1], (a + b) / 2, atol=1e-6)


def test_any_warp_starts_and_ends_exactly_on_the_endpoints(shifted_disk):
    a, b, warp = shifted_disk
    frames = morph_frames(image_sampler(a), image_sampler(b), warp, [0.0, 1.0], 32)
    assert torch.allclose(frames[0], a, atol=1e-6) and torch.allclose(frames[1], b, atol=1e-6)


def test_a_known_shift_is_recovered_and_the_midpoint_beats_the_crossfade(shifted_disk):
    a, b, warp = shifted_disk
    px = 2 / 32  # one pixel in domain units
    ring = torch.tensor([[-0.3 + 0.2 * math.cos(k), -0.1 + 0.2 * math.sin(k)] for k in range(8)] + [[-0.3, -0.1]])  # (9, 2) on the disk
    moved = warp.forward_map(ring, 1.0) - ring  # (9, 2) fitted displacement
    assert (moved - torch.tensor([0.6, 0.0])).norm(dim=-1).max() < px
    mid = morph_frames(image_sampler(a), image_sampler(b), warp, [0.5], 32)[0]
    truth = disk(32, (0.0, -0.1))
    assert psnr(mid, truth) > psnr((a + b) / 2, truth) + 10  # measured 39.3 dB vs 16.7 dB


def test_frames_render_at_another_resolution_with_the_shape_in_place(shifted_disk):
    a, b, warp = shifted_disk
    frames = morph_frames(image_sampler(a), image_sampler(b), warp, [0.25, 0.5], 80)
    assert frames.shape == (2, 3, 80, 80)
    for frame, x in zip(frames, (-0.15, 0.0)):
        _, centre, cov = foreground_moments(frame.clamp(0, 1))
        assert (centre - torch.tensor([x, -0.1])).norm() < 2 / 32  # within a 32 px pixel
        assert abs(math.sqrt(float(cov.trace()) * 2) - 0.3) < 0.03  # radius of a uniform disk: sqrt(2 tr cov)


def test_the_fitted_warp_is_smooth_orientation_preserving_and_invertible():
    a = disk(32, (-0.2, 0.0), 0.35)
    b = disk(32, (0.15, 0.1), 0.25, colour=torch.tensor([0.8, 0.3, 0.1]))  # moved, smaller, another colour
    warp = fit_warp(a, b)
    h = 1e-2
    x = pixel_grid(40) * 0.95  # (1600, 2) inside the domain
    jac = torch.stack([(warp.forward_map(x + h * e) - warp.forward_map(x - h * e)) / (2 * h)
                       for e in torch.eye(2)], -1)  # (P, 2, 2), columns d phi / dx, d phi / dy
    assert jac.abs().max() < 3  # bounded finite differences: no tears
    assert torch.linalg.det(jac).min() > 0.1  # no folds
    assert float(warp.inverse_consistency(x)) < 0.1 * 2 / 32  # round trip within 0.1 px
    assert float(smoothness(warp.grid)) < 50


def test_affine_flows_are_exact_and_a_semigroup():
    matrix, offset = affine_velocity(torch.zeros(2), torch.tensor([0.2, -0.1]), 0.7, math.radians(30))
    affine = Warp(torch.zeros(2), matrix, offset)
    x = pixel_grid(8)  # (64, 2)
    rot = torch.tensor([[math.cos(math.pi / 6), -math.sin(math.pi / 6)], [math.sin(math.pi / 6), math.cos(math.pi / 6)]])
    assert torch.allclose(affine.forward_map(x), 0.7 * x @ rot.T + torch.tensor([0.2, -0.1]), atol=1e-5)
    assert torch.allclose(affine.flow(affine.flow(x, 0.5), 0.5), affine.forward_map(x), atol=1e-5)
    integrated = Warp(torch.zeros(2), matrix, offset, torch.zeros(2, 3, 3))  # same field through the ODE solver
    assert torch.allclose(integrated.forward_map(x), affine.forward_map(x), atol=5e-3)  # 4 RK2 steps: ~0.1 px at 48 px
    assert torch.equal(integrated.flow(x, 0.0), x)


def test_fit_refuses_images_of_different_sizes():
    with pytest.raises(ValueError, match="one size"):
        fit_warp(torch.ones(3, 16, 16), torch.ones(3, 24, 24))


def test_blank_images_fit_to_no_motion():
    white = torch.ones(3, 16, 16)
    warp = fit_warp(white, white, schedule=((16, 0.06, 0, 5), (16, 0.0, 5, 5)))  # short: nothing to find
    x = pixel_grid(16)
    assert torch.allclose(warp.forward_map(x), x, atol=1e-3)


# ----- aligned weight-space interpolation -----

def tiny_hyper(encoder: str = "conv") -> HyperINR:
    torch.manual_seed(0)
    return HyperINR(SirenConfig(hidden=16, hidden_layers=1), encoder, num_images=2, latent_dim=8, hyper_hidden=16).eval()


@pytest.mark.parametrize("mode", ["weights", "latent"])
def test_aligned_blend_with_the_identity_warp_is_the_plain_blend(mode):
    method = tiny_hyper()
    a, b = disk(16, (-0.3, 0.0)), disk(16, (0.3, 0.2), colour=torch.tensor([0.1, 0.4, 0.9]))
    ts = [0.0, 0.3, 0.7, 1.0]
    frames = aligned_frames(method, a, b, Warp.identity(), ts, 20, mode=mode)
    rep = method.encode(torch.stack([a, b]), torch.ones(2, 1, 16, 16, dtype=torch.bool), torch.zeros(2, dtype=torch.long)).detach()
    plain = interpolation_path(method, rep.select(0), rep.select(1), ts, mode, 20)
    assert frames.shape == (4, 3, 20, 20)
    assert torch.allclose(frames, plain, atol=1e-4)


def test_aligned_blend_ends_on_the_endpoint_renders_for_any_warp():
    method = tiny_hyper()
    a, b = disk(16, (-0.3, 0.0)), disk(16, (0.3, 0.0))
    frames = aligned_frames(method, a, b, Warp.translation((0.6, 0.0)), [0.0, 0.5, 1.0], 24)
    rep_a, _, _, rep_b = encode_aligned(method, a, b, Warp.translation((0.6, 0.0)))
    both = Rep(torch.cat([rep_a.latent, rep_b.latent]), {k: torch.cat([rep_a.params[k], rep_b.params[k]]) for k in rep_a.params})
    ends = method.render(both, 24).clamp(0, 1)  # (2, 3, 24, 24)
    assert torch.allclose(frames[0], ends[0], atol=1e-5) and torch.allclose(frames[-1], ends[1], atol=1e-5)
    inr = morph_frames(rep_sampler(method, rep_a), rep_sampler(method, rep_b), Warp.translation((0.6, 0.0)), [0.0], 24)
    assert torch.allclose(inr[0].clamp(0, 1), ends[0], atol=1e-5)  # an INR renders through the pixel morph too


class PixelMethod(Method):
    """A method whose 'weights' are the pixels themselves and whose decode samples them
    bilinearly: a weight blend is then a pixel cross-fade, so the aligned blend must
    behave like the pixel warp-and-blend morph."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))  # a device to read, nothing to learn

    def encode(self, images, masks, index):
        return Rep(params={"image": images})

    def decode(self, rep, coords):
        return torch.stack([sample_image(im, coords) for im in rep.params["image"]])  # (B, P, 3)


def test_aligned_blend_follows_the_warp(shifted_disk):
    a, b, warp = shifted_disk
    mid = aligned_frames(PixelMethod(), a, b, warp, [0.5], 32)[0]
    truth = disk(32, (0.0, -0.1))
    assert psnr(mid, truth) > psnr((a + b) / 2, truth) + 10  # measured 36.5 dB vs 16.7 dB


def test_aligned_residual_ends_on_the_given_images_and_beats_a_poor_reading(shifted_disk):
    a, b, warp = shifted_disk
    method = tiny_hyper()  # untrained: its reading of the disks is poor
    plain = aligned_frames(method, a, b, warp, [0.0, 0.5, 1.0], 32)
    kept = aligned_frames(method, a, b, warp, [0.0, 0.5, 1.0], 32, residual=True)
    assert torch.allclose(kept[0], a, atol=1e-5) and torch.allclose(kept[-1], b, atol=1e-5)
    assert psnr(plain[0], a) < 25  # the reading itself is far from a
    truth = disk(32, (0.0, -0.1))
    assert psnr(kept[1], truth) > psnr(plain[1], truth) + 10


def test_aligned_residual_adds_nothing_to_an_exact_reading(shifted_disk):
    a, b, warp = shifted_disk  # PixelMethod decodes its pixels bilinearly: zero residual at every pixel centre
    plain = aligned_frames(PixelMethod(), a, b, warp, [0.3, 0.5], 40)
    kept = aligned_frames(PixelMethod(), a, b, warp, [0.3, 0.5], 40, residual=True)
    assert torch.allclose(plain, kept, atol=1e-5)


def test_aligned_blend_refuses_methods_that_cannot_encode_new_images():
    method = tiny_hyper("table")
    a = disk(16, (0.0, 0.0))
    with pytest.raises(UserError) as err:
        aligned_frames(method, a, a, Warp.identity(), [0.5], 16)
    assert "HyperINR" in str(err.value) and "\n" not in str(err.value)


def test_warp_cache_fits_a_pair_once_and_reads_it_back_exactly(tmp_path, shifted_disk):
    a, b, _ = shifted_disk
    first = WarpCache(tmp_path / "warps.pt")
    warp = first.fit(a, b)
    assert first.fit(a, b) is warp and first.fitted == 1  # the second request is served from the cache
    first.save()
    again = WarpCache(tmp_path / "warps.pt")  # a second method of a study
    read = again.fit(a, b)
    assert again.fitted == 0
    assert all(torch.equal(getattr(read, f), getattr(warp, f)) for f in ("pivot", "matrix", "offset", "grid"))
    again.fit(b, a)  # the reverse pair is another pair: fitted, not confused with a -> b
    assert again.fitted == 1


def test_a_bad_warp_file_is_one_user_error(tmp_path):
    (tmp_path / "warps.pt").write_bytes(b"not a torch file")
    with pytest.raises(UserError, match="delete it to refit"):
        WarpCache(tmp_path / "warps.pt")


def test_an_inr_moved_by_a_warp_reads_white_beyond_the_image_not_its_extrapolation():
    method = tiny_hyper()
    a = disk(16, (0.0, 0.0))
    rep = method.encode(a[None], torch.ones(1, 1, 16, 16, dtype=torch.bool), torch.zeros(1, dtype=torch.long)).detach()
    sample = rep_sampler(method, rep.select(0))
    coords = torch.tensor([[0.5, 0.5], [1.5, 0.0], [0.0, -1.2]])  # (3, 2): inside, right of, below the image
    raw = method.decode(rep.select(0), coords)[0]  # (3, 3): a SIREN's values everywhere
    assert not torch.allclose(raw[1:], torch.ones(2, 3))  # what the INR would show outside
    out = sample(coords)
    assert torch.equal(out[0], raw[0]) and torch.equal(out[1:], torch.ones(2, 3))
    # a shift by 2 image widths: at t = 0.5 a is read at x - 2 and b at x + 2, both beyond the image
    frames = morph_frames(sample, sample, Warp.translation((4.0, 0.0)), [0.0, 0.5], 16)  # (2, 3, 16, 16)
    assert not torch.equal(frames[0], torch.ones(3, 16, 16)) and torch.equal(frames[1], torch.ones(3, 16, 16))

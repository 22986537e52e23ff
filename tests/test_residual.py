"""The input's residual put back into a method's renders (analysis/residual.py)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from analysis.residual import render_with_residual, residual, sample_residual, upsample_residual
from data.pixels import pixel_grid
from models.method import Method, Rep


class BlurMethod(Method):
    """Reads an image as its 3 x 3 box blur and decodes that bilinearly: a reading that loses the edges."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def encode(self, images, masks, index):
        blurred = F.avg_pool2d(F.pad(images * masks, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        return Rep(params={"image": blurred})

    def decode(self, rep, coords):
        grid = coords.view(1, 1, -1, 2).expand(len(rep.params["image"]), 1, -1, 2)
        out = F.grid_sample(rep.params["image"], grid, mode="bilinear", padding_mode="border", align_corners=False)
        return out[:, :, 0].transpose(1, 2)  # (B, P, 3)


def square(res: int, lo: float = -0.4, hi: float = 0.5) -> torch.Tensor:
    """A dark square on white, area-sampled (8 x 8 per pixel): (3, res, res)."""
    grid = pixel_grid(8 * res)
    inside = ((grid > lo) & (grid < hi)).all(-1).float().view(1, 1, 8 * res, 8 * res)
    cover = F.avg_pool2d(inside, 8)[0]  # (1, res, res)
    return (1 - 0.8 * cover).expand(3, res, res).clone()


def psnr(x, y):
    return float(-10 * torch.log10((x - y).pow(2).mean()))


def test_the_render_reproduces_the_input_and_upsamples_closer_to_the_truth():
    method = BlurMethod()
    low, truth = square(16)[None], square(64)[None]  # (1, 3, 16, 16), (1, 3, 64, 64)
    rep = method.encode(low, torch.ones_like(low[:, :1], dtype=torch.bool), None)
    assert torch.allclose(render_with_residual(method, rep, low, 16), low, atol=1e-6)
    plain = method.render(rep, 64).clamp(0, 1)
    kept = render_with_residual(method, rep, low, 64)
    assert psnr(kept, truth) > psnr(plain, truth) + 3  # the blur's lost edges come back
    blank, noisy = torch.ones_like(truth), (kept + 0.2 * torch.randn_like(kept)).clamp(0, 1)
    assert psnr(kept, truth) > max(psnr(blank, truth), psnr(noisy, truth))


def test_held_out_pixels_never_reach_the_render():
    method = BlurMethod()
    low = square(16)[None]
    observed = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0)) > 0.2
    other = torch.where(observed, low, torch.rand_like(low))  # the held-out pixels changed
    out = [render_with_residual(method, method.encode(x * observed, observed, None), x, 48, observed) for x in (low, other)]
    assert torch.equal(out[0], out[1])
    assert residual(method, method.encode(low, observed, None), low, observed)[~observed.expand_as(low)].abs().max() == 0


def test_upsampling_the_residual_is_sampling_it_at_the_pixel_centres():
    r = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    up = upsample_residual(r, 20)  # (2, 3, 20, 20)
    for i in range(2):
        sampled = sample_residual(r[i], pixel_grid(20)).T.reshape(3, 20, 20)
        assert torch.allclose(up[i], sampled, atol=1e-5)

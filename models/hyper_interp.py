"""The hypernetwork trained to interpolate: supervised in-betweens from augmentation.

A weight space is only as good as what the model was taught about the space between its
codes (README, question 3). Here that space gets a target. Each training step, besides the
usual reconstruction of the batch (`HyperINR`), takes K = interp_share x B of its icons and
for each draws a continuous change p0 -> p1 of the known-midpoint benchmark (shift, scale,
rotation, combination, hue; the same magnitudes, `data.augment`) and a t ~ U[0, 1]:

    x0, x1, xt = icon in state p0, p1, lerp(p0, p1, t)      (K, 3, H, W), warped at 48 px
    z0, z1     = encoder(x0), encoder(x1)                   (K, D), all pixels observed
    theta_t    = hypernet(lerp(z0, z1, t))                  blend "latent", or
                 base + head(lerp(h0, h1, t)) / H           blend "weights", h = trunk(z)
    L_interp   = mean over sampled valid pixels of |SIREN(theta_t)(x) - xt(x)|^2

and the penalty the trainer adds to the MSE is HyperINR's + interp_weight * L_interp.

What is blended. The hypernetwork's head is linear, theta = base + head(h) / H
(`models/hypernet.py`), so blending the emitted weights is exactly blending the trunk
features h; the "weights" blend is trained through h, at 1/50 of the cost of blending the
12.9k weights themselves, and equals `interpolation_path(mode="weights")`. The "latent"
blend goes through the non-linear trunk, as `interpolation_path(mode="latent")` does. "both"
trains half of the K pairs each way. "ends" is the control: t is 0 or 1, so the loss only
asks to reconstruct the changed icons (the same augmentation and cost, no in-between). Why it can work: a shift of a SIREN's input is a change
of its first-layer bias only, b - W d, linear in d; a rotation or scale is W R(-a) / s; a
hue turn is a linear map of the last layer's output: lines in weight space can carry these
changes, if the hypernetwork is asked to put its codes on them.

Cost: the 2K changed endpoints are encoded in the same encoder call as the batch, standardized
with the batch's statistics (`encode_with_changed`), and only `interp_pixels` valid pixels
per in-between are decoded.

Related: ACAI (Berthelot et al. 2019) regularizes blends of *different* images with a
critic; here the blends are of one icon's two states, whose true in-between is known, so
plain supervision replaces the critic. Hypernetworks: Ha et al. 2017.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from data.augment import change_batch, draw_changes_on
from common.errors import UserError
from data.pixels import pixel_grid, to_pixels
from models.hypernet import HyperINR
from models.method import Rep, rgb_from_output
from models.siren import Params, SirenConfig

BLENDS = ("latent", "weights", "both", "ends")


@dataclass
class InterpBatch:
    """Supervised in-betweens for K icons of a batch.

    pick (K,) rows of the batch; inputs (2K, 3, H, W): the icons at p0, then at p1;
    t (K,); truth (K, 3, H, W): the icons at lerp(p0, p1, t); valid (K, 1, H, W) bool: the
    truth pixels that may be targets; blend (K,) bool, True = blend latents, False = features.
    """

    pick: torch.Tensor
    inputs: torch.Tensor
    t: torch.Tensor
    truth: torch.Tensor
    valid: torch.Tensor
    blend_latent: torch.Tensor


class InterpHyperINR(HyperINR):
    """HyperINR whose training forward adds the interpolation loss (module docstring)."""

    def __init__(self, siren_cfg: SirenConfig, latent_source: str, num_images: int,
                 latent_dim: int = 128, hyper_hidden: int = 256, latent_reg: float = 1e-4,
                 channels_last: bool = False, interp_weight: float = 1.0, interp_share: float = 0.25,
                 interp_pixels: int = 256, interp_blend: str = "both"):
        super().__init__(siren_cfg, latent_source, num_images, latent_dim, hyper_hidden, latent_reg, channels_last)
        if interp_blend not in BLENDS:
            raise UserError(f"unknown interp_blend {interp_blend!r}: use one of {', '.join(BLENDS)}")
        if interp_weight > 0 and latent_source != "conv":
            raise UserError("the interpolation loss of hyper_interp encodes changed icons, which needs --encoder conv "
                            "(or --interp-weight 0)")
        self.interp_weight, self.interp_share = interp_weight, interp_share
        self.interp_pixels, self.interp_blend = interp_pixels, interp_blend

    def params_from_features(self, h: torch.Tensor) -> Params:
        """SIREN weights {name: (B, *shape)} from trunk features h (B, H): the affine head alone,
        so a blend of features is the same blend of emitted weights."""
        net = self.hypernet
        delta = net.head(h) / net.hidden  # (B, T)
        return {name: base + chunk.reshape(len(h), *shape)  # (B, *shape)
                for (name, base), shape, chunk in zip(net.base.named_parameters(), net.shapes,
                                                      delta.split(net.sizes, dim=-1))}

    def make_batch(self, images: torch.Tensor, masks: torch.Tensor, t: torch.Tensor | None = None,
                   gen: torch.Generator | None = None) -> InterpBatch:
        """Draw K icons of the batch, their changes and in-betweens. images (B, 3, H, W);
        masks (B, 1, H, W) bool, True = observed; t (K,) to force the blend positions; gen: a
        generator of the images' device (default: the run's, `self.generator`). Everything is
        drawn on that device: no value goes through the host (a GPU's queue never waits)."""
        gen = self.generator if gen is None else gen
        b, device = len(images), images.device
        k = max(1, min(b, round(self.interp_share * b)))
        pick = torch.randperm(b, generator=gen, device=device)[:k]  # (K,)
        p0, p1 = draw_changes_on(k, gen, device)  # (K, 5) each
        if t is None:
            t = torch.rand(k, generator=gen, device=device)  # (K,)
            t = t.round() if self.interp_blend == "ends" else t  # "ends": 0 or 1, reconstruction only
        t = t.to(device, torch.float32)
        pt = torch.lerp(p0, p1, t[:, None])  # (K, 5), exactly p0 at t = 0 and p1 at t = 1
        states = torch.cat([p0, p1, pt])  # (3K, 5)
        src = images[pick].repeat(3, 1, 1, 1)  # (3K, 3, H, W)
        heldout = (~masks[pick].bool()).repeat(3, 1, 1, 1)  # (3K, 1, H, W)
        frames, valid = change_batch(src, heldout, states)  # (3K, 3, H, W), (3K, 1, H, W)
        if self.interp_blend == "both":
            blend_latent = torch.arange(k, device=device) % 2 == 0  # (K,)
        else:
            blend_latent = torch.full((k,), self.interp_blend != "weights", device=device)
        return InterpBatch(pick, frames[:2 * k], t, frames[2 * k:], valid[2 * k:], blend_latent)

    def interp_loss(self, batch: InterpBatch, z0: torch.Tensor, z1: torch.Tensor,
                    gen: torch.Generator | None = None) -> torch.Tensor:
        """Masked MSE of the decoded blends against the true in-betweens, at `interp_pixels`
        random valid pixels per in-between (all valid ones when 0). z0, z1 (K, D); gen: as
        `make_batch`'s."""
        gen = self.generator if gen is None else gen
        t = batch.t[:, None]  # (K, 1)
        z_t = torch.lerp(z0, z1, t)  # (K, D)
        h_t = torch.lerp(self.hypernet.trunk(z0), self.hypernet.trunk(z1), t)  # (K, H)
        h = torch.where(batch.blend_latent[:, None], self.hypernet.trunk(z_t), h_t)  # (K, H)
        params = self.params_from_features(h)
        k, _, res, _ = batch.truth.shape
        grid = pixel_grid(res, z0.device)  # (HW, 2)
        valid = batch.valid.view(k, -1)  # (K, HW)
        truth = to_pixels(batch.truth)  # (K, HW, 3)
        if self.interp_pixels and self.interp_pixels < res * res:
            score = torch.rand(valid.shape, generator=gen, device=z0.device).masked_fill(~valid, -1.0)  # (K, HW)
            idx = score.topk(self.interp_pixels, dim=1).indices  # (K, P), valid ones first
            coords, valid = grid[idx], valid.gather(1, idx)  # (K, P, 2), (K, P)
            truth = truth.gather(1, idx[..., None].expand(-1, -1, 3))  # (K, P, 3)
        else:
            coords = grid  # (HW, 2)
        pred = rgb_from_output(self.siren.functional(params, coords))  # (K, P, 3)
        w = valid.to(pred.dtype)[..., None]  # (K, P, 1)
        return ((pred - truth).pow(2) * w).sum() / (3 * w.sum()).clamp_min(1.0)

    def encode_with_changed(self, images: torch.Tensor, masks: torch.Tensor, index: torch.Tensor,
                            b: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One encoder pass over the batch (rows :b) and the changed icons (rows b:), with the
        standardization of the batch alone: the batch's latents (b, D) are exactly what
        HyperINR's encoder gives them (its batch statistics, the same running-stat update), and
        the changed icons' latents (N - b, D) are standardized with those same statistics.
        Mixing the changed icons into the statistics would shift every icon's code by a random
        amount each step (a batch of all the icons has fixed statistics under plain hyper)."""
        enc = self.latent_source
        bn = enc.standardize
        enc.standardize = nn.Identity()  # the raw latents of all rows, before standardization
        try:
            raw = enc(images, masks, index)  # (N, D)
        finally:
            enc.standardize = bn
        z = bn(raw[:b])  # (b, D): batch statistics, running statistics updated as in HyperINR
        mean, var = raw[:b].mean(0), raw[:b].var(0, unbiased=False)  # (D,), what bn normalized with
        return z, (raw[b:] - mean) * torch.rsqrt(var + bn.eps)  # (b, D), (N - b, D)

    def forward(self, images: torch.Tensor, masks: torch.Tensor, index: torch.Tensor,
                coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """HyperINR's training forward, plus interp_weight * the interpolation loss in the
        penalty (only in training mode and with interp_weight > 0; else exactly HyperINR's)."""
        if not (self.training and self.interp_weight > 0):
            return super().forward(images, masks, index, coords)
        b = len(images)
        batch = self.make_batch(images, masks)
        k = len(batch.pick)
        full = torch.ones_like(masks[:1]).expand(2 * k, -1, -1, -1)  # (2K, 1, H, W): the encoder sees every pixel
        z, z_changed = self.encode_with_changed(torch.cat([images, batch.inputs]), torch.cat([masks, full]),
                                                torch.cat([index, index[batch.pick].repeat(2)]), b)  # (B, D), (2K, D)
        z0, z1 = z_changed[:k], z_changed[k:]  # (K, D) each
        rep = Rep(latent=z, params=self.hypernet(z))
        loss = self.interp_loss(batch, z0, z1)
        return self.decode(rep, coords), self.penalty(rep) + self.interp_weight * loss

"""Hypernetwork + MAML: the hypernetwork emits each image's SIREN *init*, a few inner steps refine it.

    z_b       = encoder(image_b * mask_b, mask_b)                       (B, D)   conv set encoder
    theta_b^0 = hypernet(z_b)                                           {name: (B, *shape)}
    theta_b^{t+1} = theta_b^t - lrs * grad L_b(theta_b^t)               t < inner_steps

The first two lines are exactly HyperINR's encode (models/hypernet.py; hypernetworks: Ha et
al. 2017), so with 0 inner steps this method IS the one-pass hypernetwork. The third is MAML's
inner loop (Finn et al. 2017) with per-parameter learned rates (Meta-SGD, Li et al. 2017) on
the image's observed pixels, as in MamlINR (meta/maml.py), except that the start point is
per image instead of one learned init (Tancik et al. 2021 learn one init for all images).
Everything (encoder, hypernetwork with its base SIREN, rates) trains end to end through the
trainer's outer loss, second order by default.

Why both: the hypernetwork alone fits its 100 training icons well in one pass but its encoder
memorizes them (unseen icons score at the mean icon's level); MAML fits any icon from one shared
init, but only as far as 3 steps go. Here the inner loop corrects whatever the encoder gets wrong
on an image it has never seen, and the hypernetwork can give every image a better start than one
shared init.

The hypernetwork's head starts at zero (`head_init` 0), so at init every image starts from the
base SIREN and this method is MAML exactly; per-image starts grow from there as far as they help
the adapted result. With hyper's random head (0.5: every image starts from a differently
perturbed init) the hybrid learned far slower (README, question 1).

Capabilities: `adapts` (encode takes a `steps` override). `decodes_latent` is False: after
adaptation the weights depend on the image's pixels, not on the latent alone, so a blended
latent has no adapted weights to decode; interpolation blends the adapted weights instead
(mode "weights"). The Rep still carries the latent, for latent similarity.
"""
from __future__ import annotations

import torch
from torch.func import vmap

from data.pixels import pixel_grid, to_pixels
from meta.adapt import adapt
from meta.maml import MamlINR
from models.encoder import build_latent_source
from models.hypernet import HyperNetwork
from models.method import Rep
from models.siren import Params, Siren, SirenConfig


def adapt_each(siren: Siren, init: Params, coords: torch.Tensor, target: torch.Tensor, weights: torch.Tensor,
               steps: int, lrs: Params, first_order: bool = False, adapt_names: list[str] | None = None) -> Params:
    """`meta.adapt.adapt` vmapped over B images that each have their OWN init (adapt_batch shares
    one): init {name: (B, *shape)}; coords (P, 2) and lrs shared; target (B, P, 3); weights (B, P).
    Returns {name: (B, *shape)}; steps == 0 returns `init` itself (the same tensors)."""
    if steps == 0:
        return dict(init)

    def one(init: Params, target: torch.Tensor, weights: torch.Tensor) -> Params:
        return adapt(siren, init, coords, target, weights, steps, lrs, first_order, adapt_names)

    return vmap(one)(init, target, weights)


class HyperMamlINR(MamlINR):
    """Conv set encoder -> hypernetwork -> per-image SIREN init -> `inner_steps` Meta-SGD steps.

    Inherits from MamlINR the learned rates (`inner_lrs`, `lr_gain`), eval under no_grad,
    `represent`, `reconstructions` and `extra_reconstructions` (rows after 0, 1 and
    inner_steps steps: 0 steps is the hypernetwork's one-pass output). Its modules are named
    like HyperINR's (siren, latent_source, hypernet), so a HyperINR state dict loads into it
    (strict=False: the rates are new).
    """

    decodes_latent = False  # adapted weights are not a function of the latent alone (see the docstring)
    adapts = True

    def __init__(self, siren_cfg: SirenConfig, inner_steps: int, inner_lr: float, meta_sgd: bool, first_order: bool,
                 adapt: str, latent_dim: int = 128, hyper_hidden: int = 256, head_init: float = 0.0,
                 channels_last: bool = False):
        """inner_*, meta_sgd, first_order, adapt: as MamlINR; latent_dim, hyper_hidden: as HyperINR;
        head_init: HyperNetwork's (0 = the hypernetwork's head starts at zero, so at init every
        image gets the base SIREN as its start and this method IS MamlINR, seed for seed)."""
        super().__init__(siren_cfg, inner_steps, inner_lr, meta_sgd, first_order, adapt)  # self.siren, the rates
        # Built in HyperINR's order after the SIREN, so one seed gives HyperINR's initial weights.
        self.latent_source = build_latent_source("conv", 0, latent_dim, channels_last)
        self.hypernet = HyperNetwork(self.siren, latent_dim, hyper_hidden, head_init)  # its base IS self.siren

    def initial_params(self, images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, Params]:
        """HyperINR's encode: images (B, 3, H, W), masks (B, 1, H, W) -> latent (B, D), init {name: (B, *shape)}."""
        latent = self.latent_source(images, masks, None)  # (B, D)
        return latent, self.hypernet(latent)

    def _adapt(self, images: torch.Tensor, masks: torch.Tensor, steps: int | None) -> Rep:
        steps = self.steps_to_take(self.inner_steps, steps)
        latent, init = self.initial_params(images, masks)  # (B, D), {name: (B, *shape)}
        coords = pixel_grid(images.shape[-1], images.device)  # (H*W, 2), shared by all images
        target = to_pixels(images)  # (B, H*W, 3)
        weights = masks.flatten(1).to(images.dtype)  # (B, H*W), 0 = held out
        lrs = self.inner_lrs()  # {name: (*shape)}
        if not torch.is_grad_enabled():  # views of Parameters made under no_grad still claim requires_grad
            lrs = {k: v.detach() for k, v in lrs.items()}
        params = adapt_each(self.siren, init, coords, target, weights, steps, lrs,
                            self.first_order, self.adapt_names)  # {name: (B, *shape)}
        return Rep(latent=latent, params=params)

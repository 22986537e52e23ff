"""MAML for coordinate networks: a meta-learned SIREN init that fits an image in a few steps.

An image's representation is not a latent code but the SIREN weights reached after
`inner_steps` gradient steps from the shared init on the image's observed pixels
(Finn et al. 2017; applied to INRs by Tancik et al. 2021, "Learned initializations for
optimizing coordinate-based neural representations"). The step sizes are learned per
parameter, elementwise (Meta-SGD, Li et al. 2017), or one fixed scalar with meta_sgd=False.

Training goes through the shared trainer unchanged: `encode` runs the inner loop with the
graph attached to the init and the learned rates, the trainer's MSE at the sampled
training pixels is the outer (query) loss, and its `loss.backward()` is the meta-gradient.
Support and query pixels are the same image, as in Tancik et al. (sec. 3): the held-out 10%
is never seen in either loop, so psnr/heldout_pixels still measures generalization.

With adapt="shift" only the hidden-layer biases adapt, which equals Functa's shift
modulations (Dupont et al. 2022), see meta/adapt.py.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from data.pixels import pixel_grid, to_images, to_pixels
from meta.adapt import adapt_batch, adapt_names
from models.method import Method, Rep, rgb_from_output
from models.siren import Params, Siren, SirenConfig, module_key


class MamlINR(Method):
    """Meta-learned SIREN init + (learned) inner learning rates; the Rep holds adapted params."""

    handles_unseen_images = True  # any image can be fitted from the init, seen in training or not
    adapts = True  # encode takes a `steps` override
    # Adam moves every parameter by about its lr per step whatever the gradient's scale. The
    # init's weights need steps ~1e-3, a log-rate needs O(1) changes to matter, so the learned
    # rates are log_lr = log(inner_lr) + lr_gain * u: an Adam step on u moves log_lr lr_gain x as far.
    lr_gain: float = 10.0

    def __init__(self, siren_cfg: SirenConfig, inner_steps: int, inner_lr: float, meta_sgd: bool,
                 first_order: bool, adapt: str):
        """inner_steps, inner_lr, meta_sgd, first_order, adapt: see train_maml.MamlConfig."""
        super().__init__()
        self.siren = Siren(siren_cfg)  # its parameters ARE the meta-learned init theta_0
        self.inner_steps, self.first_order, self.meta_sgd = inner_steps, first_order, meta_sgd
        self.adapt_names = adapt_names(self.siren, adapt)
        self.register_buffer("log_lr", torch.tensor(math.log(inner_lr)))  # ()
        if self.meta_sgd:
            # Log-parametrized so rates stay positive; one rate per weight entry as in Meta-SGD
            # (Li et al. 2017, sec. 3).
            shapes = dict(self.siren.named_parameters())
            self.lr_offsets = nn.ParameterDict({
                module_key(n): nn.Parameter(torch.zeros_like(shapes[n])) for n in self.adapt_names})

    def inner_lrs(self) -> Params:
        """{name: (*shape) or ()} step size of every adapted parameter."""
        if self.meta_sgd:
            return {n: (self.log_lr + self.lr_gain * self.lr_offsets[module_key(n)]).exp() for n in self.adapt_names}
        return {n: self.log_lr.exp() for n in self.adapt_names}

    def encode(self, images: torch.Tensor, masks: torch.Tensor, index: torch.Tensor | None = None,
               steps: int | None = None) -> Rep:
        """Adapt the init to each image on its observed pixels.

        images (B, 3, H, W) in [0, 1]; masks (B, 1, H, W) bool, True = observed; index unused
        (nothing per-image is stored); steps overrides `inner_steps` (0 = the init itself).
        Returns Rep(params={name: (B, *shape)}). In training mode the params stay attached to
        the init and the rates (second order unless first_order); in eval mode the inner loop
        runs under no_grad: torch.func.grad still differentiates inside it, but no outer
        graph is kept, so evaluating 100 images costs a fraction of a training step's memory.
        """
        if not self.training:
            with torch.no_grad():
                return self._adapt(images, masks, steps)
        return self._adapt(images, masks, steps)

    def _adapt(self, images: torch.Tensor, masks: torch.Tensor, steps: int | None) -> Rep:
        steps = self.steps_to_take(self.inner_steps, steps)
        coords = pixel_grid(images.shape[-1], images.device)  # (H*W, 2), shared by all images
        target = to_pixels(images)  # (B, H*W, 3)
        weights = masks.flatten(1).to(images.dtype)  # (B, H*W), 0 = held out
        init, lrs = self.siren.params(), self.inner_lrs()
        if not torch.is_grad_enabled():  # views of Parameters made under no_grad still claim requires_grad
            init, lrs = ({k: v.detach() for k, v in d.items()} for d in (init, lrs))
        params = adapt_batch(self.siren, init, coords, target, weights, steps, lrs,
                             self.first_order, self.adapt_names)  # {name: (B, *shape)}
        return Rep(params=params)

    def represent(self, images: torch.Tensor, masks: torch.Tensor | None = None, steps: int | None = None) -> Rep:
        """Adapted params of any images (seen or unseen), detached: what interpolation blends.
        images (B, 3, H, W); masks (B, 1, H, W) bool or None (all pixels observed)."""
        if masks is None:
            masks = torch.ones_like(images[:, :1], dtype=torch.bool)  # (B, 1, H, W)
        with torch.no_grad():
            return self._adapt(images, masks, steps).detach()

    def decode(self, rep: Rep, coords: torch.Tensor) -> torch.Tensor:
        return rgb_from_output(self.siren.functional(rep.params, coords))  # (B, P, 3)

    @torch.no_grad()
    def reconstructions(self, images: torch.Tensor, masks: torch.Tensor, steps: list[int]) -> dict[int, torch.Tensor]:
        """Renders at the images' resolution after each number of inner steps: {k: (B, 3, H, W)}."""
        res = images.shape[-1]
        coords = pixel_grid(res, images.device)  # (H*W, 2)
        return {k: to_images(self.decode(self.represent(images, masks, k), coords), res) for k in steps}

    def extra_reconstructions(self, images: torch.Tensor, masks: torch.Tensor) -> dict[str, list[torch.Tensor]]:
        """Rows after 0 steps (the init), 1 step and `inner_steps` steps: how much the
        meta-learned init already knows and what each inner step adds (Tancik et al. 2021,
        fig. 3). images (K, 3, H, W), masks (K, 1, H, W) on any device -> {tag: [(K, 3, H, W)]}."""
        device = next(self.parameters()).device
        steps = sorted({0, 1, self.inner_steps})
        recon = self.reconstructions(images.to(device), masks.to(device), steps)
        return {"images/inner_steps_" + "_".join(map(str, steps)) + "_truth": [recon[k].cpu() for k in steps]}

"""The MAML inner loop: a few gradient steps from a meta-learned SIREN init on one image.

    theta_0 = init,   theta_{t+1} = theta_t - lrs * grad_theta L_image(theta_t)   (t < steps)

This is MAML (Finn et al. 2017, eq. 1) with per-parameter learned step sizes (Meta-SGD,
Li et al. 2017, eq. 2), applied to coordinate networks as in Tancik et al. 2021 ("Learned
initializations for optimizing coordinate-based neural representations"). The loss is the
MSE over the image's observed pixels only (held-out pixels have weight 0).

`adapt` is written for ONE image and batched with `torch.func.vmap` (`adapt_batch`). The
inner gradient comes from `torch.func.grad`, a function transform: it ignores an outer
`torch.no_grad()` (evaluation still adapts), and its result stays differentiable for the
outer autograd, so `loss.backward()` after adaptation yields the full second-order
meta-gradient into the init and the learned rates. `first_order=True` detaches the inner
gradient (first-order MAML, Finn et al. 2017 sec. 5.2): the meta-gradient then only flows
along the identity path theta_k = theta_0 - sum(...) into the init, and into the lrs.

tests/maml_reference.py computes the same thing by hand (the batched functional forward and
`torch.autograd.grad`), a cross-check: on 2 CPU cores both take ~25-35 s for a second-order
step over 100 images of 48 px (~8-10 s first order), equal within timing noise, so `MamlINR`
runs the vmapped one.

Shift modulation (Functa, Dupont et al. 2022, sec. 3): per-image shifts s_k added to every
hidden pre-activation, sin(w0 (W_k x + b_k + s_k)), adapted from s_k = 0. Since b_k + s_k
is just another bias, this is exactly adapting the biases of the hidden layers starting from
the meta-learned biases; `adapt_names(siren, "shift")` lists those biases.
"""
from __future__ import annotations

import torch
from torch.func import grad, vmap

from models.method import rgb_from_output
from models.siren import Params, Siren


def adapt_names(siren: Siren, mode: str) -> list[str]:
    """Names of the parameters the inner loop changes: "all" or "shift" (hidden-layer biases)."""
    names = [name for name, _ in siren.named_parameters()]
    if mode == "all":
        return names
    if mode == "shift":
        last = len(siren.layers) - 1  # the output layer has no activation to modulate (Functa)
        return [f"layers.{k}.bias" for k in range(last)]
    raise ValueError(f"unknown adapt mode {mode!r}: use 'all' or 'shift'")


def masked_mse(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean squared error over weighted pixels. pred, target (..., P, 3) in [0, 1] space;
    weights (..., P); returns (...). Same scale as the trainer's outer MSE."""
    sq = (pred - target).pow(2).mean(-1)  # (..., P)
    return (sq * weights).sum(-1) / weights.sum(-1).clamp_min(1)  # (...)


def adapt(siren: Siren, init: Params, coords: torch.Tensor, target: torch.Tensor, weights: torch.Tensor,
          steps: int, lrs: Params, first_order: bool = False, adapt_names: list[str] | None = None) -> Params:
    """Inner loop on ONE image.

    init: {name: (*shape)} the start point; coords (P, 2); target (P, 3) in [0, 1];
    weights (P,) float, 1 = observed pixel; lrs: {name: (*shape) or ()} step sizes for the
    adapted names. Returns the full params dict {name: (*shape)}; names not in
    `adapt_names` (default: all) are returned unchanged.
    """
    names = list(init) if adapt_names is None else list(adapt_names)
    frozen = {k: v for k, v in init.items() if k not in names}
    fast = {k: init[k] for k in names}

    def loss(fast: Params) -> torch.Tensor:
        pred = rgb_from_output(siren.functional({**frozen, **fast}, coords))  # (P, 3)
        return masked_mse(pred, target, weights)  # ()

    inner_grad = grad(loss)
    for _ in range(steps):
        g = inner_grad(fast)  # {name: (*shape)}, differentiable w.r.t. the outer graph
        if first_order:
            g = {k: v.detach() for k, v in g.items()}  # drop the Hessian terms (FOMAML)
        fast = {k: fast[k] - lrs[k] * g[k] for k in names}
    return {**frozen, **fast}


def adapt_batch(siren: Siren, init: Params, coords: torch.Tensor, target: torch.Tensor, weights: torch.Tensor,
                steps: int, lrs: Params, first_order: bool = False, adapt_names: list[str] | None = None) -> Params:
    """`adapt` vmapped over B images: init, lrs and coords (P, 2) shared; target (B, P, 3),
    weights (B, P) per image. Returns {name: (B, *shape)} (unadapted names broadcast)."""
    def one(init: Params, coords: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, lrs: Params) -> Params:
        return adapt(siren, init, coords, target, weights, steps, lrs, first_order, adapt_names)

    # vmap expands outputs that do not depend on the mapped inputs, so every entry has a batch dim.
    return vmap(one, in_dims=(None, None, 0, 0, None))(init, coords, target, weights, lrs)

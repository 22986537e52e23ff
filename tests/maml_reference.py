"""A hand-written batched inner loop, the cross-check of meta.adapt.adapt_batch (tests only)."""
from __future__ import annotations

import torch

from meta.adapt import masked_mse
from models.method import rgb_from_output
from models.siren import Params, Siren


def adapt_batch_manual(siren: Siren, init: Params, coords: torch.Tensor, target: torch.Tensor,
                       weights: torch.Tensor, steps: int, lrs: Params, first_order: bool = False,
                       adapt_names: list[str] | None = None) -> Params:
    """Same result as `adapt_batch`, by hand: the batched functional forward over params
    {name: (B, *shape)} and one `torch.autograd.grad` of the SUM of per-image losses (image b's
    loss depends only on its own params, so that gives every image's own gradient).
    create_graph keeps second-order terms. Also works under an outer torch.no_grad()."""
    b, outer_grad = len(target), torch.is_grad_enabled()
    names = list(init) if adapt_names is None else list(adapt_names)
    params = {k: v.expand(b, *v.shape) for k, v in init.items()}  # (B, *shape), views
    if not outer_grad:  # a view made under no_grad still says requires_grad, but has no graph
        params = {k: v.detach() for k, v in params.items()}
    with torch.enable_grad():  # autograd.grad needs a graph even during no_grad evaluation
        fast = {k: params[k] if params[k].requires_grad else params[k].detach().requires_grad_() for k in names}
        for _ in range(steps):
            pred = rgb_from_output(siren.functional({**params, **fast}, coords))  # (B, P, 3)
            loss = masked_mse(pred, target, weights).sum()  # () sum over images
            g = torch.autograd.grad(loss, [fast[k] for k in names], create_graph=outer_grad and not first_order)
            fast = {k: fast[k] - lrs[k] * gk for k, gk in zip(names, g)}  # (B, *shape)
            if not outer_grad:  # evaluation: keep no graph across steps
                fast = {k: v.detach().requires_grad_() for k, v in fast.items()}
    if not outer_grad:
        fast = {k: v.detach() for k, v in fast.items()}
    return {**params, **fast}

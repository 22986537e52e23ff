"""A hand-written batched inner loop, the cross-check of meta.adapt.adapt_batch, and the toy
images and tiny SIREN the inner-loop tests share (tests only)."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from meta.adapt import masked_mse
from models.method import rgb_from_output
from models.siren import Params, Siren, SirenConfig

TINY = SirenConfig(hidden=16, hidden_layers=1)


def toy_images(b: int = 3, res: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth random images (B, 3, res, res) in [0, 1] and masks (B, 1, res, res), ~20% unobserved."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(b, 3, 3, 3, generator=gen)  # (B, 3, 3, 3)
    images = torch.nn.functional.interpolate(coarse, size=(res, res), mode="bilinear", align_corners=True)
    masks = torch.rand(b, 1, res, res, generator=gen) > 0.2
    return images, masks


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


def write_pngs(folder, count: int = 4, res: int = 12) -> None:
    """`count` toy images as PNG files in a new `folder` (a tiny user data set)."""
    folder.mkdir()
    images, _ = toy_images(count, res)
    for k, image in enumerate(images):
        Image.fromarray((image.permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(folder / f"img{k}.png")

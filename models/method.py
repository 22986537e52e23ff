"""The one interface every method offers, and the representation it returns.

    rep = method.encode(images, masks, index)   # what a method knows about each image
    rgb = method.decode(rep, coords)             # colours at any coordinates, in [0, 1] space

A `Rep` holds a latent (B, D), SIREN parameters {name: (B, *shape)}, or both. Training,
evaluation, upsampling, similarity and interpolation are written once against this
interface; a new method is one class.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from models.siren import Params


@dataclass
class Rep:
    """Representation of a batch of B images.

    latent: (B, D) or None.
    params: {name: (B, *shape)} SIREN weights per image, or None.
    """

    latent: torch.Tensor | None = None
    params: Params | None = None

    def __len__(self) -> int:
        return len(self.latent) if self.latent is not None else len(next(iter(self.params.values())))

    def select(self, index) -> "Rep":
        """Images `index` (an int, slice or index tensor) of the batch, batch dim kept for ints."""
        index = [index] if isinstance(index, int) else index
        latent = self.latent[index] if self.latent is not None else None
        params = {k: v[index] for k, v in self.params.items()} if self.params is not None else None
        return Rep(latent, params)

    @staticmethod
    def cat(reps: "list[Rep]") -> "Rep":
        """Concatenate reps along the batch dimension (all with the same fields)."""
        latent = torch.cat([r.latent for r in reps]) if reps[0].latent is not None else None
        params = ({k: torch.cat([r.params[k] for r in reps]) for k in reps[0].params}
                  if reps[0].params is not None else None)
        return Rep(latent, params)

    def detach(self) -> "Rep":
        latent = self.latent.detach() if self.latent is not None else None
        params = {k: v.detach() for k, v in self.params.items()} if self.params is not None else None
        return Rep(latent, params)


def rgb_from_output(out: torch.Tensor) -> torch.Tensor:
    """Networks predict in [-1, 1] (zero-centred like SIREN's outputs at init); images live in [0, 1]."""
    return out * 0.5 + 0.5


class Method(nn.Module):
    """Base class: subclasses implement `encode`, `decode` and may add a latent penalty.

    Capabilities are declared here, as attributes a subclass (or its constructor) sets, so
    callers read them instead of probing for methods.
    """

    #: `encode` works on images outside the training set (amortized or optimized)
    handles_unseen_images: bool = True
    #: a Rep's latent alone decodes: `params_from_latent` emits weights for any latent (or the
    #: method decodes latents directly), so latents can be blended
    decodes_latent: bool = False
    #: a Rep carries per-image SIREN weights (B x the SIREN's size): train/memory.py counts them
    emits_weights: bool = True
    #: `encode(images, masks, index, steps=k)` runs k inner gradient steps (k = 0: the start point)
    #: instead of its default number; analysis/scoring/inner_steps.py tabulates PSNR against k
    adapts: bool = False
    #: the run's step generator (on the training device), set by train.trainer.Run: a method that
    #: draws random numbers in its training forward (hyper_interp) draws them from it, so a run is
    #: seeded by --seed alone and resumes exactly; None outside training (torch's global RNG)
    generator: torch.Generator | None = None
    #: the inner steps `encode` takes outside training when not told (an `adapts` method only; None = the
    #: number it trained with). api.load(..., steps=k) and the scripts' --steps set it, so every encode of
    #: an evaluation or an interpolation path (its endpoints, aligned views) takes the same k steps
    test_steps: int | None = None

    def steps_to_take(self, trained: int, steps: int | None) -> int:
        """The inner steps of one encode: `steps` when given, else `test_steps` outside training, else `trained`."""
        if steps is not None:
            return steps
        return self.test_steps if self.test_steps is not None and not self.training else trained

    def encode(self, images: torch.Tensor, masks: torch.Tensor, index: torch.Tensor) -> Rep:
        """images (B, 3, H, W) in [0, 1]; masks (B, 1, H, W) bool, True = observed;
        index (B,) long, the images' rows in the training set (for code tables)."""
        raise NotImplementedError

    def decode(self, rep: Rep, coords: torch.Tensor) -> torch.Tensor:
        """coords (P, 2) or (B, P, 2) -> rgb (B, P, 3) in [0, 1] space (not clamped)."""
        raise NotImplementedError

    def params_from_latent(self, latent: torch.Tensor) -> Params | None:
        """SIREN weights {name: (B, *shape)} for arbitrary latents (B, D), e.g. blended ones;
        None for a method that decodes latents directly. Only when `decodes_latent`."""
        raise NotImplementedError(f"{type(self).__name__} does not decode latents")

    def shared_base(self) -> list[nn.Parameter]:
        """The parameters of the one network every image shares (a SIREN that modulations or latents
        steer), trained at --base-lr x --lr; [] for a method without one (all its parameters at --lr)."""
        return []

    def extra_reconstructions(self, images: torch.Tensor, masks: torch.Tensor) -> dict[str, list[torch.Tensor]]:
        """Method-specific rows of reconstructions for the evaluation's figures:
        {tag: [rows (K, 3, H, W)]}; the evaluation appends the truth and tiles them. None by default."""
        return {}

    def penalty(self, rep: Rep) -> torch.Tensor:
        """Regularizer added to the training loss (default none)."""
        return torch.zeros((), device=next(self.parameters()).device)

    def forward(self, images: torch.Tensor, masks: torch.Tensor, index: torch.Tensor,
                coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The training forward: encode, decode at `coords`, and the penalty.

        images (B, 3, H, W); masks (B, 1, H, W) bool; index (B,) long; coords (B, P, 2) or (P, 2).
        Returns (rgb (B, P, 3), penalty ()). The trainer calls the method through this, so
        DistributedDataParallel (which hooks `forward`) can wrap any method.
        """
        rep = self.encode(images, masks, index)
        return self.decode(rep, coords), self.penalty(rep)

    @torch.no_grad()
    def render(self, rep: Rep, res: int, chunk_pixels: int = 1 << 20) -> torch.Tensor:
        """Render every image of `rep` at res x res: (B, 3, res, res) in [0, 1] space.

        Memory stays bounded: at most `chunk_pixels` pixel evaluations (over all images of
        the batch) are in flight at once.
        """
        from data.pixels import pixel_grid, to_images

        device = next(self.parameters()).device
        grid = pixel_grid(res, device)  # (res*res, 2)
        step = max(1, chunk_pixels // len(rep))
        out = torch.cat([self.decode(rep, grid[i:i + step]) for i in range(0, len(grid), step)], dim=1)  # (B, res*res, 3)
        return to_images(out, res)

"""Evaluation shared by every method: the same metrics, under the same TensorBoard tags.

Metrics (PSNR in dB on [0, 1] images, predictions clamped, averaged over images):
    psnr/train_pixels     training images, pixels the model was trained on
    psnr/heldout_pixels   training images, the fixed 10% held-out pixels (never trained on,
                          never shown to the encoder)
    psnr/unseen_images    images of a test split never seen in training, encoded from all
                          their pixels, scored on all pixels (a folder's: its held-back images)
    psnr/upsample_<R>     the model trained at res rendered at R px, against true R px images
                          (of a folder, only the images whose file has >= R px: data/split.true_rows)
    psnr/lanczos_<R>      the Lanczos upsample of the res px images, same targets (reference)
    psnr/unseen_upsample_<R>, psnr/unseen_lanczos_<R>   the same for the unseen images
"""
from __future__ import annotations

import logging

import torch

from analysis.figures import error_map, make_grid
from data.images import ImageSet, lanczos_resize, load_images
from data.split import train_split, true_rows, unseen_source
from errors import UserError
from models.method import Method, Rep

log = logging.getLogger(__name__)


def psnr(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image PSNR (dB). pred, target (B, 3, H, W) in [0, 1]; mask (B, 1, H, W) bool selects pixels."""
    sq = (pred.clamp(0, 1) - target).pow(2).mean(1, keepdim=True)  # (B, 1, H, W)
    if mask is None:
        mse = sq.flatten(1).mean(1)
    else:
        m = mask.to(sq.dtype)
        mse = (sq * m).flatten(1).sum(1) / m.flatten(1).sum(1).clamp_min(1)
    return -10 * torch.log10(mse.clamp_min(1e-10))  # (B,)


def encode_all(method: Method, images: torch.Tensor, masks: torch.Tensor, batch: int = 100) -> Rep:
    """Encode a whole image set in batches; returns a detached Rep on the method's device."""
    device = next(method.parameters()).device
    reps = []
    for i in range(0, len(images), batch):
        index = torch.arange(i, min(i + batch, len(images)), device=device)
        reps.append(method.encode(images[i:i + batch].to(device), masks[i:i + batch].to(device), index).detach())
    latent = torch.cat([r.latent for r in reps]) if reps[0].latent is not None else None
    params = {k: torch.cat([r.params[k] for r in reps]) for k in reps[0].params} if reps[0].params is not None else None
    return Rep(latent, params)


def render_all(method: Method, rep: Rep, res: int, batch: int = 100) -> torch.Tensor:
    """Render every image of `rep` at res: (N, 3, res, res) on CPU."""
    return torch.cat([method.render(rep.select(slice(i, i + batch)), res).cpu() for i in range(0, len(rep), batch)])


class Evaluator:
    """Holds the evaluation data of a run (loaded once) and scores a method on it."""

    def __init__(self, train: ImageSet, heldout: torch.Tensor, hr_res: int = 256, data: str = "icons100",
                 unseen: str = "auto", unseen_count: int = 100, grid_count: int = 10):
        self.train, self.heldout, self.grid_count = train, heldout, grid_count
        self.hr: ImageSet | None = None
        if hr_res:
            try:
                hr = load_images(data, hr_res, train_split(data, unseen))
                self.hr_rows = true_rows(hr, "training")  # all, or a folder's images with a true R px version
                self.lanczos = lanczos_resize(train.images, hr_res)  # (N, 3, R, R)
                self.lanczos_psnr = psnr(self.lanczos[self.hr_rows], hr.images[self.hr_rows]).mean().item()
                self.hr = hr
            except UserError as err:
                log.info("no upsampling evaluation: %s", err)
        self.unseen: ImageSet | None = None
        source = unseen_source(data, unseen)  # (data set, split) or None
        if source:
            unseen, split = source
            try:
                full = load_images(unseen, train.res, split=split)
                self.unseen = ImageSet(full.images[:unseen_count], full.names[:unseen_count], full.source)
            except UserError as err:
                log.info("no unseen-image evaluation: %s", err)
        self.unseen_hr: torch.Tensor | None = None  # (K, 3, R, R) true renders of the unseen images
        if self.unseen is not None and hr_res:
            try:
                truth = load_images(unseen, hr_res, split=split)
                rows = self.unseen_hr_rows = true_rows(truth, "unseen", unseen_count)
                self.unseen_lanczos_psnr = psnr(lanczos_resize(self.unseen.images, hr_res)[rows],
                                                truth.images[:unseen_count][rows]).mean().item()
                self.unseen_hr = truth.images[:unseen_count]
            except UserError as err:
                log.info("no unseen-image upsampling evaluation: %s", err)

    def __call__(self, method: Method, with_images: bool = False) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
        """Returns (scalars by TensorBoard tag, image grids (3, H, W) by tag)."""
        was_training = method.training
        method.eval()
        scalars, grids = {}, {}
        observed = ~self.heldout
        rep = encode_all(method, self.train.images, observed)
        recon = render_all(method, rep, self.train.res)  # (N, 3, res, res)
        scalars["psnr/train_pixels"] = psnr(recon, self.train.images, observed).mean().item()
        scalars["psnr/heldout_pixels"] = psnr(recon, self.train.images, self.heldout).mean().item()
        if self.hr is not None:
            hr_res = self.hr.res
            upsampled = render_all(method, rep, hr_res)
            scalars[f"psnr/upsample_{hr_res}"] = psnr(upsampled[self.hr_rows], self.hr.images[self.hr_rows]).mean().item()
            scalars[f"psnr/lanczos_{hr_res}"] = self.lanczos_psnr
        if self.unseen is not None and method.handles_unseen_images:
            full = torch.ones_like(self.unseen.images[:, :1], dtype=torch.bool)
            unseen_rep = encode_all(method, self.unseen.images, full)
            unseen_recon = render_all(method, unseen_rep, self.unseen.res)
            scalars["psnr/unseen_images"] = psnr(unseen_recon, self.unseen.images).mean().item()
            if self.unseen_hr is not None:
                # Upsampling icons never seen at any resolution: the honest score for a model
                # trained with --hr-supervision, which has seen the training icons' true renders.
                hr_res = self.unseen_hr.shape[-1]
                unseen_up = render_all(method, unseen_rep, hr_res)
                rows = self.unseen_hr_rows
                scalars[f"psnr/unseen_upsample_{hr_res}"] = psnr(unseen_up[rows], self.unseen_hr[rows]).mean().item()
                scalars[f"psnr/unseen_lanczos_{hr_res}"] = self.unseen_lanczos_psnr
        if with_images:
            k = self.grid_count
            shown = self.train.images[:k] * observed[:k] + 0.5 * self.heldout[:k]  # held-out pixels grey
            grids["images/input"] = make_grid(shown)
            grids["images/reconstruction"] = make_grid(recon[:k])
            grids["images/error_x4"] = make_grid(error_map(recon[:k], self.train.images[:k]))
            if self.hr is not None:
                grids[f"images/render_{self.hr.res}"] = make_grid(upsampled[:k])
            for tag, rows in method.extra_reconstructions(self.train.images[:k], observed[:k]).items():
                grids[tag] = make_grid(torch.cat([*rows, self.train.images[:k]]), ncol=k)  # e.g. MAML after 0/1/k steps
            if self.unseen is not None and method.handles_unseen_images:
                pair = torch.cat([self.unseen.images[:k], unseen_recon[:k]])
                grids["images/unseen_truth_and_reconstruction"] = make_grid(pair, ncol=k)
        method.train(was_training)
        return scalars, grids

"""Evaluation shared by every method: the same metrics, under the same TensorBoard tags.

Metrics (PSNR in dB on [0, 1] images, predictions clamped, averaged over images):
    psnr/train_pixels     training images, pixels the model was trained on
    psnr/heldout_pixels   training images, the fixed 10% held-out pixels (never trained on,
                          never shown to the encoder)
    psnr/unseen_images    images of a test split never seen in training, encoded from all
                          their pixels, scored on all pixels (how well one look captures an icon; a folder's: its
                          held-back images)
    psnr/unseen_heldout_pixels  the same unseen images encoded from (MAML: adapted to) 90% of
                          their pixels, scored on the other 10% (data.pixels.UNSEEN_HELDOUT_SEED):
                          prediction of pixels of an icon never seen, none of them read
    psnr/upsample_<R>     the model trained at res rendered at R px, against true R px images
                          (of a folder, only the images whose file has >= R px: data/split.true_rows)
    psnr/lanczos_<R>      the Lanczos upsample of the res px images, same targets (reference)
    psnr/unseen_upsample_<R>, psnr/unseen_lanczos_<R>   the same for the unseen images
    ssim/[unseen_]upsample_<R>, flat_rmse/[unseen_]upsample_<R>   the same renders' SSIM and their
                          error on the truth's flat regions in grey levels (speckle; analysis/scoring/flat_error.py)

Trivial references (analysis/scoring/references.py), computed once per Evaluator and logged with
every evaluation, so each method's curve has its bar beside it in TensorBoard:
    reference/mean_icon_{train_pixels, heldout_pixels, unseen, unseen_heldout}
    reference/neighbours_{heldout_pixels, unseen_heldout}
    reference/{lanczos, bicubic, unseen_lanczos, unseen_bicubic}_<R>[_ssim, _flat_rmse]
(psnr/lanczos_<R> and psnr/unseen_lanczos_<R> stay too: older runs and readers use them.)

Held-out pixels are zeroed before `encode` sees an image (besides the mask), so no method can
read a pixel it is scored on as held out, whatever it does with its input.
"""
from __future__ import annotations

import logging

import torch

from analysis.figures import error_map, make_grid
from analysis.residual import upsample_residual
from analysis.scoring.flat_error import flat_mask, flat_rmse
from analysis.scoring.references import UPSAMPLERS, mean_image
from analysis.scoring.ssim import ssim
from data.images import ImageSet, lanczos_resize, load_images
from data.pixels import UNSEEN_HELDOUT_SEED, heldout_mask, neighbour_fill
from data.split import train_split, true_rows, unseen_source
from common.errors import UserError
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


def upsample_scores(pred: torch.Tensor, truth: torch.Tensor, flat: torch.Tensor | None = None,
                    batch: int = 25) -> dict[str, float]:
    """Means over images of PSNR, SSIM and flat-region RMSE of renders pred against truth,
    both (N, 3, R, R) in [0, 1]: {"psnr", "ssim", "flat_rmse"}. flat: `flat_mask(truth)` when
    the caller keeps it (it depends on the truth alone). SSIM in batches (its moments are 15
    maps per image)."""
    pred = pred.clamp(0, 1)
    structural = torch.cat([ssim(pred[i:i + batch], truth[i:i + batch]) for i in range(0, len(pred), batch)])
    return {"psnr": psnr(pred, truth).mean().item(), "ssim": structural.mean().item(),
            "flat_rmse": flat_rmse(pred, truth, flat).mean().item()}


def encode_all(method: Method, images: torch.Tensor, masks: torch.Tensor, batch: int = 100,
               index: torch.Tensor | None = None) -> Rep:
    """Encode a whole image set in batches; returns a detached Rep on the method's device.
    index (N,) long: the images' rows in the training set (code tables read it); default 0..N-1."""
    device = next(method.parameters()).device
    index = torch.arange(len(images)) if index is None else index.cpu()  # (N,)
    reps = []
    for i in range(0, len(images), batch):
        rows = index[i:i + batch].to(device)
        reps.append(method.encode(images[i:i + batch].to(device), masks[i:i + batch].to(device), rows).detach())
    latent = torch.cat([r.latent for r in reps]) if reps[0].latent is not None else None
    params = {k: torch.cat([r.params[k] for r in reps]) for k in reps[0].params} if reps[0].params is not None else None
    return Rep(latent, params)


def render_all(method: Method, rep: Rep, res: int, batch: int = 100) -> torch.Tensor:
    """Render every image of `rep` at res: (N, 3, res, res) on CPU."""
    return torch.cat([method.render(rep.select(slice(i, i + batch)), res).cpu() for i in range(0, len(rep), batch)])


def reference_scores(train: torch.Tensor, heldout: torch.Tensor, unseen: torch.Tensor | None = None,
                     unseen_heldout: torch.Tensor | None = None, hr: torch.Tensor | None = None,
                     unseen_hr: torch.Tensor | None = None, hr_flat: torch.Tensor | None = None,
                     unseen_hr_flat: torch.Tensor | None = None) -> dict[str, float]:
    """The trivial references' PSNR (dB, mean over images) by tag, on the pixels the methods
    are scored on. train (N, 3, r, r) with heldout (N, 1, r, r) bool; unseen (K, 3, r, r) with
    unseen_heldout (K, 1, r, r); hr, unseen_hr (N|K, 3, R, R) true high-resolution renders;
    hr_flat, unseen_hr_flat: their `flat_mask`s when the caller already has them."""
    observed = ~heldout
    mean = mean_image(train, observed).expand_as(train)  # (N, 3, r, r), from observed training pixels only
    scores = {"reference/mean_icon_train_pixels": psnr(mean, train, observed).mean().item(),
              "reference/mean_icon_heldout_pixels": psnr(mean, train, heldout).mean().item(),
              "reference/neighbours_heldout_pixels": psnr(neighbour_fill(train, observed), train, heldout).mean().item()}
    if unseen is not None:
        unseen_mean = mean[:1].expand_as(unseen)  # (K, 3, r, r), the training mean: nothing read from unseen icons
        scores["reference/mean_icon_unseen"] = psnr(unseen_mean, unseen).mean().item()
        scores["reference/mean_icon_unseen_heldout"] = psnr(unseen_mean, unseen, unseen_heldout).mean().item()
        scores["reference/neighbours_unseen_heldout"] = psnr(neighbour_fill(unseen, ~unseen_heldout), unseen,
                                                             unseen_heldout).mean().item()
    for prefix, low, truth, flat in (("", train, hr, hr_flat), ("unseen_", unseen, unseen_hr, unseen_hr_flat)):
        if low is not None and truth is not None:
            flat = flat_mask(truth) if flat is None else flat  # (N, 1, R, R), shared by the upsamplers
            for name, resize in UPSAMPLERS.items():
                tag = f"reference/{prefix}{name}_{truth.shape[-1]}"
                for metric, value in upsample_scores(resize(low[:len(truth)], truth.shape[-1]), truth, flat).items():
                    scores[tag if metric == "psnr" else f"{tag}_{metric}"] = value
    return scores


# Training icons scored at hr_res: the first 100 (all of icons100; within icons-all, icons100 again, so
# methods trained on either set share the column). Rendering all 1,445 of icons-all at 256 px would hold
# several GB and take longer than the rest of an evaluation.
HR_TRAIN_COUNT = 100


class Evaluator:
    """Holds the evaluation data of a run (loaded once), scores the trivial references once,
    and scores a method on it."""

    def __init__(self, train: ImageSet, heldout: torch.Tensor, hr_res: int = 256, data: str = "icons100",
                 unseen: str = "auto", unseen_count: int = 100, grid_count: int = 10, hr_count: int = HR_TRAIN_COUNT):
        self.train, self.heldout, self.grid_count = train, heldout, grid_count
        self.hr: ImageSet | None = None
        if hr_res:
            try:
                hr = load_images(data, hr_res, train_split(data, unseen)).subset(slice(hr_count))
                self.hr_rows = true_rows(hr, "training")  # all, or a folder's images with a true R px version
                self.lanczos = lanczos_resize(train.images[:hr_count], hr_res)  # (N', 3, R, R)
                self.lanczos_psnr = psnr(self.lanczos[self.hr_rows], hr.images[self.hr_rows]).mean().item()
                self.hr_flat = flat_mask(hr.images)  # (N, 1, R, R), for the references and every evaluation
                self.hr = hr
            except UserError as err:
                log.info("no upsampling evaluation: %s", err)
        self.unseen: ImageSet | None = None
        self.unseen_heldout: torch.Tensor | None = None  # (K, 1, res, res) bool, True = never read
        source = unseen_source(data, unseen)  # (data set, split) or None
        if source:
            unseen, split = source
            try:
                full = load_images(unseen, train.res, split=split)
                self.unseen = ImageSet(full.images[:unseen_count], full.names[:unseen_count], full.source)
                self.unseen_heldout = heldout_mask(len(self.unseen), train.res, seed=UNSEEN_HELDOUT_SEED)
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
                self.unseen_hr_flat = flat_mask(self.unseen_hr)  # (K, 1, R, R)
            except UserError as err:
                log.info("no unseen-image upsampling evaluation: %s", err)
        self.references = reference_scores(
            train.images, heldout, self.unseen.images if self.unseen is not None else None, self.unseen_heldout,
            self.hr.images if self.hr is not None else None, self.unseen_hr,
            self.hr_flat if self.hr is not None else None, self.unseen_hr_flat if self.unseen_hr is not None else None)

    def __call__(self, method: Method, with_images: bool = False) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
        """Returns (scalars by TensorBoard tag, image grids (3, H, W) by tag)."""
        was_training = method.training
        method.eval()
        scalars, grids = dict(self.references), {}
        observed = ~self.heldout
        rep = encode_all(method, self.train.images * observed, observed)  # held-out pixels zeroed: never read
        recon = render_all(method, rep, self.train.res)  # (N, 3, res, res)
        scalars["psnr/train_pixels"] = psnr(recon, self.train.images, observed).mean().item()
        scalars["psnr/heldout_pixels"] = psnr(recon, self.train.images, self.heldout).mean().item()
        if self.hr is not None:
            hr_res = self.hr.res
            upsampled = render_all(method, rep.select(slice(0, len(self.hr))), hr_res)  # (N', 3, R, R)
            for metric, value in upsample_scores(upsampled[self.hr_rows], self.hr.images[self.hr_rows],
                                                 self.hr_flat[self.hr_rows]).items():
                scalars[f"{metric}/upsample_{hr_res}"] = value
            scalars[f"psnr/lanczos_{hr_res}"] = self.lanczos_psnr
        if self.unseen is not None and method.handles_unseen_images:
            full = torch.ones_like(self.unseen.images[:, :1], dtype=torch.bool)
            unseen_rep = encode_all(method, self.unseen.images, full)
            unseen_recon = render_all(method, unseen_rep, self.unseen.res)
            scalars["psnr/unseen_images"] = psnr(unseen_recon, self.unseen.images).mean().item()
            seen = ~self.unseen_heldout  # (K, 1, res, res): 90% read, 10% scored
            partial = render_all(method, encode_all(method, self.unseen.images * seen, seen), self.unseen.res)
            scalars["psnr/unseen_heldout_pixels"] = psnr(partial, self.unseen.images, self.unseen_heldout).mean().item()
            if self.unseen_hr is not None:
                # Upsampling icons never seen at any resolution: the honest score for a model
                # trained with --hr-supervision, which has seen the training icons' true renders.
                hr_res = self.unseen_hr.shape[-1]
                unseen_up = render_all(method, unseen_rep, hr_res)
                rows = self.unseen_hr_rows
                for metric, value in upsample_scores(unseen_up[rows], self.unseen_hr[rows],
                                                 self.unseen_hr_flat[rows]).items():
                    scalars[f"{metric}/unseen_upsample_{hr_res}"] = value
                # The same render with what the reading missed put back (analysis/residual.py).
                kept = unseen_up[rows] + upsample_residual(self.unseen.images[rows] - unseen_recon[rows], hr_res)
                for metric, value in upsample_scores(kept, self.unseen_hr[rows], self.unseen_hr_flat[rows]).items():
                    scalars[f"{metric}/unseen_upsample_{hr_res}_residual"] = value
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

"""How alike two images are to a method, and to pixels.

Measures (all (N, N), symmetric):
    latent_similarity   cosine of the CENTRED latents z_i - mean_j z_j. What all images
                        share (a common offset the decoder absorbs in a bias) would make
                        every pair look alike; centring leaves what tells images apart.
    weight_similarity   per-layer-normalized SIREN weights: for each parameter tensor,
                        flatten it per image, subtract its mean over images, scale each
                        image's block to unit norm, concatenate. The cosine of two such
                        vectors is the MEAN over tensors of the per-tensor cosines, so a
                        64x64 hidden matrix and a 3-entry output bias weigh the same, and the
                        first layer's ~50x larger scale (SIREN init) does not dominate.
    pixel_psnr          PSNR (dB) between the images themselves, the reference: higher =
                        more alike; the diagonal is +inf.
    aligned_similarity  one pair at a time: the cosine above (latent or weights) between a and
                        b read in a's frame (b o phi_1, the warp fitted on the pair), averaged with
                        its mirror (a o phi_1^-1 against b). The warp takes out where things are,
                        so what is compared is what they look like once lined up: the part of the
                        difference that the aligned interpolation has to blend.

Pair selection lives in analysis/interpolation/pair_choice.py (by the measured correlation of a
similarity with a path score).
"""
from __future__ import annotations

import torch

from common.errors import UserError
from analysis.interpolation.aligned_blend import encode_aligned
from analysis.interpolation.warp import Warp
from models.method import Method, Rep
from models.siren import Params


def cosine_matrix(x: torch.Tensor, center: bool = True) -> torch.Tensor:
    """(N, D) -> (N, N) cosine similarities of the rows (of the centred rows by default)."""
    x = x.double().flatten(1)  # (N, D)
    if center:
        x = x - x.mean(0, keepdim=True)
    x = x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return (x @ x.T).float()  # (N, N)


def latent_similarity(latent: torch.Tensor) -> torch.Tensor:
    """latents (N, D) -> (N, N) cosine of centred latents."""
    return cosine_matrix(latent, center=True)


def normalized_weights(params: Params, reference: Params | None = None) -> torch.Tensor:
    """{name: (N, *shape)} -> (N, #tensors * ...) per-layer-normalized, concatenated weights,
    centred on the mean over `reference`'s images (default: over params' own)."""
    blocks = []
    for name in sorted(params):
        w = params[name].double().flatten(1)  # (N, n)
        centre = (params if reference is None else reference)[name].double().flatten(1).mean(0, keepdim=True)  # (1, n)
        w = w - centre  # what every image shares is not a difference
        blocks.append(w / w.norm(dim=1, keepdim=True).clamp_min(1e-12))  # unit norm per image and tensor
    return torch.cat(blocks, dim=1)  # (N, sum n)


def weight_similarity(params: Params) -> torch.Tensor:
    """{name: (N, *shape)} -> (N, N): mean over tensors of per-tensor cosines of centred weights."""
    return cosine_matrix(normalized_weights(params), center=False)


def rep_similarities(rep: Rep) -> dict[str, torch.Tensor]:
    """Every measure a batch of N representations allows: {"latent": (N, N), "weights": (N, N)},
    each present when the Rep holds that field (on CPU)."""
    sims = {}
    if rep.latent is not None:
        sims["latent"] = latent_similarity(rep.latent.cpu())
    if rep.params is not None:
        sims["weights"] = weight_similarity({k: v.cpu() for k, v in rep.params.items()})
    return sims


def aligned_similarity(method: Method, image_a: torch.Tensor, image_b: torch.Tensor, warp: Warp, measure: str,
                       reference: Rep) -> float:
    """The `measure` cosine ("latent" or "weights") of a with b read in a's frame, averaged with a
    read in b's frame against b; centred on the mean of `reference` (the compared set's reps, on CPU),
    as the plain measures are. image_a, image_b: (3, H, W) the encoder reads; warp carries a onto b."""
    reference = reference.detach()
    with torch.enable_grad():  # an encoder that takes gradient steps (test-time steps, MAML) needs autograd
        views = Rep.cat(list(encode_aligned(method, image_a, image_b, warp)))  # a, b in a, a in b, b
    if measure == "latent":
        centre = reference.latent.cpu().double().mean(0, keepdim=True)  # (1, D)
        vectors = views.latent.cpu().double() - centre  # (4, D)
    else:
        on_cpu = lambda params: {k: v.cpu() for k, v in params.items()}  # noqa: E731
        vectors = normalized_weights(on_cpu(views.params), on_cpu(reference.params))  # (4, D)
    cos = cosine_matrix(vectors, center=False)  # (4, 4)
    return float(cos[0, 1] + cos[2, 3]) / 2


def choose_measure(measure: str, available: list[str], method: str) -> str:
    """--measure -> the measure to use: "auto" is weights when the method has them, else latent;
    "pixel" always applies; anything else must be `available` (UserError naming the choices)."""
    if measure == "auto":
        return "weights" if "weights" in available else "latent" if "latent" in available else "pixel"
    if measure != "pixel" and measure not in available:
        raise UserError(f"--measure {measure} does not apply to {method}: use one of "
                        f"{', '.join([*available, 'pixel'])}")
    return measure


def pixel_psnr(images: torch.Tensor, chunk: int = 64) -> torch.Tensor:
    """images (N, 3, H, W) in [0, 1] -> (N, N) pairwise PSNR (dB), +inf on the diagonal."""
    flat = images.double().flatten(1)  # (N, P)
    sq = flat.pow(2).sum(1)  # (N,)
    rows = []
    for i in range(0, len(flat), chunk):  # (chunk, N) at a time bounds memory for big sets
        d = sq[i:i + chunk, None] + sq[None] - 2 * flat[i:i + chunk] @ flat.T  # squared distances
        rows.append(d.clamp_min(0) / flat.shape[1])
    mse = torch.cat(rows)  # (N, N)
    mse.fill_diagonal_(0)
    return (-10 * torch.log10(mse)).float()  # 0 -> +inf on the diagonal


def spectral_order(similarity: torch.Tensor) -> torch.Tensor:
    """A display order (N,) that puts alike images next to each other: sort by the Fiedler
    vector of the graph whose edge weights are the similarities shifted to [0, 2]."""
    if len(similarity) < 3:
        return torch.arange(len(similarity))
    w = (similarity.double() + 1).clamp_min(0)  # (N, N) non-negative affinities
    _, vectors = torch.linalg.eigh(torch.diag(w.sum(1)) - w)  # graph Laplacian, ascending eigenvalues
    return torch.argsort(vectors[:, 1])

"""A trained checkpoint as an object: encode images, render them at any size, interpolate two of
them in any mode the method has, rank pairs by the method's similarity.

    model = load("runs/modulated/ckpt.pt")
    enc = model.encode("my_folder/")                    # Encoding: rep + the images it came from
    big = model.render(enc, 256)                         # (N, 3, 256, 256) in [0, 1]
    kept = model.render(enc, 256, residual=True)         # the same, the input's pixels kept
    frames = model.interpolate("a.png", "b.png", 9, "aligned")   # (9, 3, res, res)
    pairs = model.rank_pairs(enc)                        # every pair, most similar first

Nothing here is new analysis: encoding is `analysis.scoring.evaluate.encode_all`, rendering
`render_all` (with the residual, `analysis.residual`), the modes are `analysis.interpolation.paths` (plain blends, warp-and-blend,
aligned), the similarity is `analysis.interpolation.similarity` (the measure similarity.py
uses). The scripts upsample.py, interpolate.py and similarity.py are written on this class.
"""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from analysis.interpolation.paths import Pair, modes_for, path_frames
from analysis.interpolation.similarity import choose_measure, pixel_psnr, rep_similarities
from analysis.interpolation.warp_cache import WarpCache
from analysis.residual import render_with_residual
from analysis.scoring.evaluate import encode_all, render_all
from api.inputs import Inputs, TrainingImages, read_inputs
from common.cli import resolve_device
from data.images import check_resolution
from common.errors import UserError
from models.method import Method, Rep
from train.checkpoint import method_from_checkpoint
from train.prior import load_prior, prior_path


@dataclass
class Encoding:
    """N encoded images: the method's representation and the inputs it was read from."""

    rep: Rep          # a batch of N, detached, on the model's device
    inputs: Inputs    # the (N, 3, res, res) images the encoder read, their names and files

    @property
    def images(self) -> torch.Tensor:
        return self.inputs.images

    @property
    def names(self) -> list[str]:
        return self.inputs.names

    def __len__(self) -> int:
        return len(self.inputs)

    def select(self, rows: list[int] | int) -> Encoding:
        rows = [rows] if isinstance(rows, int) else list(rows)
        return Encoding(self.rep.select(torch.tensor(rows, dtype=torch.long)), self.inputs.select(rows))


@dataclass(frozen=True)
class RankedPair:
    """Two images of an Encoding (names a, b at rows i, j) and how alike the measure finds them."""

    a: str
    b: str
    similarity: float   # the cosine of the representations, or pixel PSNR in dB for measure="pixel"
    i: int
    j: int


def load(checkpoint: str | Path, device: str = "auto", steps: int | None = None) -> Model:
    """A checkpoint written by train_hyper.py or train_maml.py (or a shipped one), rebuilt from
    itself alone, in eval mode; device "auto" is CUDA when present. steps: the gradient steps every
    encode takes on each image's representation (a method that adapts: `modulated`'s latent grid,
    MAML's weights), None = the number it trained with. Problems are one-line UserErrors."""
    method, ckpt = method_from_checkpoint(Path(checkpoint), resolve_device(device))
    return Model(method, ckpt, Path(checkpoint), steps)


class Model:
    """A trained method with the checkpoint it came from."""

    def __init__(self, method: Method, checkpoint: dict, path: Path | None = None, steps: int | None = None):
        self.method, self.checkpoint, self.path = method, checkpoint, path
        self.config: dict = checkpoint["config"]
        self.kind: str = self.config["model"]    # the registry name: modulated, maml, local, ...
        self.res: int = self.config["res"]       # the resolution its encoder reads
        self.training = TrainingImages(checkpoint)
        self.warps = WarpCache()                 # a pair's warp is fitted once, shared by warp and aligned
        self._modes: list[str] | None = None
        self._prior: tuple[Path, torch.nn.Module] | None = None  # (its file, the loaded prior), on first sample()
        self.steps = steps

    @property
    def steps(self) -> int | None:
        """The gradient steps each encode takes at test time (None: the method's trained number)."""
        return self.method.test_steps

    @steps.setter
    def steps(self, steps: int | None) -> None:
        self.method.test_steps = self._checked_steps(steps)

    def _checked_steps(self, steps: int | None) -> int | None:
        if steps is None:
            return None
        if not self.method.adapts:
            raise UserError(f"{self.kind} takes no gradient steps when it encodes: drop the steps (--steps), or load "
                            "a method that adapts (modulated, maml, hybrid)")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise UserError(f"steps must be a whole number >= 0, got {steps!r}")
        return steps

    @contextmanager
    def _taking(self, steps: int | None):
        """Within: every encode takes `steps` (unchanged when None)."""
        if steps is None:
            yield
            return
        kept, self.method.test_steps = self.method.test_steps, self._checked_steps(steps)
        try:
            yield
        finally:
            self.method.test_steps = kept

    def __repr__(self) -> str:
        return f"Model({self.kind}, {self.res} px, {len(self.training.names)} training images, from {self.path})"

    # ------------------------------------------------------------------ encode, render

    def read(self, x, res: int | None = None) -> Inputs:
        """Any input (api/inputs.py) as the images the encoder reads, or at `res`: (N, 3, res, res)."""
        return read_inputs(x, check_resolution(self.res if res is None else res), self.training)

    def encode(self, x, steps: int | None = None) -> Encoding:
        """Encode an image file, a folder, a PIL image, a tensor (3, H, W) / (N, 3, H, W) in [0, 1],
        a training image's name or index, or a list of them (an Encoding passes through). steps: this
        call's gradient steps on each representation (default the model's `steps`).

        A new image is read whole; a training image through the pixels it was trained on, with
        its row (a code table looks it up). A method that cannot encode unseen images (a code
        table, per-image weights) takes training images only.
        """
        if isinstance(x, Encoding):
            return x
        inputs = self.read(x)
        new = [name for name, row in zip(inputs.names, inputs.rows) if row is None]
        if new and not self.method.handles_unseen_images:
            raise UserError(f"{self.kind} cannot encode an image it was not trained on ({new[0]}): pass a training "
                            f"image's name or index, or load a checkpoint of a method with an encoder")
        index = torch.tensor([row or 0 for row in inputs.rows], dtype=torch.long)  # (N,) rows for code tables
        with self._taking(steps):
            return Encoding(encode_all(self.method, inputs.images, self._observed(inputs), index=index), inputs)

    def _observed(self, inputs: Inputs) -> torch.Tensor:
        """(N, 1, res, res) bool: the pixels the encoder reads, all of a new image, a training
        image's observed pixels (never its held-out ones)."""
        masks = torch.ones((len(inputs), 1, self.res, self.res), dtype=torch.bool)  # a new image is read whole
        trained = [k for k, row in enumerate(inputs.rows) if row is not None]
        if trained:
            observed = self.training.loaded()[1]  # (M, 1, res, res): the pixels training showed the encoder
            masks[trained] = observed[[inputs.rows[k] for k in trained]]
        return masks

    def render(self, x, size: int | None = None, residual: bool = False) -> torch.Tensor:
        """Render an Encoding, a Rep or any input (encoded first) at size x size px (default the
        training resolution): (N, 3, size, size) on CPU in [0, 1].

        residual: add back what the reading missed of the images it read (their pixels minus the
        render at the training resolution, bilinear between pixels; analysis/residual.py), so the
        render reproduces the input's pixels; needs the input, not a bare Rep."""
        size = check_resolution(self.res if size is None else size)
        if not residual:
            rep = x if isinstance(x, Rep) else self.encode(x).rep
            return render_all(self.method, rep, size).clamp(0, 1)
        if isinstance(x, Rep):
            raise UserError("render(..., residual=True) needs the images the representation was read from: "
                            "pass an Encoding or the input itself, not a Rep")
        enc = self.encode(x)
        return render_with_residual(self.method, enc.rep, enc.images, size, self._observed(enc.inputs))

    # ------------------------------------------------------------------ interpolate

    @property
    def modes(self) -> list[str]:
        """The interpolation modes this model has: pixel, latent and/or weights, warp, aligned
        (what its representation holds decides it, so a blank image's is asked once)."""
        if self._modes is None:
            blank = torch.ones(1, 3, self.res, self.res)  # (1, 3, res, res) white
            rep = encode_all(self.method, blank, torch.ones(1, 1, self.res, self.res, dtype=torch.bool),
                             index=torch.zeros(1, dtype=torch.long))
            self._modes = modes_for(self.method, rep)
        return self._modes

    @property
    def default_mode(self) -> str:
        """The improved interpolation of question 3: aligned where the encoder reads new images, else warp."""
        return "aligned" if "aligned" in self.modes else "warp"

    def interpolate(self, a, b, ts: int | Sequence[float] = 9, mode: str | None = None, size: int | None = None,
                    kind: str = "lerp", endpoints: tuple[torch.Tensor, torch.Tensor] | None = None,
                    steps: int | None = None) -> torch.Tensor:
        """Frames from a (t = 0) to b (t = 1): (T, 3, size, size) on CPU in [0, 1].

        a, b: one image each (any input, or a one-image Encoding); ts: a frame count (evenly
        spaced, both ends included) or the times; mode: one of `modes` (default `default_mode`);
        size: default the training resolution; kind: "lerp" or "slerp" for the blends;
        endpoints: for mode "pixel", the two (3, size, size) images to cross-fade (default the
        model's renders); steps: the gradient steps of every encode on the path, the ends' and the
        aligned views' (default the model's `steps`).
        """
        with self._taking(steps):
            ea, eb = self.encode_one(a, "interpolation end a"), self.encode_one(b, "interpolation end b")
            pair = Pair(ea.images[0], eb.images[0], ea.rep.select(0), eb.rep.select(0), self.warps)
            size = check_resolution(self.res if size is None else size)
            return path_frames(self.method, pair, times(ts), mode or self.default_mode, size, kind, endpoints)

    def encode_one(self, x, which: str = "the image") -> Encoding:
        """`encode` for exactly one image (UserError naming `which` for a folder or a list)."""
        enc = self.encode(x)
        if len(enc) != 1:
            raise UserError(f"{which} holds {len(enc)} images ({', '.join(enc.names[:3])}"
                            f"{', ...' if len(enc) > 3 else ''}): pass one image file, not a folder")
        return enc

    # ------------------------------------------------------------------ sample

    def prior(self, prior: str | Path | None = None) -> torch.nn.Module:
        """The prior over latent grids (models/prior.GridFlow), loaded once: `prior`, or the file beside the checkpoint."""
        if self.kind != "modulated":
            raise UserError(f"sampling draws latent grids of modulated, and this model is {self.kind}: load a modulated "
                            "checkpoint (e.g. checkpoints/modulated.pt)")
        path = Path(prior) if prior is not None else prior_path(self.path or Path("."))
        if self._prior is None or self._prior[0] != path:
            self._prior = (path, load_prior(path, self.checkpoint, next(self.method.parameters()).device))
        return self._prior[1]

    def sample(self, n: int = 16, seed: int = 0, size: int | None = None, prior: str | Path | None = None,
               steps: int = 25) -> torch.Tensor:
        """n new icons from the prior over the latent grids (`modulated` only): (n, 3, size, size) on CPU in
        [0, 1]. prior: the prior file (default `<checkpoint name>_prior.pt` beside the checkpoint, as shipped);
        steps: Heun steps from noise to a grid. The same seed gives the same icons on any device."""
        grids = self.prior(prior).sample(n, torch.Generator().manual_seed(seed), steps)  # (n, C, G, G)
        return self.render(Rep(latent=grids.flatten(1)), size)

    # ------------------------------------------------------------------ similarity

    def similarity(self, x, measure: str = "auto") -> tuple[torch.Tensor, str]:
        """(N, N) similarity of N images (any input or an Encoding) and the measure used: "auto"
        (the weights' per-layer cosine when the representation holds weights, else the latents'),
        "latent", "weights", or "pixel" (PSNR between the images, dB)."""
        enc = self.encode(x)
        sims = rep_similarities(enc.rep)
        measure = choose_measure(measure, list(sims), self.kind)
        return (pixel_psnr(enc.images) if measure == "pixel" else sims[measure]), measure

    def rank_pairs(self, x, measure: str = "auto") -> list[RankedPair]:
        """Every pair of the images (at least two), most similar first."""
        enc = self.encode(x)
        if len(enc) < 2:
            raise UserError(f"ranking pairs needs at least two images, got {len(enc)}: pass a folder or a list")
        sim, _ = self.similarity(enc, measure)  # (N, N)
        iu = torch.triu_indices(len(enc), len(enc), offset=1)  # (2, M)
        values = sim[iu[0], iu[1]]  # (M,)
        order = torch.argsort(values, descending=True, stable=True).tolist()
        return [RankedPair(enc.names[int(iu[0, m])], enc.names[int(iu[1, m])], float(values[m]),
                           int(iu[0, m]), int(iu[1, m])) for m in order]


def times(ts: int | Sequence[float]) -> list[float]:
    """A frame count (>= 2: t = 0 .. 1, exact ends) or a list of finite times."""
    if isinstance(ts, int) and not isinstance(ts, bool):
        if ts < 2:
            raise UserError(f"an interpolation needs at least 2 frames (the two ends), got {ts}")
        return [k / (ts - 1) for k in range(ts)]
    values = [float(t) for t in ts]
    if not values or not all(torch.isfinite(torch.tensor(values))):
        raise UserError(f"interpolation times must be finite numbers, got {list(ts)}")
    return values

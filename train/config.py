"""The training configs: `TrainConfig`, shared by both training scripts, and one subclass per
script with its methods' fields (train_hyper.py: HyperConfig, train_maml.py: MamlConfig).
cli.parse_config turns a config into flags; it is saved in every checkpoint, so a checkpoint
rebuilds its model alone. `method_config` builds the config of any registry method.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from common.errors import UserError
from models.hyper_interp import BLENDS
from models.modulated import MODULATIONS, READS
from train.registry import TINY, spec


@dataclass
class TrainConfig:
    """Fields shared by train_hyper.py and train_maml.py."""

    data: str = "icons100"          # data set name or folder of images
    res: int = 48                   # training resolution
    steps: int = 20000              # optimizer steps (the --minutes budget usually ends a run first)
    batch: int = 100                # images per step
    pixels: int = 512               # pixels per image per step (0 = all training pixels); a quarter of
    #                                 an icon's 2074 training pixels: ~4x the steps per second for the
    #                                 same gradient quality early on (measured: 27 dB at step 400)
    lr: float = 1e-3                # Adam learning rate (a method may set its own: train/registry.py)
    lr_final: float = 0.05          # lr at the end of the budget, as a fraction of --lr (cosine decay,
    #                                 train/schedule.py; 1 = constant)
    warmup: int = 0                 # steps of linear lr warmup before the cosine (train/schedule.py)
    beta2: float = 0.999            # Adam's second-moment decay; lower (0.95) follows a sudden change of the gradient's
    #                                 scale sooner, the usual remedy for loss spikes in long runs
    base_lr: float = 1.0            # the lr of the shared base network a method declares (Method.shared_base),
    #                                 as a multiple of --lr; the rest trains at --lr
    clip: float = 0.0               # clip the gradient's global norm to this before each step (0 = off)
    skip_spikes: float = 0.0        # skip a step whose loss exceeds this multiple of the running mean loss
    #                                 (train/health.py; 0 = off)
    undo_spikes: bool = False       # with --skip-spikes: also undo the update before a skipped step, the one
    #                                 that made the loss jump (train/undo.py)
    ema: float = 0.0                # decay of the moving average of the weights that evaluation, tracking and
    #                                 checkpoints read (train/ema.py; 0 = off: the trained weights)
    minutes: float = 9.0            # training budget in minutes of step time (0 = none); evaluation is extra
    device: str = "auto"            # "auto" (cuda when present), "cpu", "cuda", "cuda:1", ...
    fast: bool = True               # measured fast path, same results (train/fast.py); --no-fast = eager reference
    seed: int = 0
    out: str = "runs/run"           # output folder: checkpoint, TensorBoard events, figures
    resume: bool = False            # continue the run in --out from its checkpoint
    overwrite: bool = False         # delete an existing --out and start afresh
    eval_every: int = 500           # steps between evaluations (TensorBoard scalars)
    image_every: int = 1000         # steps between image grids
    track_every: int = 50           # steps between cheap evaluations on 16 + 16 icons (track/*, track.jsonl;
    #                                 0 = off): ~1% of the training time, MAML ~2% (measured: analysis/scoring/track.py)
    ckpt_every: int = 250           # steps between checkpoints
    hr_res: int = 256               # resolution of the upsampling evaluation (0 = skip)
    hr_supervision: int = 0         # >0: also supervise at coordinates of this true resolution
    edge_share: float = 0.0         # fraction of those high-res pixels drawn from edges of the high-res renders
    #                                 (train/sampler.py); 0 = uniform
    unseen: str = "auto"            # data set whose test split scores unseen images ("" = skip); "auto": a
    #                                 folder's own held-back images (data/split.py), icons-large's test split
    #                                 for the bundled sets
    unseen_count: int = 100         # how many unseen images to score
    support: float = 1.0            # fraction of each image's training pixels the encoder / inner loop reads in a
    #                                 step, drawn afresh every step; the loss still scores all of them, so <1
    #                                 trains a method to predict pixels it did not read (a support/query split)
    augment: float = 0.0            # chance that a step's icon is changed exactly (data/augment.mirror_and_turn):
    #                                 mirrored half the time and hue-turned by a uniform angle; 0 = off
    changes: float = 0.0            # chance that a step's icon is replaced by a geometric change of itself (shift,
    #                                 scale, rotation: the known-midpoint benchmark's, data/geometric.py); 0 = off
    changes_from_hr: bool = False   # render a changed icon from its --hr-supervision render (warped there, then
    #                                 area-averaged), not from its working-resolution image: no resampling blur,
    #                                 and its high-res targets kept (data/geometric.hr_changed_views)
    # SIREN body, shared by every method
    hidden: int = 64
    hidden_layers: int = 3
    w0: float = 30.0
    activation: str = "sine"
    encoding: str = "none"


# Flags that may differ when resuming: they change how long or where a run goes on, not what it is.
RESUMABLE_CHANGES = {"steps", "minutes", "device", "fast", "resume", "overwrite", "eval_every", "image_every", "ckpt_every",
                     "track_every"}


@dataclass
class HyperConfig(TrainConfig):
    """Train the hypernetwork or the latent-concatenation baseline on a set of images."""

    model: str = "hyper"        # a method of train/registry.py: "hyper" (latent -> SIREN weights), "concat" (latent as
    #                             extra input), "perimage" (reference: an independent SIREN per image), ...
    encoder: str = "conv"       # "conv" (set encoder, amortized) or "table" (one code per image)
    latent_dim: int = 128
    hyper_hidden: int = 256     # hypernetwork trunk width
    latent_reg: float = 1e-4    # weight of mean ||z||^2 (DeepSDF-style prior on the code table's codes)
    feature_channels: int = 32  # --model local only: features per input pixel (models/local_features.py)
    # The interpolation loss of hyper_interp (models/hyper_interp.py); other methods ignore these.
    interp_weight: float = 0.0  # weight of the loss on decoded blends vs true in-betweens (0 = off;
    #                             hyper_interp's own default is in train/registry.py)
    interp_share: float = 0.25  # fraction of each batch's icons that get a change and an in-between
    interp_pixels: int = 256    # pixels per in-between in that loss (0 = all valid ones)
    # --model modulated only (models/modulated.py): the latent grid and what it modulates
    grid: int = 24              # latent grid side G: the representation is G x G x grid_channels floats; at
    #                             equal floats a finer grid beat a deeper one (results/recipe: 24 x 24 x 4 against
    #                             12 x 12 x 16): a cell then spans 2 px, and a bilinear read blurs less
    grid_channels: int = 4      # C; 24 x 24 x 4 = 2,304 floats, a third of a 48 px icon's 6,912 values
    grid_read: str = field(default=READS[0], metadata={"choices": READS})  # "bilinear" (one SIREN pass) or
    #                             "ensemble" (the 4 nearest cells' modulations, 4 passes at the
    #                             absolute coordinate, colours blended by area)
    modulation: str = field(default="shift", metadata={"choices": MODULATIONS})  # "shift" (Functa) or "film"
    #                             (scale and shift) of each sine layer
    latent_steps: int = 0       # Meta-SGD steps on the latent grid inside encode (0 = one pass)
    latent_lr: float = 1e3      # those steps' per-entry rates at init (learned when --latent-steps > 0): of 1e2 to 3e3,
    #                             the best for 3 untrained steps on training icons' held-out pixels (docs/generalization.md)
    latent_pixels: int = 256    # observed pixels per image that each training-time latent step reads (0 = all)
    interp_blend: str = field(default="both", metadata={"choices": BLENDS})  # what is blended: "latent",
    #                             "weights" (= the trunk features), "both", or "ends" (control: t in {0, 1},
    #                             the changed icons reconstructed, no blend)
    out: str = "runs/hyper"


@dataclass
class MamlConfig(TrainConfig):
    """Meta-learn a SIREN init whose few inner gradient steps fit any image (MAML, Meta-SGD)."""

    model: str = "maml"
    inner_steps: int = 3        # inner gradient steps per image (Tancik et al. 2021 use 2 for images)
    inner_lr: float = 1e-2      # inner step size; with --meta-sgd the initial value of the learned rates
    meta_sgd: bool = True       # learn one inner rate per weight entry (Li et al. 2017)
    first_order: bool = False   # drop second-order terms of the meta-gradient (FOMAML, Finn et al. 2017)
    adapt: str = "all"          # "all" weights adapt, or "shift": hidden biases only (Functa modulations)
    # --model hybrid only (meta/hyper_maml.py): its conv encoder and hypernetwork, as HyperConfig's
    latent_dim: int = 128
    hyper_hidden: int = 256     # hypernetwork trunk width
    head_init: float = 0.0      # std of the emitted per-image weight offset at init, in SIREN init stds
    #                             (models/hypernet.py); 0 = every image starts at one shared init, i.e.
    #                             the hybrid starts as MAML (README: 0.5, hyper's value, learns far slower)
    # Second-order MAML costs ~25 s per step for 100 images at 48 px on 2 CPU cores (the inner
    # loop always fits all observed pixels), so a ~10 minute CPU run takes few images per step.
    # Adam at 3e-3 diverged in a short test run; 1e-3 learns fast and stayed stable.
    batch: int = 8
    # All observed pixels in the outer loss too: the inner loop already visits every pixel, so
    # subsampling the outer loss saves little time per step and loses more per step (experiments/bench.py,
    # 300 s on 2 cores: 25 dB after 88 s with all pixels even on the eager path, 99 s at 512).
    pixels: int = 0
    lr: float = 1e-3
    out: str = "runs/maml"


CONFIGS = {"train_hyper": HyperConfig, "train_maml": MamlConfig}  # registry.MethodSpec.script -> its config


def method_config(name: str, tiny: bool = False, **changes):
    """The config of registry method `name`: its script's defaults, then the method's own
    defaults, then (with `tiny`) the tiny test sizes, then `changes`."""
    s = spec(name)
    values = {**s.defaults, **({**TINY, **s.tiny} if tiny else {}), **changes}
    return CONFIGS[s.script](model=name, **values)


def check_config(cfg) -> None:
    """Rules between the fields of a training config, which no one field's range states (cli.validate
    checks those). Run before any work (the training, a study's or a sweep's first run), so that a run
    that could not start is refused at once, not after --overwrite deleted the folder or other runs trained."""
    if cfg.edge_share > 0 and not cfg.hr_supervision:
        raise UserError(f"--edge-share {cfg.edge_share:g} picks among high-res pixels: pass --hr-supervision 256 too, "
                        "or --edge-share 0")
    if cfg.changes_from_hr and not (cfg.hr_supervision and cfg.changes > 0):
        raise UserError("--changes-from-hr renders changed icons from their high-res renders: pass --changes 0.5 "
                        "--hr-supervision 256 too, or leave --changes-from-hr out")
    if cfg.undo_spikes and not cfg.skip_spikes:
        raise UserError("--undo-spikes undoes the update before a step --skip-spikes skips: pass --skip-spikes 3 too, "
                        "or leave --undo-spikes out")
    if cfg.model != "modulated":
        return
    if not 1 <= cfg.grid <= cfg.res // 2:  # models/modulated.GridEncoder first folds 2 x 2 pixels into one
        raise UserError(f"--grid {cfg.grid} does not fit --res {cfg.res}: the modulated method's grid has at most "
                        f"--res / 2 = {cfg.res // 2} cells a side; pass a --grid from 1 to {cfg.res // 2}"
                        if cfg.res >= 2 else f"--res {cfg.res} is too small for the modulated method: pass --res 2 or more")
    if (cfg.activation, cfg.encoding) != ("sine", "none"):
        raise UserError("--model modulated modulates the layers of a SIREN: pass --activation sine --encoding none")

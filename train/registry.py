"""The table of methods, in the style of DiT's model table: one line per method.

    METHODS[name] = MethodSpec(build, script, summary, defaults, tiny)

`build(cfg, num_images)` turns a training config (a dict, as saved in every checkpoint) into
an untrained `Method`; `script` names the training script whose dataclass config the method
reads; `defaults` are the config values this method needs that differ from that script's
defaults (applied unless a flag says otherwise); `tiny` are the config values of a model
small enough for tests and `study.py --quick`. Capabilities (decodes latents, handles unseen
images, extra figures) are declared on the Method classes themselves (models/method.py).

Adding a method = one file (a `Method` subclass) + one line here. Scripts, the study, the
benchmark and the tests read this table; nothing else lists the methods.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

from common.errors import UserError
from meta.hyper_maml import HyperMamlINR
from meta.maml import MamlINR
from models.hyper_interp import InterpHyperINR
from models.hypernet import HyperINR
from models.latent_concat import LatentConcatINR
from models.local_features import LocalINR
from models.method import Method
from models.modulated import READS, ModulatedINR
from models.per_image import PerImageSiren
from models.siren import SirenConfig


def siren_config(cfg: dict) -> SirenConfig:
    """The SIREN fields of a training config."""
    return SirenConfig(hidden=cfg["hidden"], hidden_layers=cfg["hidden_layers"], w0=cfg["w0"],
                       activation=cfg["activation"], encoding=cfg["encoding"])


def _hyper(cfg: dict, n: int) -> Method:
    return HyperINR(siren_config(cfg), cfg["encoder"], n, cfg["latent_dim"], cfg["hyper_hidden"], cfg["latent_reg"],
                    channels_last=cfg["fast"])


def _hyper_interp(cfg: dict, n: int) -> Method:
    return InterpHyperINR(siren_config(cfg), cfg["encoder"], n, cfg["latent_dim"], cfg["hyper_hidden"], cfg["latent_reg"],
                          channels_last=cfg["fast"], interp_weight=cfg["interp_weight"], interp_share=cfg["interp_share"],
                          interp_pixels=cfg["interp_pixels"], interp_blend=cfg["interp_blend"])


def _concat(cfg: dict, n: int) -> Method:
    return LatentConcatINR(siren_config(cfg), cfg["encoder"], n, cfg["latent_dim"], cfg["latent_reg"],
                           channels_last=cfg["fast"])


def _local(cfg: dict, n: int) -> Method:
    return LocalINR(cfg["res"], cfg["feature_channels"], hidden=cfg["hidden"], hidden_layers=cfg["hidden_layers"],
                    channels_last=cfg["fast"])


def _modulated(cfg: dict, n: int) -> Method:
    return ModulatedINR(siren_config(cfg), cfg["res"], cfg["grid"], cfg["grid_channels"], cfg["modulation"],
                        cfg["latent_steps"], cfg["latent_lr"], cfg["latent_pixels"],
                        read=cfg.get("grid_read", READS[0]))  # checkpoints from before the flag read bilinearly


def _perimage(cfg: dict, n: int) -> Method:
    return PerImageSiren(siren_config(cfg), n)


def _maml(cfg: dict, n: int) -> Method:
    return MamlINR(siren_config(cfg), cfg["inner_steps"], cfg["inner_lr"], cfg["meta_sgd"], cfg["first_order"],
                   cfg["adapt"])


def _hybrid(cfg: dict, n: int) -> Method:
    return HyperMamlINR(siren_config(cfg), cfg["inner_steps"], cfg["inner_lr"], cfg["meta_sgd"], cfg["first_order"],
                        cfg["adapt"], cfg["latent_dim"], cfg["hyper_hidden"], cfg["head_init"], channels_last=cfg["fast"])


@dataclass(frozen=True)
class MethodSpec:
    build: Callable[[dict, int], Method]
    script: str                     # "train_hyper" or "train_maml": whose config the method reads
    summary: str
    defaults: dict = field(default_factory=dict)
    tiny: dict = field(default_factory=dict)


# The SIREN body and training sizes of every tiny model (tests, study.py --quick).
TINY = {"hidden": 16, "hidden_layers": 1, "batch": 8, "pixels": 64}
TINY_LATENT = {"latent_dim": 8, "hyper_hidden": 16}

METHODS: dict[str, MethodSpec] = {
    "concat": MethodSpec(_concat, "train_hyper", "latent concatenated to the coordinates (baseline)",
                         defaults={"lr": 3e-4},  # at 1e-3 it stays at the mean image (measured)
                         tiny=TINY_LATENT),
    "hyper": MethodSpec(_hyper, "train_hyper", "conv set encoder -> hypernetwork -> per-image SIREN weights",
                        tiny=TINY_LATENT),
    # The index-coded setting, the exercise's "one network, image index in": a free code per
    # training image (models/encoder.CodeTable) instead of the conv encoder. No encoder, so
    # they cannot encode unseen icons (handles_unseen_images is False for a code table).
    "hyper_table": MethodSpec(_hyper, "train_hyper", "code table (image index -> latent) -> hypernetwork -> SIREN weights",
                              defaults={"encoder": "table"}, tiny=TINY_LATENT),
    "concat_table": MethodSpec(_concat, "train_hyper", "code table (image index -> latent) concatenated to the coordinates",
                               defaults={"encoder": "table", "lr": 3e-4}, tiny=TINY_LATENT),
    "hyper_hr": MethodSpec(_hyper, "train_hyper", "the hypernetwork, also supervised at true 256 px coordinates",
                           defaults={"hr_supervision": 256}, tiny=TINY_LATENT),
    "hyper_interp": MethodSpec(_hyper_interp, "train_hyper", "the hypernetwork, also trained to decode blends to true in-betweens",
                               defaults={"interp_weight": 1.0}, tiny={**TINY_LATENT, "interp_pixels": 32}),
    # Its encoder runs at full resolution, so fewer icons and more pixels per step: in a minute on
    # 2 CPU cores 16 icons x 1024 pixels beat 100 x 512 at 256 px on unseen icons (train_hyper.py
    # --model local --minutes 1, with and without --batch 100 --pixels 512; README, question 2a).
    "local": MethodSpec(_local, "train_hyper", "conv feature map queried at each coordinate (LIIF), residual over bicubic",
                        defaults={"hr_supervision": 256, "batch": 16, "pixels": 1024}, tiny={"feature_channels": 8}),
    "modulated": MethodSpec(_modulated, "train_hyper",
                            "conv encoder -> latent grid -> modulations of one shared SIREN, read at each coordinate",
                            # icons100 + icons-large's training icons, each step's icon moved by a geometric
                            # change half the time: an encoder learns icons from many of them (README, question 1)
                            # and half of each step's pixels from true 256 px renders, between the 48 px centres
                            # (results/recipe: +0.3 dB at 256 px at the same step cost, other columns alike).
                            # Training that runs long (results/recipe_long, docs/modulated.md): the encoder and the
                            # map at 3e-3, the shared SIREN at a tenth of it (the SIREN paper trains at 1e-4; Functa
                            # keeps the base's rate far below the latents'), warmup, clipping, skipped loss spikes
                            # and a weight average that evaluation and checkpoints read
                            defaults={"data": "icons-all", "changes": 0.5, "hr_supervision": 256, "lr": 3e-3,
                                      "base_lr": 0.1, "warmup": 100, "clip": 1.0, "skip_spikes": 3.0, "ema": 0.999},
                            tiny={"grid": 4, "grid_channels": 4, "hr_supervision": 0}),
    "maml": MethodSpec(_maml, "train_maml", "meta-learned SIREN init + a few inner steps (MAML, Meta-SGD)",
                       tiny={"inner_steps": 1}),
    "hybrid": MethodSpec(_hybrid, "train_maml", "hypernetwork emits each image's SIREN init, then MAML inner steps",
                         tiny={"inner_steps": 1, **TINY_LATENT}),
    "perimage": MethodSpec(_perimage, "train_hyper", "an independent SIREN per image (reference)"),
}


def spec(name: str) -> MethodSpec:
    if name not in METHODS:
        raise UserError(f"unknown model {name!r}: use a method of train/registry.py ({', '.join(METHODS)})")
    return METHODS[name]


def methods_of(script: str) -> tuple[str, ...]:
    """The method names a training script trains (its --model choices)."""
    return tuple(name for name, s in METHODS.items() if s.script == script)


def with_method_defaults(cfg, given: set[str]):
    """`cfg` (a script's dataclass config) with its method's `defaults` where no flag was given."""
    changes = {k: v for k, v in spec(cfg.model).defaults.items() if k not in given}
    return dataclasses.replace(cfg, **changes)


def build_method(cfg: dict, num_images: int) -> Method:
    """cfg["model"] names a row of METHODS -> the untrained method."""
    return spec(cfg.get("model")).build(cfg, num_images)

"""Build a method from a config dict, the one place that maps a config to a model class."""
from __future__ import annotations

from pathlib import Path

import torch

from engine.checkpoint import load_checkpoint
from engine.errors import UserError
from models.method import Method
from models.siren import SirenConfig


def siren_config(cfg: dict) -> SirenConfig:
    """The SIREN fields of a training config."""
    return SirenConfig(hidden=cfg["hidden"], hidden_layers=cfg["hidden_layers"], w0=cfg["w0"],
                       activation=cfg["activation"], encoding=cfg["encoding"])


def build_method(cfg: dict, num_images: int) -> Method:
    """cfg["model"] in {"hyper", "concat", "perimage", "maml"} -> an untrained method."""
    model = cfg.get("model")
    if model == "hyper":
        from models.hypernet import HyperINR
        return HyperINR(siren_config(cfg), cfg["encoder"], num_images, cfg["latent_dim"],
                        cfg["hyper_hidden"], cfg["latent_reg"])
    if model == "concat":
        from models.latent_concat import LatentConcatINR
        return LatentConcatINR(siren_config(cfg), cfg["encoder"], num_images, cfg["latent_dim"], cfg["latent_reg"])
    if model == "perimage":
        from models.per_image import PerImageSiren
        return PerImageSiren(siren_config(cfg), num_images)
    if model == "maml":
        from meta.maml import MamlINR
        return MamlINR(siren_config(cfg), cfg)
    raise UserError(f"unknown model {model!r} in config: use hyper, concat, perimage or maml")


def method_from_checkpoint(path: Path, device: torch.device | str = "cpu") -> tuple[Method, dict]:
    """Rebuild a trained method from its checkpoint alone; returns (method in eval mode, checkpoint)."""
    ckpt = load_checkpoint(path)
    method = build_method(ckpt["config"], len(ckpt["names"]))
    try:
        method.load_state_dict(ckpt["model"])
    except RuntimeError as err:
        raise UserError(f"checkpoint {path} does not match its own config ({str(err).splitlines()[0]}); "
                        "it was written by another version of the code: retrain") from None
    return method.to(device).eval(), ckpt

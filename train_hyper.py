"""Train a joint model of many images: the hypernetwork or the latent-concatenation baseline.

    python train_hyper.py --model hyper --encoder conv --out runs/hyper
    python train_hyper.py --model concat --encoder table --out runs/concat

Both share data, SIREN body, loss, logging and evaluation (engine/); they differ only in how
an image's latent reaches the SIREN (models/hypernet.py, models/latent_concat.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.cli import run_main
from engine.config import TrainConfig, parse_config
from engine.trainer import train


@dataclass
class HyperConfig(TrainConfig):
    """Train the hypernetwork or the latent-concatenation baseline on a set of images."""

    model: str = "hyper"        # "hyper" (latent -> SIREN weights), "concat" (latent as extra input),
    #                             or "perimage" (reference: an independent SIREN per image, no latent)
    encoder: str = "conv"       # "conv" (set encoder, amortized) or "table" (one code per image)
    latent_dim: int = 128
    hyper_hidden: int = 256     # hypernetwork trunk width
    latent_reg: float = 1e-4    # weight of mean ||z||^2 (DeepSDF-style prior on codes)
    out: str = "runs/hyper"


def main(argv=None) -> dict:
    cfg, given = parse_config(HyperConfig, argv, choices={"model": ("hyper", "concat", "perimage"), "encoder": ("conv", "table")})
    return train(cfg, given, script="train_hyper")


if __name__ == "__main__":
    run_main(main)

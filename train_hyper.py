"""Train a joint model of many images: the hypernetwork or the latent-concatenation baseline.

    python train_hyper.py --model hyper --encoder conv --out runs/hyper
    python train_hyper.py --model concat --encoder table --out runs/concat

Both share data, SIREN body, loss, logging and evaluation (train/, analysis/); they differ
only in how an image's latent reaches the SIREN (models/hypernet.py, models/latent_concat.py).
`--model` takes every method of registry.py that this script trains; a method's own defaults
(e.g. concat's lr) apply unless a flag says otherwise.
"""
from __future__ import annotations

from cli import parse_config, run_main
from registry import methods_of, with_method_defaults
from train.config import HyperConfig
from train.trainer import train


def main(argv=None) -> dict:
    cfg, given = parse_config(HyperConfig, argv, choices={"model": methods_of("train_hyper"), "encoder": ("conv", "table")})
    return train(with_method_defaults(cfg, given), given, script="train_hyper")


if __name__ == "__main__":
    run_main(main)

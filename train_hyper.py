"""Train a joint model of many images: the hypernetwork or the latent-concatenation baseline.

    python train_hyper.py --model hyper --encoder conv --out runs/hyper
    python train_hyper.py --model concat --encoder table --out runs/concat

Both share data, SIREN body, loss, logging and evaluation (train/, analysis/); they differ
only in how an image's latent reaches the SIREN (models/hypernet.py, models/latent_concat.py).
`--model` takes every method of train/registry.py that this script trains; a method's own defaults
(e.g. concat's lr) apply unless a flag says otherwise.
"""
from __future__ import annotations

from common.cli import parse_config, run_main
from train.registry import methods_of, with_method_defaults
from train.config import HyperConfig, check_config
from train.trainer import train


def config(argv=None) -> tuple[HyperConfig, set[str]]:
    """The run's config as main trains it (the method's defaults applied) and the flags given, every
    value checked: experiments/scaling.py checks each of its runs' flags with this before the first trains."""
    cfg, given = parse_config(HyperConfig, argv, choices={"model": methods_of("train_hyper"), "encoder": ("conv", "table")})
    cfg = with_method_defaults(cfg, given)
    check_config(cfg)
    return cfg, given


def main(argv=None) -> dict:
    cfg, given = config(argv)
    return train(cfg, given, script="train_hyper")


if __name__ == "__main__":
    run_main(main)

"""Meta-learn a SIREN initialization (MAML / Meta-SGD) on a set of images.

    python train_maml.py --out runs/maml
    python train_maml.py --adapt shift --out runs/maml_shift      # Functa-style shift modulations
    python train_maml.py --first-order --out runs/fomaml

Same data, SIREN body, loss, logging and evaluation as train_hyper.py (train/, analysis/); an image's
representation is the SIREN after `inner_steps` gradient steps from the learned init
(meta/maml.py, meta/adapt.py).
"""
from __future__ import annotations

from common.cli import parse_config, run_main
from train.registry import methods_of, with_method_defaults
from train.config import MamlConfig
from train.trainer import train


def main(argv=None) -> dict:
    cfg, given = parse_config(MamlConfig, argv, choices={"model": methods_of("train_maml"), "adapt": ("all", "shift")})
    return train(with_method_defaults(cfg, given), given, script="train_maml")


if __name__ == "__main__":
    run_main(main)

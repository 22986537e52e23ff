"""Meta-learn a SIREN initialization (MAML / Meta-SGD) on a set of images.

    python train_maml.py --out runs/maml
    python train_maml.py --adapt shift --out runs/maml_shift      # Functa-style shift modulations
    python train_maml.py --first-order --out runs/fomaml

Same data, SIREN body, loss, logging and evaluation as train_hyper.py (engine/); an image's
representation is the SIREN after `inner_steps` gradient steps from the learned init
(meta/maml.py, meta/adapt.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.cli import run_main
from engine.config import TrainConfig, parse_config
from engine.trainer import train


@dataclass
class MamlConfig(TrainConfig):
    """Meta-learn a SIREN init whose few inner gradient steps fit any image (MAML, Meta-SGD)."""

    model: str = "maml"
    inner_steps: int = 3        # inner gradient steps per image (Tancik et al. 2021 use 2 for images)
    inner_lr: float = 1e-2      # inner step size; with --meta-sgd the initial value of the learned rates
    meta_sgd: bool = True       # learn one inner rate per weight entry (Li et al. 2017)
    first_order: bool = False   # drop second-order terms of the meta-gradient (FOMAML, Finn et al. 2017)
    adapt: str = "all"          # "all" weights adapt, or "shift": hidden biases only (Functa modulations)
    # Second-order MAML costs ~25 s per step for 100 images at 48 px on 2 CPU cores (the inner
    # loop always fits all observed pixels), so a ~10 minute CPU run takes few images per step.
    # Adam at 3e-3 diverged in a short test run; 1e-3 learns fast and stayed stable.
    batch: int = 8
    # All observed pixels in the outer loss too: the inner loop already visits every pixel, so
    # subsampling the outer loss saves little time per step and loses more per step (bench.py,
    # 300 s on 2 cores: 25 dB after 88 s with all pixels even on the eager path, 99 s at 512).
    pixels: int = 0
    lr: float = 1e-3
    out: str = "runs/maml"


def main(argv=None) -> dict:
    cfg, given = parse_config(MamlConfig, argv, choices={"model": ("maml",), "adapt": ("all", "shift")})
    return train(cfg, given, script="train_maml")


if __name__ == "__main__":
    run_main(main)

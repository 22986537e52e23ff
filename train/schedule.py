"""The learning-rate schedule: cosine decay over the run's budget, whichever of its limits ends it.

A run is budgeted by steps (`--steps`) and by minutes of step time (`--minutes`); most runs
end on the clock. Budgeted training (Li, Yumer & Ramanan 2020, "Budgeted Training", ICLR)
finds that decaying the lr to (near) zero exactly at the budget's end beats a constant lr or
a schedule tuned for another budget, so the progress of the schedule is the larger of the
two fractions used, steps/steps and seconds/minutes. Why a decay at all, measured here: at
a constant 1e-3 the hypernetwork's train PSNR swings by 2-5 dB between evaluations, and one
5-minute run fell from 30.4 dB to 11.8 dB in its last 10 steps (a loss spike Adam never
got to repair).

Progress depends on the clock when --minutes ends the run, so two such runs differ by when
the lr fell, as they already differ by where they stop. With --minutes 0 the schedule is a
pure function of the step (reproducible, and a resumed run continues it exactly). Resuming
with a larger budget stretches the remaining schedule: the lr rises again to where the new
budget puts it.
"""
from __future__ import annotations

import math


def budget_progress(step: int, seconds: float, steps: int, minutes: float) -> float:
    """Fraction of the budget used, in [0, 1]: the larger of steps and time (time only if minutes > 0)."""
    progress = step / steps
    if minutes > 0:
        progress = max(progress, seconds / (60 * minutes))
    return min(progress, 1.0)


def lr_factor(progress: float, final: float) -> float:
    """Cosine from 1 at progress 0 to `final` at progress 1 (final = 1: a constant lr)."""
    return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * progress))

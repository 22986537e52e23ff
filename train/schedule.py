"""The learning-rate schedule: linear warmup, then a cosine over a step horizon.

    factor = lr_factor(step, horizon, warmup, final)   # the lr as a fraction of --lr

A run is budgeted by steps (`--steps`) and by minutes of step time (`--minutes`). Budgeted
training (Li, Yumer & Ramanan 2020, "Budgeted Training", ICLR) finds that decaying the lr to
(near) zero exactly at the budget's end beats a constant lr or a schedule tuned for another
budget. The cosine runs over a *step horizon*: `--steps` when no minutes budget is set, else
the step at which the minutes would end at the step rate measured early in the run
(`fix_horizon`). From then on the lr is a pure function of the step, so two machines that
reach the same step have the same lr, and a resumed run continues the schedule exactly. The
run stops at the horizon or when the clock runs out, whichever comes first.

Warmup (a linear ramp over `--warmup` steps, Goyal et al. 2017) keeps Adam's first updates,
made with poor second-moment estimates, small. The schedule is a formula of (step, horizon)
rather than a `torch.optim.lr_scheduler` because the horizon is known only after the rate is
measured and must be recomputed when a run is resumed with a new budget; `LambdaLR` would wrap
the same function.
"""
from __future__ import annotations

import math

RATE_FROM, RATE_TO = 20, 120  # the steps between which the step rate is measured (after the first ones' start-up)


def lr_factor(step: int, horizon: int, warmup: int, final: float) -> float:
    """Linear warmup from 1/warmup to 1 over `warmup` steps, then a cosine from 1 at `warmup` to `final`
    at `horizon` (final = 1: constant after warmup)."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = min(max(step - warmup, 0) / max(horizon - warmup, 1), 1.0)
    return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * progress))


def fix_horizon(step: int, seconds: float, rate: float, steps: int, minutes: float) -> int:
    """The step at which the budget ends: `steps`, or earlier where `minutes` of step time at `rate`
    steps per second (measured) end first, counted from (step, seconds)."""
    if minutes <= 0 or rate <= 0:
        return steps
    return max(step + 1, min(steps, step + int(rate * max(60 * minutes - seconds, 0))))

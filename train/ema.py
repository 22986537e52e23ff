"""An exponential moving average of a method's weights (`--ema DECAY`), for evaluation and checkpoints.

Averaging the weights of the last few hundred steps removes the step-to-step noise of Adam at
a high rate without lowering the rate (Polyak & Juditsky 1992; the EMA every recent image
model evaluates, e.g. DiT's 0.9999). torch's `AveragedModel` keeps the copy; the decay warms up
as (1 + n) / (10 + n) after n updates (as TensorFlow's ExponentialMovingAverage with
`num_updates`), so a short run averages over a share of its own steps instead of being held
at its initialization. Buffers (a normalization's running statistics) are copied, not averaged.

    ema = WeightAverage(method, decay)   # a copy of method's weights
    ema.update(method)                    # after every optimizer step
    ema.module                            # the averaged method: evaluate and save this one
"""
from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel


class WeightAverage:
    def __init__(self, method: nn.Module, decay: float, updates: int = 0):
        self.decay, self.updates = decay, updates
        self.averaged = AveragedModel(method, multi_avg_fn=self._average, use_buffers=False)
        if updates:
            self.averaged.n_averaged.fill_(updates)  # a resumed average goes on, it does not restart from a copy

    @property
    def module(self) -> nn.Module:
        return self.averaged.module

    def _average(self, averaged: list[torch.Tensor], current: list[torch.Tensor], _count) -> None:
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))  # a host number: no device sync
        torch._foreach_lerp_(averaged, current, 1 - decay)  # what torch's get_ema_multi_avg_fn does, at our decay

    @torch.no_grad()
    def update(self, method: nn.Module) -> None:
        self.averaged.update_parameters(method)
        for mine, theirs in zip(self.module.buffers(), method.buffers()):
            mine.copy_(theirs)
        self.updates += 1

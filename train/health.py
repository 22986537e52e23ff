"""The training loss health check: a NaN/inf or exploded loss stops the run before the bad
step reaches the weights, with a one-line error naming the step and the kept checkpoint.

The run stops if the loss is NaN/inf or has exploded: MSE > 10. Targets lie in [0, 1] and
every method starts below MSE 1.3 (measured: hyper/concat/perimage/maml x sine/relu x all
encodings), so MSE > 10 (RMS error > 3 image ranges) is divergence, not a transient spike. A
fixed bound needs no reference value, so a resumed run applies exactly the same test.
`save_checkpoint` separately refuses NaN/inf weights, so the last checkpoint stays good.

Two modes, same verdicts and messages:
  immediate  (CPU, or any optimizer that cannot skip a step): the loss is read every step
             before backward. On CPU that read is not a device sync, just a scalar copy.
  deferred   (CUDA with fused Adam): reading the loss every step would stall the GPU queue
             once per step. Instead the verdict stays on the device: the fused Adam kernel
             skips a bad step itself (`found_inf`, the mechanism AMP's GradScaler uses), the
             first bad step is remembered on the device, and `flush()` raises where the host
             syncs anyway (every 10 steps for logging, before evaluating or checkpointing).
With several processes the loss and MSE are first averaged over ranks (`reduce`), so every
rank reaches the same verdict and stops together.

A loss that jumps (`spike` > 0, `--skip-spikes`): a step whose loss exceeds `spike` times a slow
running mean of the losses before it is skipped, not stopped: its gradient does not reach the
weights (`check` returns True; on CUDA fused Adam skips it through `found_inf`). The running mean
takes in every loss, clipped at `spike` times itself, so a real change of level is followed within
a few hundred steps rather than skipped forever. The first WARM steps are never skipped.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import torch

from common.errors import UserError

MAX_MSE = 10.0
WARM = 20           # steps before the spike test starts (the first losses fall fast)
TRACK = 0.02        # weight of each new loss in the running mean the spike test compares with


class LossGuard:
    def __init__(self, out: Path, optimizer: torch.optim.Optimizer, step: int,
                 reduce: Callable[[torch.Tensor], torch.Tensor] | None = None, on_stop: Callable[[], None] = lambda: None,
                 spike: float = 0.0):
        """out: the run folder (to say whether a checkpoint is kept); optimizer: fused Adam on
        CUDA gives the deferred mode; step: the step the run starts at; reduce: (2,) -> (2,)
        mean over ranks or None; on_stop: called before raising (closes the progress bar); spike: skip a step
        whose loss exceeds spike x the running mean (0 = never)."""
        self.out, self.optimizer, self.reduce, self.on_stop = Path(out), optimizer, reduce, on_stop
        self.spike, self.seen, self.mean = spike, 0, None  # the running mean: a float, or a () tensor (deferred)
        self._skipped = 0
        device = optimizer.param_groups[0]["params"][0].device
        self.deferred = device.type == "cuda" and bool(optimizer.defaults.get("fused"))
        if self.deferred:
            self.count = torch.full((), float(step), device=device)  # step counter kept on the device
            self.first_bad = torch.tensor([-1.0, 0.0, 0.0], device=device)  # (step, loss, mse) of the first bad step

    @property
    def skipped(self) -> int:
        """Steps skipped so far for a jumped loss (a host sync in deferred mode)."""
        return int(self._skipped)

    def check(self, step: int, loss: torch.Tensor, mse: torch.Tensor) -> bool:
        """Call after the forward, before backward. loss, mse: () tensors of this step. Returns whether
        the caller should skip this step's update (immediate mode; deferred mode skips it on the device)."""
        values = torch.stack([loss.detach(), mse.detach()])  # (2,)
        if self.reduce is not None:
            values = self.reduce(values)
        if not self.deferred:
            loss_value, mse_value = values.tolist()
            if not (math.isfinite(loss_value) and mse_value <= MAX_MSE):
                self._stop(step, loss_value, mse_value)
            return self._jumped(loss_value)
        bad = ~(torch.isfinite(values[0]) & (values[1] <= MAX_MSE))  # () bool, stays on the device
        skip = bad | self._jumped(values[0])  # () bool: the spike test on the device, no sync
        self.optimizer.found_inf = skip.float()  # fused Adam skips the update where this is 1
        record = torch.cat([self.count.view(1), values.float()])  # (3,)
        self.first_bad = torch.where(bad & (self.first_bad[0] < 0), record, self.first_bad)
        self.count += 1

    def _jumped(self, loss):
        """Whether `loss` (a float, or a () tensor in deferred mode) jumped; updates the running mean."""
        if not self.spike:
            return False
        self.seen += 1
        if self.mean is None:
            self.mean = loss
            return False if isinstance(loss, float) else torch.zeros((), dtype=torch.bool, device=loss.device)
        jumped = (loss > self.spike * self.mean) & (self.seen > WARM)
        if isinstance(loss, float):
            self.mean += TRACK * (min(loss, self.spike * self.mean) - self.mean)
        else:
            self.mean = self.mean + TRACK * (torch.minimum(loss, self.spike * self.mean) - self.mean)
        self._skipped = self._skipped + jumped  # an int, or a () tensor on the device
        return bool(jumped) if isinstance(loss, float) else jumped

    def flush(self) -> None:
        """Raise for a bad step seen since the start (deferred mode); a host sync."""
        if self.deferred:
            step, loss_value, mse_value = self.first_bad.tolist()
            if step >= 0:
                self._stop(int(step), loss_value, mse_value)

    def _stop(self, step: int, loss_value: float, mse_value: float) -> None:
        what = (f"loss became {loss_value}" if not math.isfinite(loss_value)
                else f"loss exploded (MSE {mse_value:.3g} > {MAX_MSE:g})")
        ckpt = self.out / "ckpt.pt"
        kept = f"the last good checkpoint {ckpt} is kept" if ckpt.is_file() else "no checkpoint was written"
        self.on_stop()  # end the progress line, so the error message starts a line of its own
        raise UserError(f"{what} at step {step}: {kept}; lower --lr and rerun with --overwrite")

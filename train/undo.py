"""Undo the update that made the loss jump (`--undo-spikes`, with `--skip-spikes`).

    undo = UndoSpikes(method, optimizer)
    skip = guard.check(step, loss, mse)    # the loss of this step's forward jumped?
    ...backward, clip...
    undo.keep(skip)                        # the weights and Adam's state before this update
    optimizer.step() unless skip
    undo.restore(skip)                     # a jumped loss: back to before the previous update

The spike test of `train/health.py` reads a step's loss before its update, so the update it can
skip is the next one, not the one that did the damage: when the loss jumps at step k, the
weights that make it were written by the update of step k - 1, and skipping updates only holds
the model in that state until the running mean has risen to meet it. A long run of `modulated`
was seen to collapse that way (its tracked score fell by about 10 dB within 100 steps and took
thousands of steps to come back; docs/modulated.md). Keeping a copy of the weights and of Adam's
moments from before each update, and restoring it when the loss jumps, removes that update
instead. The copy is one more set of the parameters and their optimizer state, copied in place
every step (small next to a step: `modulated` has 58 thousand parameters).

`skip` is a bool on the CPU, or a () bool tensor on the device in the guard's deferred mode
(CUDA, fused Adam); both take the same path, the tensor one through `torch.where`, with no sync.
"""
from __future__ import annotations

import torch


class UndoSpikes:
    def __init__(self, method: torch.nn.Module, optimizer: torch.optim.Optimizer):
        self.params = [p for p in method.parameters() if p.requires_grad]
        self.optimizer = optimizer
        self.saved: list[torch.Tensor] | None = None

    def _live(self) -> list[torch.Tensor]:
        """The weights, then every tensor of their optimizer state (Adam's step and moments), in a fixed order."""
        live = [p.data for p in self.params]
        for p in self.params:
            state = self.optimizer.state.get(p, {})
            live += [state[k] for k in sorted(state) if torch.is_tensor(state[k])]
        return live

    @torch.no_grad()
    def keep(self, skip: bool | torch.Tensor) -> None:
        """Before the update: copy the live weights and state, unless this step is skipped (then the
        copy from before the previous update is kept, to be restored)."""
        live = self._live()
        if self.saved is None or len(self.saved) != len(live):  # the first step, or Adam's state just appeared
            self.saved = [t.detach().clone() for t in live]
            return
        for saved, t in zip(self.saved, live):
            if isinstance(skip, bool):
                if not skip:
                    saved.copy_(t)
            else:
                saved.copy_(torch.where(skip, saved, t))

    @torch.no_grad()
    def restore(self, skip: bool | torch.Tensor) -> None:
        """After the (skipped) update: where the loss jumped, put back the copy from before the
        previous update."""
        live = self._live()
        if self.saved is None or len(self.saved) != len(live):
            return
        if isinstance(skip, bool):
            if skip:
                for saved, t in zip(self.saved, live):
                    t.copy_(saved)
            return
        for saved, t in zip(self.saved, live):
            t.copy_(torch.where(skip, saved, t))

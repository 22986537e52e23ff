"""The training clock that `--minutes` budgets: seconds of training steps, device work included.

On a GPU a step returns once its kernels are queued; the work runs later. Timing each step on
the host would charge a method only for its launches (a method whose step never syncs would
look nearly free), and the GPU time would land on whatever next waits for the device (an
evaluation). So the clock is read only after the device has caught up:

    clock.start()        before a step: opens a segment unless one is open
    clock.stop()         synchronize the device, then close the segment (no-op when closed)
    clock.seconds        the closed segments' total

On the CPU the synchronize is a no-op and the trainer closes a segment after every step, so
the clock is exactly the sum of the step times, as before. On a GPU the trainer closes it
every `sync_every` steps, where the host syncs anyway to log the loss, and before anything
that is not a step (tracking, evaluation, checkpoints), which is then never charged; a
segment spans the steps queued in it, back to back, and the host's small work between them.
"""
from __future__ import annotations

import time
from typing import Callable

import torch


def device_sync(device: torch.device) -> Callable[[], None]:
    """A function that waits until `device` has finished its queued work (a no-op on the CPU)."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def sync_every(device: torch.device) -> int:
    """Steps per clock segment: 1 on the CPU (free), 10 on a GPU (a sync stalls the queue)."""
    return 1 if device.type == "cpu" else 10


class StepClock:
    def __init__(self, sync: Callable[[], None], seconds: float = 0.0, now: Callable[[], float] = time.perf_counter):
        """sync: waits for the device (`device_sync`); seconds: the total so far (a resumed run's);
        now: the time source (tests pass a fake one)."""
        self.sync, self.seconds, self.now = sync, seconds, now
        self.opened: float | None = None

    def start(self) -> None:
        if self.opened is None:
            self.opened = self.now()

    def stop(self) -> float:
        """Wait for the device, close the open segment; returns the total seconds."""
        if self.opened is not None:
            self.sync()  # before reading the time: the segment ends when the device's work does
            self.seconds += self.now() - self.opened
            self.opened = None
        return self.seconds

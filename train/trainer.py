"""The one training loop, shared by train_hyper.py and train_maml.py.

A step: pick images and what the method reads of them (train/batch.py: held-out pixels never,
`--support`, `--augment`, `--changes`), encode, decode at a sample of training pixels, MSE + the
method's penalty, Adam. Every `eval_every` steps the
shared `Evaluator` logs the same TensorBoard tags for every method, and every `track_every`
steps a cheap one on 16 + 16 icons writes track/* and track.jsonl (analysis/scoring/track.py); every `ckpt_every`
steps an atomic checkpoint lets a killed run resume exactly (step, optimizer, RNG).

`Run` holds one run's state and takes one step; `train` is the loop around it (the
folder, checkpoints, when to evaluate), and `train.report.Report` what rank 0 shows and
writes (progress bar, TensorBoard, evaluations, metrics.json); experiments/bench.py times the very same
`Run.step`. Under
torchrun each process takes its shard of every batch (train/distributed.py) and only rank
0 writes. The host reads the loss only every 10 steps (and at evaluation/checkpoints), so
on a GPU the steps queue up without a sync (the health check in train/health.py too).
"""
from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

import torch

from common.cli import resolve_device
from data.images import load_images
from data.pixels import heldout_mask
from data.split import train_split
from common.errors import UserError
from models.method import Method
from train.registry import build_method
from common.runfolder import claim
from train.checkpoint import capture_rng, check_optimizer_state, restore_rng, save_checkpoint
from train.clock import StepClock, device_sync, sync_every
from train.device_defaults import for_device
from train.distributed import (
    DistInfo,
    all_ok,
    barrier,
    check_batch,
    init_distributed,
    max_over_ranks,
    mean_over_ranks,
    shutdown,
    wrap,
)
from train.fast import enable_fast_path, make_optimizer, param_groups, to_device
from train.health import LossGuard
from train.memory import check_fits
from train.report import Report
from train.batch import step_batch
from train.prepare import prepare_run
from train.sampler import PixelSampler
from train.ema import WeightAverage
from train.undo import UndoSpikes
from train.schedule import RATE_FROM, RATE_TO, fix_horizon, lr_factor

log = logging.getLogger(__name__)


class Run:
    """One run's data, method, optimizer and step generator on `device`; `step()` trains one step.

    With `ckpt` (and its `method`, weights loaded: `prepare_run`), model, optimizer, generator
    and counters continue from it exactly.
    """

    def __init__(self, cfg, device: torch.device, info: DistInfo = DistInfo(), ckpt: dict | None = None,
                 method: Method | None = None):
        self.cfg, self.device, self.info = cfg, device, info
        self.fast_path = enable_fast_path(device) if cfg.fast else []
        torch.manual_seed(cfg.seed)
        split = train_split(cfg.data, cfg.unseen)  # a folder's held-back images are not trained on (data/split.py)
        self.train_set = load_images(cfg.data, cfg.res, split)
        if ckpt is not None and ckpt["names"] != self.train_set.names:
            raise UserError(f"{Path(cfg.out) / 'ckpt.pt'} was trained on other images than {cfg.data}: use the same --data")
        self.heldout = heldout_mask(len(self.train_set), cfg.res)  # (N, 1, res, res), fixed for every run
        hr_images = load_images(cfg.data, cfg.hr_supervision, split).images if cfg.hr_supervision else None
        self.sampler = PixelSampler(self.train_set.images, self.heldout, hr_images, cfg.edge_share).to(device)
        self.images = to_device(self.train_set.images, device)  # (N, 3, res, res)
        self.observed = to_device(~self.heldout, device)  # (N, 1, res, res)
        self.n = len(self.train_set)
        check_batch(min(cfg.batch, self.n), info)
        check_fits(dataclasses.asdict(cfg), self.n, device)  # refuse before allocating, with the estimate
        self.method = (method if method is not None else build_method(dataclasses.asdict(cfg), self.n)).to(device)
        self.optimizer = make_optimizer(param_groups(self.method, cfg.base_lr), cfg.lr, cfg.fast, cfg.beta2)
        self.fast_path += ["fused Adam"] if self.optimizer.defaults.get("fused") else []
        self.gen = torch.Generator(device=device).manual_seed(cfg.seed)
        self.method.generator = self.gen  # its own draws in a step (hyper_interp) come from the run's stream
        self.step_count = 0
        # Seconds of training steps, the device's work included (train/clock.py): the --minutes budget.
        self.timer, self.sync_every = StepClock(device_sync(device)), sync_every(device)
        # The seconds the lr schedule reads. In one process, `elapsed`; under torchrun the ranks'
        # clocks differ, so `train` sets it to the ranks' agreed value every 10 steps, else
        # their lrs (and then weights) would drift apart.
        self.clock = 0.0
        self.last_loss = torch.zeros((), device=device)
        # The lr schedule's step horizon (train/schedule.py): --steps until a --minutes budget fixes it
        # from the step rate measured between steps RATE_FROM and RATE_TO.
        self.horizon, self.rate, self._rate_start = cfg.steps, 0.0, 0.0
        if ckpt is not None:
            if "train_model" in ckpt:  # the checkpoint's "model" is the weight average; training goes on from these
                self.method.load_state_dict(ckpt["train_model"])
            self.horizon, self.rate = ckpt.get("horizon", cfg.steps), ckpt.get("rate", 0.0)
            check_optimizer_state(Path(cfg.out) / "ckpt.pt", ckpt["optimizer"], self.optimizer, self.method)
            self.optimizer.load_state_dict(ckpt["optimizer"])
            if not restore_rng(ckpt["rng"], self.gen, reseed=cfg.seed + ckpt["step"]):
                log.info("the checkpoint's step generator was saved on another kind of device than %s: reseeded "
                         "(--seed + step), so the resumed run draws other pixels and batches than it would have",
                         device.type)
            self.step_count, self.timer.seconds = ckpt["step"], ckpt["elapsed"]
            self.clock = self.elapsed
        # DDP (after loading: it broadcasts rank 0's weights). With --inner-steps 0, Meta-SGD's inner
        # rates take no part in the loss, and DDP refuses parameters without a gradient unless told.
        self.model = wrap(self.method, info, device, find_unused=getattr(cfg, "inner_steps", 1) == 0)
        self.start_step = self.step_count
        self.guard = LossGuard(cfg.out, self.optimizer, self.step_count, mean_over_ranks(info), spike=cfg.skip_spikes)
        self.undo = UndoSpikes(self.method, self.optimizer) if cfg.undo_spikes else None
        self.ema = None
        if cfg.ema:
            self.ema = WeightAverage(self.method, cfg.ema, ckpt.get("ema_updates", 0) if ckpt else 0)
            if ckpt is not None and "train_model" in ckpt:
                self.ema.module.load_state_dict(ckpt["model"])

    @property
    def eval_method(self) -> Method:
        """What evaluation, tracking and checkpoints read: the weight average with --ema, else the method."""
        return self.ema.module if self.ema is not None else self.method

    @property
    def elapsed(self) -> float:
        """Seconds of training steps so far, as of the clock's last reading."""
        return self.timer.seconds

    def progress(self) -> float:
        """Fraction of the budget used, steps of the horizon or minutes, whichever is further (the bar)."""
        seconds = self.clock if self.info.enabled else self.elapsed
        progress = self.step_count / self.horizon
        if self.cfg.minutes > 0:
            progress = max(progress, seconds / (60 * self.cfg.minutes))
        return min(progress, 1.0)

    def _measure_rate(self) -> None:
        """RATE_FROM and RATE_TO steps after this process started, read the clock (the ranks' agreed one), then fix the horizon."""
        seconds = self.timer.stop()
        if self.info.enabled:
            seconds = max_over_ranks(seconds, self.info, self.device)
        if self.step_count - self.start_step == RATE_FROM:
            self._rate_start = seconds
            return
        self.rate = (RATE_TO - RATE_FROM) / max(seconds - self._rate_start, 1e-9)
        self.horizon = fix_horizon(self.step_count, seconds, self.rate, self.cfg.steps, self.cfg.minutes)

    def step(self) -> torch.Tensor:
        """One optimizer step at the scheduled lr, timed by `timer` (read every `sync_every` steps).
        Returns this rank's MSE, a () tensor left on the device (no sync)."""
        self.timer.start()
        cfg = self.cfg
        factor = lr_factor(self.step_count, self.horizon, cfg.warmup, cfg.lr_final)
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.lr * group.get("lr_scale", 1.0) * factor  # groups saved before the scale: 1
        images, read, mine, coords, targets = step_batch(self)  # this rank's share of the step's icons
        pred, penalty = self.model(images, read, mine, coords)
        mse = (pred - targets).pow(2).mean()
        loss = mse + penalty
        skip = self.guard.check(self.step_count, loss, mse)  # before the step: a bad loss never reaches the weights
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip:
            torch.nn.utils.clip_grad_norm_(self.method.parameters(), cfg.clip)
        if self.undo is not None:
            self.undo.keep(skip)  # the weights before this update
        if not skip:  # a loss that jumped (--skip-spikes) is not learned from; on CUDA fused Adam skips it itself
            self.optimizer.step()
        if self.undo is not None:
            self.undo.restore(skip)  # a jumped loss: the update that made it is undone too (--undo-spikes)
        if self.ema is not None:
            self.ema.update(self.method)
        self.step_count += 1
        self.last_loss = loss.detach()
        if self.step_count % self.sync_every == 0:
            self.timer.stop()  # on the CPU every step (free); on a GPU where the host syncs anyway
        if cfg.minutes and not self.rate and self.step_count - self.start_step in (RATE_FROM, RATE_TO):
            self._measure_rate()
        return mse.detach()

    def out_of_time(self) -> bool:
        """Whether the --minutes budget is spent (never with --minutes 0)."""
        cfg, info = self.cfg, self.info
        if not cfg.minutes or self.step_count % self.sync_every:
            return False  # on a GPU the clock is read only where the host syncs anyway
        seconds = self.timer.stop()  # the device's queued work included
        if not info.enabled:
            return seconds >= 60 * cfg.minutes
        # Ranks must stop at the same step and follow the same lr: every 10 steps, where the host
        # syncs anyway, they agree on the clock (the slowest rank's).
        if self.step_count % 10:
            return False
        self.clock = max_over_ranks(seconds, info, self.device)
        return self.clock >= 60 * cfg.minutes

    def save(self, script: str) -> None:
        """The checkpoint, written by rank 0, on every rank's call: all ranks learn whether the write
        succeeded and stop together if not (the others would otherwise wait for rank 0 in their next
        all-reduce until the process group's 30-minute timeout)."""
        self.guard.flush()  # every rank: a bad step stops them all alike
        error = None
        if self.info.is_main:
            try:
                self.checkpoint(script)
            except UserError as err:
                error = err
        if not all_ok(error is None, self.info, self.device):
            raise error or UserError("rank 0 could not write the checkpoint (its error is in its output): "
                                     "fix that and rerun with --resume")

    def checkpoint(self, script: str) -> None:
        self.guard.flush()  # never save weights past an unreported bad step
        average = {"train_model": self.method.state_dict(), "ema_updates": self.ema.updates} if self.ema else {}
        save_checkpoint(Path(self.cfg.out) / "ckpt.pt", {
            "script": script, "config": dataclasses.asdict(self.cfg), "names": self.train_set.names,
            "heldback": self.train_set.heldback,  # a folder's unseen images (data/split.py)
            "model": self.eval_method.state_dict(),  # what a loader reads: the weight average with --ema
            **average, "optimizer": self.optimizer.state_dict(), "horizon": self.horizon, "rate": self.rate,
            "step": self.step_count, "rng": capture_rng(self.gen), "elapsed": self.elapsed})


def train(cfg, given: set[str], script: str) -> dict:
    """Train the method described by `cfg` (a TrainConfig subclass); returns the final metrics
    (rank 0; other ranks of a torchrun job return only their step count and time)."""
    info, device = init_distributed(resolve_device(cfg.device))
    try:
        metrics = _train(cfg, given, script, info, device)
    except BaseException:
        shutdown(info, wait=False)
        raise
    shutdown(info)
    return metrics


def _train(cfg, given: set[str], script: str, info: DistInfo, device: torch.device) -> dict:
    cfg, ckpt, method, replace = prepare_run(cfg, given, script, info)
    out = Path(cfg.out)
    main = info.is_main
    if ckpt is None:
        cfg, changed = for_device(cfg, given, device)  # GPU-sized defaults (train/device_defaults.py)
        if main and changed:
            log.info("%s defaults: %s (flags override)", device.type,
                     ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in changed.items()))
    run = Run(cfg, device, info, ckpt, method)  # data and model: refused, if at all, before anything is deleted
    if replace:
        barrier(info)  # every rank has checked
        if main:
            shutil.rmtree(out)
    if main:
        claim(out, script, dataclasses.asdict(cfg))  # marked from the moment it exists (common/runfolder.py)
    if ckpt is not None:
        if given & {"steps", "minutes"}:  # a new budget: its horizon from the step rate measured before
            run.horizon = fix_horizon(run.step_count, run.elapsed, run.rate, cfg.steps, cfg.minutes)
        log.info("resuming %s at step %d", out, run.step_count)
    if main and run.train_set.note:
        log.info("%s", run.train_set.note)
    if main and run.fast_path:
        log.info("fast path: %s", "; ".join(run.fast_path))
    report = Report(run, script) if main else None  # what rank 0 shows and writes (train/report.py)
    if report and run.step_count == 0:
        report.track()  # the starting point

    while run.step_count < run.horizon and not run.out_of_time():
        mse = run.step()
        step = run.step_count
        if step % 10 == 0 or step == run.horizon:
            run.guard.flush()  # every rank checks its losses before anything reads them
        tracks, evaluates = cfg.track_every and step % cfg.track_every == 0, step % cfg.eval_every == 0
        saves = step % cfg.ckpt_every == 0
        if tracks or evaluates or saves:
            run.timer.stop()  # what follows is not a step: never charged to --minutes
        if report:
            report.step(mse)
            if tracks:
                report.track()
            if evaluates:
                report.evaluate(step % cfg.image_every == 0)
        if saves:
            run.save(script)
        elif tracks or evaluates:
            barrier(info)  # the other ranks wait here, not in their next step's clock

    run.timer.stop()
    run.save(script)
    if not main:
        return {"step": run.step_count, "train_seconds": run.elapsed, "rank": info.rank}
    return report.finish()

"""What rank 0 shows and writes while a run trains: the progress bar, TensorBoard, the
evaluations, the tracking curve and, at the end, the figures and metrics.json (the final scores,
the steps, training seconds and training images, and the run's config).

    report = Report(run, script)          # rank 0 only (other ranks write nothing)
    report.step(mse)                      # after every step: the bar; loss and lr every 10 steps
    report.track()                        # the cheap evaluation on 16 + 16 icons (analysis/scoring/track.py)
    report.evaluate(with_images)          # the full one (analysis/scoring/evaluate.py), logged as psnr/*
    metrics = report.finish()             # the final evaluation, figures/, metrics.json

The loss is read on the host only every 10 steps (one sync), after the trainer has flushed
the loss guard (train/health.py), so a step never waits for the device otherwise.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from analysis.figures import save_png
from analysis.scoring.evaluate import Evaluator
from analysis.scoring.track import Tracking

log = logging.getLogger(__name__)


class Report:
    """Rank 0's outputs for the `Run` `run` (train/trainer.py) of `script`."""

    def __init__(self, run, script: str):
        cfg = run.cfg
        self.run, self.out = run, Path(cfg.out)
        self.evaluator = Evaluator(run.train_set, run.heldout, cfg.hr_res, cfg.data, cfg.unseen, cfg.unseen_count)
        self.writer = SummaryWriter(self.out / "tb", purge_step=run.step_count if run.step_count else None)
        self.tracking = (Tracking(self.evaluator, self.out / "track.jsonl", run.step_count, cfg.model, self.writer)
                         if cfg.track_every else None)
        self.parameters = sum(p.numel() for p in run.method.parameters() if p.requires_grad)
        budget = f"{cfg.minutes:g} min or {run.horizon} steps" if cfg.minutes else f"{cfg.steps} steps"
        self.bar = tqdm(total=100, initial=100 * run.progress(), desc=f"{script} {cfg.model}", dynamic_ncols=True,
                        mininterval=2.0,
                        bar_format="{desc}: {percentage:3.0f}% of " + budget + " |{bar}| {elapsed}<{remaining}{postfix}")
        run.guard.on_stop = self.bar.close  # a stopped run's error message starts a line of its own

    def step(self, mse: torch.Tensor) -> None:
        """After a step: advance the bar by the share of the budget the lr schedule sees; every
        10 steps (the guard already flushed) log the MSE, the loss (MSE + the method's penalty)
        and the lr."""
        run, step = self.run, self.run.step_count
        self.bar.update(100 * run.progress() - self.bar.n)
        if step % 10 and step != run.horizon:
            return
        mse_value, loss_value = torch.stack([mse, run.last_loss]).tolist()  # the one host sync
        self.writer.add_scalar("loss/train", loss_value, step)
        self.writer.add_scalar("loss/mse", mse_value, step)
        self.writer.add_scalar("lr", run.optimizer.param_groups[0]["lr"], step)
        self.writer.add_scalar("skipped_steps", run.guard.skipped, step)
        self.bar.set_postfix(step=step, loss=f"{mse_value:.2e}", psnr=f"{-10 * math.log10(max(mse_value, 1e-10)):.1f}",
                             refresh=False)

    def track(self) -> None:
        """The cheap evaluation (a step already tracked is skipped)."""
        if self.tracking is not None:
            self.tracking(self.run.eval_method, self.run.step_count, self.run.elapsed)

    def evaluate(self, with_images: bool) -> tuple[dict, dict]:
        """The full evaluation at this step, logged to TensorBoard: ({tag: value}, {tag: image})."""
        self.run.guard.flush()  # never report on weights past an unchecked step
        scalars, grids = self.evaluator(self.run.eval_method, with_images)
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, self.run.step_count)
        for tag, grid in grids.items():
            self.writer.add_image(tag, grid, self.run.step_count)
        self.writer.flush()
        return scalars, grids

    def finish(self) -> dict:
        """The last step's tracking and evaluation, the figures and metrics.json; returns the metrics."""
        self.bar.close()
        self.track()  # the last step, when it is not a multiple of --track-every
        final, grids = self.evaluate(with_images=True)
        for tag, grid in grids.items():
            save_png(grid, self.out / "figures" / (tag.split("/", 1)[1] + ".png"))
        run = self.run
        metrics = {**final, "step": run.step_count, "train_seconds": run.elapsed, "parameters": self.parameters,
                   "horizon": run.horizon, "skipped_steps": run.guard.skipped,
                   "images": run.n, "threads": torch.get_num_threads(),  # the CPU threads behind train_seconds
                   "config": dataclasses.asdict(run.cfg)}  # the config: what the numbers are of
        (self.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
        self.writer.close()
        log.info("done: %s", ", ".join(f"{k}={v:.2f}" for k, v in final.items()))
        return metrics

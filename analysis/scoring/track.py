"""Dense tracking: a cheap evaluation on a fixed subset, every `--track-every` steps.

The full evaluation (analysis/scoring/evaluate.py, every `--eval-every` steps and at the end) scores
every image at 48 and 256 px; too slow to run often, so it gives a curve a handful of points.
The tracker scores a fixed subset, 16 training icons spread over the set (their training and
their held-out pixels) and the first 16 unseen icons (read through 90% of their pixels, scored
on the other 10%, like psnr/unseen_heldout_pixels), and writes
    TensorBoard  track/train_pixels, track/heldout_pixels, track/unseen_heldout_pixels
    track.jsonl  a header line {"model", "count", "unseen_count", "references"} (the trivial references on the
                 same subset), then one line per evaluation: {"step", "train_seconds",
                 "track_seconds", and the three values}
so analysis/reporting/curves.py can draw the curves without parsing TensorBoard. The subset's numbers are
not the full evaluation's (16 icons, not 100): compare them with each other and with the
header's references, which are scored on the same subset.

Cost, measured in real runs (the `track_seconds` of every line against the run's training
seconds; `python -m analysis.scoring.track RUN_FOLDER` prints it), 48 px, default sizes, on 2 CPU cores
shared with other jobs (load ~8: a step took ~20x its idle time; not measured on an idle machine):

    python train_hyper.py --minutes 2 --track-every 5 --hr-res 0 --out /tmp/h && python -m analysis.scoring.track /tmp/h
    python train_maml.py --minutes 2 --track-every 3 --hr-res 0 --out /tmp/m && python -m analysis.scoring.track /tmp/m

    hyper  one tracking 1.82 s = 0.44 of a training step (4.16 s): 1.8% at every 25 steps, 0.9% at 50
    maml   one tracking 8.30 s = 1.15 of a training step (7.20 s): 4.6% at every 25 steps, 2.3% at 50

(Timed interleaved in one process instead, steps and trackings alternating: hyper 0.59 of a step,
concat 0.60, perimage 0.44, maml 1.02.) MAML costs most: its 32 icons each take an inner loop, and
its training batch is 8 icons. Hence the default --track-every 50: ~1% of the training time,
MAML ~2%; at 25, MAML was at 4.6%, too near the 5% this was to stay under. The unseen icons are
decoded at their held-out pixels only (a tenth of a render).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from analysis.scoring.evaluate import Evaluator, encode_all, psnr, render_all
from analysis.scoring.references import mean_image
from data.pixels import neighbour_fill, pixel_grid, to_pixels
from models.method import Method

TRACK_COUNT = 16  # training icons and unseen icons each


def spread(n: int, count: int) -> torch.Tensor:
    """`count` indices spread evenly over 0..n-1 (all of them when n <= count): (k,) long."""
    if n <= count:
        return torch.arange(n)
    return torch.linspace(0, n - 1, count).round().long()


def psnr_at(pred: torch.Tensor, target: torch.Tensor) -> float:
    """PSNR (dB) of pixel lists pred, target (B, P, 3), per image, then the mean over images
    (the same per-image mean as analysis.scoring.evaluate.psnr with a mask)."""
    mse = (pred.clamp(0, 1) - target).pow(2).mean((1, 2))  # (B,)
    return (-10 * torch.log10(mse.clamp_min(1e-10))).mean().item()


class Tracker:
    """The fixed subsets (taken from an Evaluator's data) and the cheap score on them."""

    def __init__(self, evaluator: Evaluator, count: int = TRACK_COUNT):
        self.index = spread(len(evaluator.train), count)  # (k,) rows of the training set (code tables)
        self.images = evaluator.train.images[self.index]  # (k, 3, r, r)
        self.heldout = evaluator.heldout[self.index]  # (k, 1, r, r) bool
        self.unseen = self.unseen_heldout = None
        if evaluator.unseen is not None:
            self.unseen = evaluator.unseen.images[:count]  # (k', 3, r, r)
            self.unseen_heldout = evaluator.unseen_heldout[:count]  # (k', 1, r, r): the full evaluation's rows
            # Every image has the same number P of held-out pixels (data.pixels.heldout_mask).
            where = to_pixels(self.unseen_heldout)[..., 0]  # (k', r*r) bool
            grid = pixel_grid(self.unseen.shape[-1])  # (r*r, 2)
            self.unseen_coords = torch.stack([grid[w] for w in where])  # (k', P, 2)
            self.unseen_targets = torch.stack([px[w] for px, w in zip(to_pixels(self.unseen), where)])  # (k', P, 3)
        mean = mean_image(evaluator.train.images, ~evaluator.heldout)  # (1, 3, r, r): all observed training pixels
        self.references = {
            "mean_icon_train_pixels": psnr(mean.expand_as(self.images), self.images, ~self.heldout).mean().item(),
            "mean_icon_heldout_pixels": psnr(mean.expand_as(self.images), self.images, self.heldout).mean().item(),
            "neighbours_heldout_pixels": psnr(neighbour_fill(self.images, ~self.heldout), self.images,
                                              self.heldout).mean().item()}
        if self.unseen is not None:
            seen = ~self.unseen_heldout
            self.references["mean_icon_unseen_heldout"] = psnr(mean.expand_as(self.unseen), self.unseen,
                                                               self.unseen_heldout).mean().item()
            self.references["neighbours_unseen_heldout"] = psnr(neighbour_fill(self.unseen, seen), self.unseen,
                                                                self.unseen_heldout).mean().item()

    @staticmethod
    def device(method: Method) -> torch.device:
        return next(method.parameters()).device

    def __call__(self, method: Method) -> dict[str, float]:
        """{"train_pixels", "heldout_pixels"[, "unseen_heldout_pixels"]}: PSNR dB, mean over the subset."""
        was_training = method.training
        method.eval()
        observed = ~self.heldout
        rep = encode_all(method, self.images * observed, observed, index=self.index)  # held-out pixels never read
        recon = render_all(method, rep, self.images.shape[-1])  # (k, 3, r, r)
        values = {"train_pixels": psnr(recon, self.images, observed).mean().item(),
                  "heldout_pixels": psnr(recon, self.images, self.heldout).mean().item()}
        if self.unseen is not None and method.handles_unseen_images:
            seen = ~self.unseen_heldout
            rep = encode_all(method, self.unseen * seen, seen)
            with torch.no_grad():  # decoded at the held-out pixels only: a tenth of a render
                pred = method.decode(rep, self.unseen_coords.to(self.device(method)))  # (k', P, 3)
            values["unseen_heldout_pixels"] = psnr_at(pred.cpu(), self.unseen_targets)
        method.train(was_training)
        return values


class TrackLog:
    """track.jsonl, append-only and resume-safe.

    Opening it at `step` keeps the header and the lines up to `step` and drops later ones: they
    came from steps after the checkpoint a resumed run restarts from, and are tracked again.
    `last_step` is the last step kept (-1 for none), so no step is written twice.
    """

    def __init__(self, path: Path, step: int, header: dict):
        self.path = Path(path)
        kept = []
        if self.path.is_file():
            for line in self.path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a kill
                if "step" not in record or record["step"] <= step:
                    kept.append(record)
        if not any("step" not in r for r in kept):
            kept.insert(0, header)
        self.last_step = max((r["step"] for r in kept if "step" in r), default=-1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("".join(json.dumps(r) + "\n" for r in kept))

    def append(self, record: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        self.last_step = record["step"]


def read_track(path: Path) -> tuple[dict, list[dict]]:
    """(header, the per-step records sorted by step) of a track.jsonl."""
    header, records = {}, []
    for line in Path(path).read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "step" in record:
            records.append(record)
        else:
            header = record
    return header, sorted(records, key=lambda r: r["step"])


class Tracking:
    """The trainer's hook: `tracking(method, step, train_seconds)` scores the subset, appends a
    line to track.jsonl and logs track/* to `writer` (anything with add_scalar), once per step."""

    def __init__(self, evaluator: Evaluator, path: Path, step: int, model: str, writer, count: int = TRACK_COUNT):
        self.tracker, self.writer = Tracker(evaluator, count), writer
        unseen = len(self.tracker.unseen) if self.tracker.unseen is not None else 0
        header = {"model": model, "count": len(self.tracker.index), "unseen_count": unseen,
                  "references": self.tracker.references}
        self.log = TrackLog(path, step, header)

    def __call__(self, method: Method, step: int, train_seconds: float) -> dict | None:
        """The record written, or None when `step` is already in track.jsonl."""
        if self.log.last_step == step:
            return None
        t0 = time.perf_counter()
        values = self.tracker(method)
        record = {"step": step, "train_seconds": round(train_seconds, 3),
                  "track_seconds": round(time.perf_counter() - t0, 4), **values}
        self.log.append(record)
        for key, value in values.items():
            self.writer.add_scalar(f"track/{key}", value, step)
        return record


def tracking_cost(path: Path) -> dict:
    """What tracking cost in a run: its evaluations (the one at step 0, before training, left
    out) against the run's training seconds, and that share scaled to every 25 and 50 steps."""
    header, records = read_track(path)
    tracked = [r for r in records if r["step"] > 0]
    seconds, train = sum(r["track_seconds"] for r in tracked), records[-1]["train_seconds"]
    steps = records[-1]["step"]
    per_call = seconds / max(len(tracked), 1)
    step_time = train / max(steps, 1)
    return {"model": header.get("model"), "steps": steps, "step_seconds": step_time, "calls": len(tracked),
            "seconds_per_call": per_call, "share": seconds / max(train, 1e-9),
            **{f"share_every_{k}": per_call / (k * step_time) for k in (25, 50)}}


if __name__ == "__main__":
    import sys

    for arg in sys.argv[1:]:
        file = Path(arg) if arg.endswith(".jsonl") else Path(arg) / "track.jsonl"
        c = tracking_cost(file)
        print(f"{c['model']}: {c['steps']} steps of {c['step_seconds']:.3f} s; {c['calls']} trackings of "
              f"{c['seconds_per_call']:.3f} s = {100 * c['share']:.1f}% of the training time; at --track-every 25: "
              f"{100 * c['share_every_25']:.1f}%, 50: {100 * c['share_every_50']:.1f}%")

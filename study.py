"""The whole study in one command: train every method, evaluate, upsample, pick pairs,
interpolate, and write the figures and the results table (Markdown and JSON).

    python study.py                      # ~36 min on a 2-core CPU, writes runs/study/
    python study.py --minutes 30         # longer, better run (per method); a GPU is used when present
    python study.py --quick --out /tmp/s # seconds: tiny models, a smoke run
    python study.py --methods hyper,hybrid,maml --seed 1 --out runs/study_seed1   # another draw
    python study.py --steps-from results/study   # the committed run's step counts, on any machine

The budget is minutes of training by default, so how many steps a method makes depends on the
machine (a slower CPU makes fewer, and scores lower). --steps-from FOLDER trains each method for
exactly the steps it made in that study folder (read from its results.json, else its
runs/<method>/metrics.json or track.jsonl), with no time limit: the way to reproduce a committed
table elsewhere. --steps sets step budgets directly ("2000" for every method, or
"hyper=1595,maml=937"). Every table records each method's steps beside its scores.

Every method gets the same data (icons100 at 48 px, 10% of each image's pixels held out)
and the same wall-clock training budget. Outputs in --out:
    runs/<method>/            checkpoint, TensorBoard events, figures, metrics.json
    upsample.png              48 px input, Lanczos, each method at 256 px, truth
    similarity/               similarity heatmaps and the chosen pairs (pairs.json)
    warps.pt                  every fitted warp (pairs and benchmark cases), fitted once, shared by the methods
    interpolation/<method>/   per pair: sheet.png (one row per mode), strips, GIFs, metrics
    interpolation_pair<k>.png pair k (3 similar pairs, then 1 dissimilar): the true icons and their cross-fade,
                              then per method its plain, warp and aligned blends side by side
    curves.png                PSNR on a fixed subset against training seconds, one panel per method,
                              with the trivial references (runs/<method>/track.jsonl, analysis/reporting/curves.py)
    results.md, results.json  the table the README shows (methods and the trivial references)
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch

import interpolate
import similarity
from analysis.endpoints import training_set, unseen_images
from analysis.figures import save_png
from analysis.interpolation.known_midpoints import build_benchmark
from analysis.interpolation.method_benchmark import benchmark_methods, path_sheet
from analysis.interpolation.warp_cache import WarpCache
from analysis.reporting.curves import curve_figure
from analysis.reporting.pair_figure import pair_figure
from analysis.reporting.report import POOL_COLUMNS, inner_step_lines, midpoint_lines, results_table
from analysis.reporting.upsampling import upsample_sheet, upsampled
from analysis.scoring.inner_steps import inner_step_table
from common.cli import Range, check_out_folder, parse_config, resolve_device, run_main, validate
from data.images import lanczos_resize, load_images
from data.split import BUNDLED, train_split, unseen_source
from common.errors import UserError
from train.registry import METHODS, spec
from common.runfolder import check_replace, check_resume, claim, holds_files
from analysis.reporting.study_steps import committed_steps, parse_steps
from train.checkpoint import method_from_checkpoint
from train.config import check_config, method_config
from train.trainer import train

# Rows of registry.METHODS: perimage is the reference; hyper_table is the exercise's index-coded setting (a code
# per training icon, no encoder). Out of the default study, in the registry: hyper_hr (256 px supervision),
# concat_table (the index-coded baseline) and hyper_interp (the hypernetwork with an interpolation loss, which
# modulated supersedes); each costs ~4 minutes of the study's ~40 (add them with --methods).
STUDY_METHODS = "concat,hyper,hyper_table,modulated,local,hybrid,maml,perimage"
# Training budget as a multiple of --minutes: the per-image reference needs less, and modulated learns from
# 1,445 icons (its registry data), not 100, and is the weight space every later answer reads, so it gets
# the study's spare minutes (its quality grows with steps: docs/modulated.md, the long run).
BUDGET = {"perimage": 0.5, "modulated": 3.0}
QUICK = {"steps": 3, "unseen_count": 4, "eval_every": 1000, "image_every": 1000}  # on top of the registry's tiny sizes


@dataclass
class StudyConfig:
    """Train, evaluate and compare every method; write figures and a results table."""

    out: str = "runs/study"
    minutes: float = field(default=3.0, metadata={"range": Range(0, open_low=True)})  # training budget per joint
    #                             method (the perimage reference gets half; 0 would be no limit here); 3.0 keeps
    #                             the whole study near 36 minutes on an idle 2-core CPU (measured, README)
    data: str = "icons100"
    res: int = 48
    hr_res: int = field(default=256, metadata={"range": Range(2)})  # upsampling target (true renders at this size
    #                             must exist)
    frames: int = field(default=9, metadata={"range": Range(2)})  # interpolation frames per pair, the ends included
    interp_res: int = 128       # interpolation render size (pictures; metrics at the training resolution)
    random_pairs: int = 20      # real pairs scored per method (seeded), besides the chosen ones
    midpoint_count: int = 4     # known-midpoint cases per kind of change (5 kinds) and benchmark
    methods: str = STUDY_METHODS
    seed: int = 0               # of every method's init and step sampling (held-out pixels, random pairs, benchmark fixed)
    steps_from: str = ""        # a study folder (e.g. results/study): each method trains for exactly the steps it made
    #                             there, with no time limit, so its tables reproduce on a machine of any speed
    steps: str = ""             # step budgets instead of minutes: "N" for every method or "hyper=1595,maml=937"
    #                             (over --steps-from for the methods it names)
    quick: bool = False         # tiny models, 3 steps: a smoke run of the whole pipeline
    resume: bool = False        # reuse finished runs in --out, resume unfinished ones
    overwrite: bool = False     # delete --out first
    device: str = "auto"


def budgets(cfg: StudyConfig, names: list[str]) -> dict[str, dict]:
    """Each method's training budget (config fields): minutes by default (BUDGET scales them per
    method), or exactly the steps of --steps-from / --steps with no time limit."""
    fixed = {**(committed_steps(cfg.steps_from, names) if cfg.steps_from else {}), **parse_steps(cfg.steps, names)}
    result = {}
    for name in names:
        # One full evaluation, at the end: each costs about 40 s on 2 cores (200 icons rendered at
        # 256 px and scored), and the cheap track every 50 steps already draws the curves.
        budget = (dict(QUICK) if cfg.quick else
                  {"minutes": cfg.minutes * BUDGET.get(name, 1.0), "steps": 1_000_000, "eval_every": 1_000_000})
        if name in fixed:
            budget.update(minutes=0.0, steps=fixed[name])
        result[name] = budget
    return result


def method_data(cfg: StudyConfig, name: str) -> str:
    """The data set method `name` trains on. A method whose registry row names its own data
    (modulated: icons-all) trains on it unless the study is pointed at other data than its
    default; unseen icons are the same for every method."""
    return spec(name).defaults.get("data", cfg.data) if cfg.data == StudyConfig.data else cfg.data


def train_all(cfg: StudyConfig, out: Path, names: list[str], plan: dict[str, dict]) -> dict[str, dict]:
    """Train each method on its budget in `plan` (`budgets`), or reuse a finished run with --resume;
    returns metrics by method."""
    metrics = {}
    for name in names:
        run = out / "runs" / name
        if cfg.resume and (run / "metrics.json").is_file():
            metrics[name] = json.loads((run / "metrics.json").read_text())
            continue
        data = method_data(cfg, name)
        budget = plan[name]
        changes = {"data": data, "res": cfg.res, "hr_res": cfg.hr_res, "out": str(run), "device": cfg.device,
                   "seed": cfg.seed,
                   # a run stopped before its first checkpoint starts afresh in its own (marked) folder
                   "resume": (run / "ckpt.pt").is_file(), "overwrite": run.exists(), **budget}
        run_cfg = method_config(name, tiny=cfg.quick, **changes)
        size = f"{budget['minutes']:g} min" if budget.get("minutes") else f"{budget['steps']} steps"
        print(f"\n=== training {name} ({'quick, ' if cfg.quick else ''}{size}) -> {run}")
        metrics[name] = train(run_cfg, given=set(changes), script=spec(name).script)
    return metrics


def upsample_figure(out: Path, names: list[str], device, count: int = 4) -> dict[str, float]:
    """One sheet on unseen icons (what the upsampling question is about): per icon a row of input
    (nearest), Lanczos, each method that can read a new icon, truth; PSNR on these icons."""
    renders, truth, lowres, shown = {}, None, None, []
    for name in names:
        method, ckpt = method_from_checkpoint(out / "runs" / name / "ckpt.pt", device)
        source = unseen_source(ckpt["config"]["data"], ckpt["config"].get("unseen", "auto"))
        if not method.handles_unseen_images or source is None:
            continue
        cfg = ckpt["config"]
        if truth is None:
            images = load_images(source[0], cfg["res"], source[1])
            # icons spread over the set, not its alphabetical start
            shown = sorted({round(k * (len(images) - 1) / max(count - 1, 1)) for k in range(count)})
            truth = load_images(source[0], cfg["hr_res"], source[1]).images[shown]  # (K, 3, R, R)
            lowres, icon_names = images.images[shown], [images.names[i] for i in shown]  # (K, 3, r, r)
            observed = torch.ones_like(images.images[:, :1], dtype=torch.bool)  # an unseen icon is read in full
        renders[name] = upsampled(method, images, observed, shown, truth.shape[-1])
    if truth is None:
        return {}
    sheet, scores = upsample_sheet(lowres, renders, truth, icon_names)
    save_png(sheet, out / "upsample.png", colors=256)
    return {label: value.mean().item() for label, value in scores.items()}


def interpolate_all(cfg: StudyConfig, out: Path, names: list[str]) -> dict[str, dict]:
    """Pairs chosen once, among the study's icons, by the similarity of the weight space that generalizes
    (modulated's latent grids; else the hypernetwork's weights, else the first method's), then every method
    blends them."""
    chooser = next((n for n in ("modulated", "hyper") if n in names), names[0])
    pool = study_icons(cfg)
    # modulated's pairs by the aligned cosine, the measure that predicted its morph error in every draw
    # (docs/similarity_and_pairs.md); the plain cosine predicted in at most one of four
    measure = "aligned" if chooser == "modulated" else "auto"
    similarity.main(["--ckpt", str(out / "runs" / chooser / "ckpt.pt"), "--out", str(out / "similarity"),
                     "--pool", str(pool), "--measure", measure, "--device", cfg.device])
    results = {}
    for name in names:
        results[name] = interpolate.main([
            "--ckpt", str(out / "runs" / name / "ckpt.pt"), "--pairs", str(out / "similarity" / "pairs.json"),
            "--frames", str(cfg.frames), "--res", str(cfg.interp_res), "--out", str(out / "interpolation" / name),
            "--random-pairs", str(cfg.random_pairs), "--pair-pool", str(pool), "--warps", str(out / "warps.pt"),
            "--device", cfg.device, "--overwrite"])  # regenerated on every study run (--resume too)
    # One picture per pair with every method's rows, under a name that does not depend on the pair.
    for k, pair in enumerate(results[names[0]]["pairs"]):
        folders = {name: next((out / "interpolation" / name).glob(f"{k}_*")) for name in names}
        kind = next(iter(folders.values())).name.split("_")[1]  # the folder is k_kind_a__b
        title = f"pair {k} ({kind}): {pair['a']['name']} to {pair['b']['name']}".replace("_", " ")
        truth = true_icons(method_data(cfg, chooser), cfg.interp_res, cfg.res, [pair["a"]["name"], pair["b"]["name"]])
        save_png(pair_figure(folders, pair["ts"], title, truth), out / f"interpolation_pair{k}.png", colors=256)
    return results


def true_icons(data: str, res: int, low_res: int, names: list[str]) -> torch.Tensor:
    """The training icons `names` of `data` at `res` px, (K, 3, res, res): the data set's own
    renders where it has that size, else Lanczos upsamples of its `low_res` images."""
    split = train_split(data, "auto")
    try:
        icons = load_images(data, res, split)
        images = icons.images
    except UserError:
        icons = load_images(data, low_res, split)
        images = lanczos_resize(icons.images, res)
    return images[[icons.names.index(name) for name in names]]


def bench_cases(res: int, count: int) -> list:
    """The first case of each kind of the training-icon benchmark (for the figures)."""
    icons = load_images("icons100", 256)
    cases = build_benchmark(icons.images, res=res, count_per_kind=count, names=icons.names)
    return [next(c for c in cases if c.kind == k) for k in dict.fromkeys(c.kind for c in cases)]


def study_icons(cfg: StudyConfig) -> int:
    """How many icons the study's data holds: a method trained on more (modulated) is scored on
    the first that many of its training icons (icons-all starts with icons100), as the others are."""
    return len(load_images(cfg.data, cfg.res, "train" if cfg.data in BUNDLED else None))


def inner_steps_all(loaded: dict, pool: int) -> dict:
    """PSNR after 0, 1, 3, 10 inner steps (one column for a one-pass method) on each run's data
    (its first `pool` training icons); loaded: {name: (method, checkpoint dict)}."""
    tables = {}
    for name, (method, ckpt) in loaded.items():
        images, observed = training_set(ckpt)
        images, observed = images.subset(slice(pool)), observed[:pool]
        tables[name] = inner_step_table(method, images.images, ~observed, unseen_images(ckpt["config"]))
    return tables


def main(argv=None) -> dict:
    cfg, _ = parse_config(StudyConfig, argv)
    names = [m.strip() for m in cfg.methods.split(",") if m.strip()]
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise UserError(f"unknown method {unknown[0] if unknown else '(none)'} in --methods: use {','.join(METHODS)}")
    twice = next((m for m in names if names.count(m) > 1), None)
    if twice:
        raise UserError(f"--methods names {twice} twice: name each method once")
    # Everything that can be refused is checked before --overwrite deletes anything: the folder,
    # the device, and every method's training config.
    out = check_out_folder(cfg.out)
    device = resolve_device(cfg.device)
    for name in names:
        run_cfg = method_config(name, tiny=cfg.quick, data=cfg.data, res=cfg.res, hr_res=cfg.hr_res, seed=cfg.seed)
        validate(run_cfg)
        check_config(run_cfg)
    study_icons(cfg)  # --data and --res: the images are read before anything is deleted
    plan = budgets(cfg, names)  # read before --overwrite: --steps-from may name the folder it replaces
    if holds_files(out) and cfg.resume:
        check_resume(out)
    elif holds_files(out):
        if not cfg.overwrite:
            raise UserError(f"{out} already exists: pass --resume to reuse its runs, --overwrite to replace it, "
                            "or another --out")
        check_replace(out)
        shutil.rmtree(out)
    claim(out, "study", dataclasses.asdict(cfg))
    if cfg.quick:  # a smoke run: every step of the pipeline, on as little as exercises it
        cfg = dataclasses.replace(cfg, random_pairs=min(cfg.random_pairs, 3), midpoint_count=min(cfg.midpoint_count, 1),
                                  interp_res=min(cfg.interp_res, 32), frames=min(cfg.frames, 5))
    train = train_all(cfg, out, names, plan)
    tracks = {name: out / "runs" / name / "track.jsonl" for name in names}
    if any(t.is_file() for t in tracks.values()):  # runs reused from before tracking have none
        curve_figure(tracks, out / "curves.png")
    print("\n=== upsampling, similarity and interpolation")
    upsample = upsample_figure(out, names, device)
    interp = interpolate_all(cfg, out, names)
    print("\n=== known midpoints and inner steps")
    loaded = {name: method_from_checkpoint(out / "runs" / name / "ckpt.pt", device) for name in names}
    methods = {name: method for name, (method, _) in loaded.items()}
    warps = WarpCache(out / "warps.pt")
    bench = benchmark_methods(methods, cfg.res, cfg.midpoint_count, warps=warps)
    warps.save()
    # the methods that can encode a changed icon, local included (its warp is the best model path)
    shown = {n: m for n, m in methods.items() if n in ("concat", "hyper", "hyper_interp", "modulated", "local", "hybrid", "maml")}
    for mode in ("weights", "aligned"):
        title = f"Known midpoints, training icons, {mode} path: dB = PSNR of its in-between frames"
        save_png(path_sheet(shown or methods, bench_cases(cfg.res, cfg.midpoint_count), mode, warps=warps, title=title),
                 out / f"known_midpoints_{mode}.png", colors=256)
    pool = study_icons(cfg)
    steps = inner_steps_all({n: (m, c) for n, (m, c) in loaded.items() if m.adapts or n == "hyper"}, pool)
    # a method trained on more icons than the study's is also scored on the study's (its inner-step table, 0 steps)
    wider = {n: {k: steps[n][k][0] for k in POOL_COLUMNS} for n in steps if (train[n].get("images") or 0) > pool}
    table, summary = results_table(train, interp, wider)
    changed = tuple(n for n, (_, c) in loaded.items() if c["config"].get("changes", 0) > 0)
    table += "\n".join(midpoint_lines(bench, summary, changed) + inner_step_lines(steps, summary)) + "\n"
    summary["upsample_shown_icons"] = upsample
    # What produced these numbers: the study's flags and each method's budget (its full training
    # config is in runs/<method>/metrics.json).
    summary["config"] = {**dataclasses.asdict(cfg), "budgets": plan}
    (out / "results.md").write_text(table)
    (out / "results.json").write_text(json.dumps(summary, indent=2))
    print(f"\n{table}\nwrote {out}/results.md, results.json, curves.png, upsample.png, similarity/, interpolation/")
    print(f"compare the methods in TensorBoard:  tensorboard --logdir {out}/runs")
    return summary


if __name__ == "__main__":
    run_main(main)

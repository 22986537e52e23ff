"""The study's results tables (Markdown) and their JSON summary: training and generalization
with the trivial references, interpolation on real pairs, the known-midpoint benchmark, and
PSNR against inner steps. study.py writes them to results.md and results.json.

Every table names each method's training steps beside its scores (a minutes budget makes as many
steps as the machine allows, so a score is only comparable with the steps it took)."""
from __future__ import annotations

from analysis.interpolation.method_benchmark import flat_scores, table


# The training columns that a method trained on more icons than the study's pool is scored on twice.
POOL_COLUMNS = ("train_pixels", "heldout_pixels")


def results_table(train: dict, interp: dict, pool: dict | None = None) -> tuple[str, dict]:
    """Markdown tables and a JSON-able summary of every method. pool: {method: {column: dB}} for the
    methods trained on more icons than the study's (modulated: icons-all), their POOL_COLUMNS on the
    study's icons (icons100, the first icons of icons-all): those are the table's training columns,
    so every method's are over the same icons, and the score over all their own icons stands beside
    it, labelled (the summary keeps it as <column>_all_icons)."""
    pool = pool or {}

    def cell(value):
        return "n/a" if value is None else f"{value:.2f}"

    hr = next((k.rsplit("_", 1)[1] for m in train.values() for k in m if k.startswith("psnr/upsample_")), "256")
    keys = {"train_pixels": "psnr/train_pixels", "heldout_pixels": "psnr/heldout_pixels",
            "unseen_images": "psnr/unseen_images", "unseen_heldout_pixels": "psnr/unseen_heldout_pixels",
            "upsample": f"psnr/upsample_{hr}", "unseen_upsample": f"psnr/unseen_upsample_{hr}"}
    lines = [f"| method | parameters | training icons | train s | steps | train px dB | held-out px dB | unseen icons dB | "
             f"unseen held-out px dB | {hr} px, training icons dB | {hr} px, unseen icons dB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    summary = {"methods": {}}
    for name, m in train.items():
        row = {"parameters": m["parameters"], "train_icons": m.get("images"), "train_seconds": m["train_seconds"],
               "steps": m["step"], **{k: m.get(tag) for k, tag in keys.items()}}
        cells = {k: cell(row[k]) for k in keys}
        icons = "n/a" if row["train_icons"] is None else f"{row['train_icons']:,}"
        for k, value in pool.get(name, {}).items():
            row[f"{k}_all_icons"], row[k] = row[k], value
            cells[k] = f"{cell(value)} ({icons} icons: {cell(row[f'{k}_all_icons'])})"
        summary["methods"][name] = row
        lines.append(f"| {name} | {row['parameters']:,} | {icons} | {row['train_seconds']:.0f} | {row['steps']} | "
                     + " | ".join(cells.values()) + " |")
    # The trivial references (analysis/scoring/references.py), the same for every run of one data set:
    # the columns each one can be scored on, the others left empty.
    ref_tags = {
        ("mean_icon", "mean icon (reference)"): {
            "train_pixels": "mean_icon_train_pixels", "heldout_pixels": "mean_icon_heldout_pixels",
            "unseen_images": "mean_icon_unseen", "unseen_heldout_pixels": "mean_icon_unseen_heldout"},
        ("neighbours", "neighbour interpolation (reference)"): {
            "heldout_pixels": "neighbours_heldout_pixels", "unseen_heldout_pixels": "neighbours_unseen_heldout"},
        ("lanczos", "Lanczos (reference)"): {"upsample": f"lanczos_{hr}", "unseen_upsample": f"unseen_lanczos_{hr}"},
        ("bicubic", "bicubic (reference)"): {"upsample": f"bicubic_{hr}", "unseen_upsample": f"unseen_bicubic_{hr}"}}
    summary["references"] = {}
    for (key, label), tags in ref_tags.items():
        row = {k: next((m[f"reference/{tag}"] for m in train.values() if f"reference/{tag}" in m), None)
               for k, tag in tags.items()}
        summary["references"][key] = row
        lines.append(f"| {label} | | | | | " + " | ".join(cell(row[k]) if k in row else "" for k in keys) + " |")

    lines += upsampling_lines(train, hr, summary)
    lines += interpolation_lines(interp, summary)
    return "\n".join(lines) + "\n", summary


def upsampling_lines(train: dict, hr: str, summary: dict) -> list[str]:
    """48 px -> hr px: PSNR, SSIM and the flat-region error (speckle, analysis/scoring/flat_error.py) of
    every method against the true renders, training and unseen icons, Lanczos and bicubic beside."""
    metrics = ("psnr", "ssim", "flat_rmse")
    rows = {name: {f"{where}{metric}": m.get(f"{metric}/{where}upsample_{hr}") for where in ("", "unseen_")
                   for metric in metrics} for name, m in train.items()}
    for ref in ("lanczos", "bicubic"):
        tags = {f"{where}{metric}": f"reference/{where}{ref}_{hr}" + ("" if metric == "psnr" else f"_{metric}")
                for where in ("", "unseen_") for metric in metrics}
        rows[f"{ref} (reference)"] = {k: next((m[t] for m in train.values() if t in m), None) for k, t in tags.items()}
    summary["upsampling"] = rows
    lines = ["", f"| method, {hr} px renders | steps | training icons PSNR dB | SSIM | flat-region RMSE (grey levels) | "
             "unseen icons PSNR dB | SSIM | flat-region RMSE |", "|---|---|---|---|---|---|---|---|"]
    for name, row in rows.items():
        if all(v is None for v in row.values()):
            continue
        cells = [("n/a" if row[k] is None else f"{row[k]:.3f}" if k.endswith("ssim") else f"{row[k]:.2f}")
                 for k in row]
        lines.append(f"| {name} | {train[name]['step'] if name in train else ''} | " + " | ".join(cells) + " |")
    return lines


def interpolation_lines(interp: dict, summary: dict) -> list[str]:
    """Real pairs (no truth): the calibrated path metrics per method and mode, over the seeded
    random pairs (mean +- std) and over the chosen pairs (mean)."""
    summary["interpolation"] = {}
    if not interp:
        return []
    first = next(iter(interp.values()))
    count = len(first.get("random", {}).get("pairs", []))
    steps = {name: row["steps"] for name, row in summary.get("methods", {}).items()}
    lines = ["", f"| method | steps | mode | morph error, {count} random pairs (mean +- std; lower = better) | pdv | "
             "band-energy error | morph error, the chosen pairs (mean) |", "|---|---|---|---|---|---|---|"]
    summary["interpolation"] = {}
    for name, res in interp.items():
        for mode in res["pairs"][0]["modes"]:
            chosen = sum(p["modes"][mode]["morph_error"] for p in res["pairs"]) / len(res["pairs"])
            rnd = res.get("random", {}).get("modes", {}).get(mode)
            summary["interpolation"][f"{name}/{mode}"] = {"chosen_pairs_morph_error": chosen, "random_pairs": rnd}
            if rnd:
                lines.append(f"| {name} | {steps.get(name, '')} | {mode} | "
                             f"{rnd['morph_error']['mean']:.3f} +- {rnd['morph_error']['std']:.3f} | "
                             f"{rnd['pdv']['mean']:.3f} | {rnd['band_energy_error']['mean']:.3f} | {chosen:.3f} |")
            else:
                lines.append(f"| {name} | {steps.get(name, '')} | {mode} | | | | {chosen:.3f} |")
    return lines


def midpoint_lines(bench: dict, summary: dict, in_distribution: tuple[str, ...] = ()) -> list[str]:
    """The known-midpoint benchmark tables (analysis/interpolation/method_benchmark.py) and the tools' view:
    summary["known_midpoints"] (training icons) and ["known_midpoints_unseen"]. in_distribution: the
    methods trained on the benchmark's own change generator (--changes > 0), whose rows are marked:
    for them a changed icon is a training input, not a new kind of input."""
    lines = []
    labels = {name: f"{name} (in-distribution)" for name in in_distribution}
    note = [f"Rows marked in-distribution: {', '.join(in_distribution)}, trained on this benchmark's own shifts, "
            "scales and rotations (--changes)."] if in_distribution else []
    steps = {name: row["steps"] for name, row in summary.get("methods", {}).items()}
    for (title, b), key in zip(bench.items(), ("known_midpoints", "known_midpoints_unseen")):
        summary[key] = flat_scores(b["paths"])
        summary[key + "_endpoints"] = b["endpoints"]
        ends = ", ".join(f"{n} {e['mean']:.1f}" for n, e in b["endpoints"].items() if e)
        trained = ", ".join(f"{n} {steps[n]}" for n, e in b["endpoints"].items() if e and n in steps)
        lines += ["", f"Known midpoints, {title}: {b['cases']} cases (shift, scale, rotation, combination, hue); "
                  f"frame PSNR against the true in-between frames. Endpoint reconstruction dB: {ends}. "
                  f"Training steps: {trained}."]
        lines += ["", *note] if note else []
        lines += ["", table(b["paths"], labels)]
    return lines


def inner_step_lines(tables: dict, summary: dict) -> list[str]:
    """PSNR after k inner steps for the methods that adapt (analysis/scoring/inner_steps.py)."""
    summary["inner_steps"] = tables
    trained = {name: row["steps"] for name, row in summary.get("methods", {}).items()}
    lines = []
    for name, table in tables.items():
        steps = list(next(iter(table.values())))
        label = f"{name} ({trained[name]} training steps)" if name in trained else name
        lines += ["", f"| {label}: inner steps | " + " | ".join(str(k) for k in steps) + " |",
                  "|---|" + "---|" * len(steps)]
        lines += [f"| {row} | " + " | ".join(f"{v:.2f}" for v in values.values()) + " |" for row, values in table.items()]
    return lines

"""Paired comparisons on the known-midpoint benchmark: is one path better than another on the same cases?

Two paths scored on the same cases differ far less from case to case than either's frame PSNR
does (a case that is hard for one is hard for the other), so the question "is A better than B"
is answered by the per-case differences, not by two means and their spreads:

    rows = paired_rows(scores, against="modulated/aligned")   # each other path minus that one
    print(paired_table(rows))

A difference is *resolved* when its 95% interval (normal theory, 1.96 standard errors of the
mean difference) excludes 0; otherwise the two paths are tied on this benchmark.
"""
from __future__ import annotations

from analysis.interpolation.known_midpoints import spread


def case_scores(score: dict, metric: str = "frame_psnr") -> dict[tuple, float]:
    """{(kind, index): the case's score} of a `known_midpoints.evaluate` dict (its "cases")."""
    return {(c["kind"], c["index"]): c[metric] for c in score["cases"]}


def paired_difference(a: dict, b: dict, metric: str = "frame_psnr") -> dict:
    """`spread` of a's minus b's per-case score over the cases both scored, plus "resolved"."""
    sa, sb = case_scores(a, metric), case_scores(b, metric)
    shared = [key for key in sa if key in sb]
    if not shared:
        raise ValueError("the two paths share no case: score them on the same benchmark")
    out = spread([sa[k] - sb[k] for k in shared])
    out["resolved"] = abs(out["mean"]) > out["ci95"]
    return out


def flatten(paths: dict) -> dict[str, dict]:
    """{"<row>/<mode>" or "<reference>": score dict} of a `benchmark_methods` "paths" entry (None left out)."""
    out = {}
    for row, modes in paths.items():
        for mode, score in modes.items():
            if score is not None:
                out[row.removeprefix("(ref) ") if row.startswith("(ref) ") else f"{row}/{mode}"] = score
    return out


def paired_rows(scores: dict[str, dict], against: str, metric: str = "frame_psnr") -> dict[str, dict]:
    """{name: paired_difference(scores[name], scores[against])} for every other path, largest mean first."""
    rows = {name: paired_difference(score, scores[against], metric) for name, score in scores.items() if name != against}
    return dict(sorted(rows.items(), key=lambda item: -item[1]["mean"]))


def paired_table(rows: dict[str, dict], against: str) -> str:
    """Markdown: each path's mean per-case difference from `against`, its 95% interval and whether resolved."""
    lines = [f"| path | minus {against}, dB (mean, 95% interval) | n | resolved |", "|---|---|---|---|"]
    for name, d in rows.items():
        verdict = ("yes: better" if d["mean"] > 0 else "yes: worse") if d["resolved"] else "no: a tie"
        lines.append(f"| {name} | {d['mean']:+.2f} [{d['mean'] - d['ci95']:+.2f}, {d['mean'] + d['ci95']:+.2f}] | "
                     f"{d['n']} | {verdict} |")
    return "\n".join(lines)

"""Every flag of every script is checked before any work: table-driven over the scripts' configs, each
numeric flag gets a value just outside its range (cli.flag_range) and a NaN, each flag with fixed choices a
wrong one, each compound flag a malformed value; every one ends in exit code 2 and one `error:` line that
names the flag, without a traceback.

The scripts also get flags that make any work fail at once (a missing --data or --ckpt, --device nope), so
a check that is missing shows as a wrong message, never as a long run."""
from __future__ import annotations

import dataclasses
import math

import pytest

from experiments import bench
from experiments import compare_encodings
import interpolate
from experiments import scaling
import similarity
import study
import train_hyper
import train_maml
import upsample
import sample
import train_prior
from analysis.interpolation import calibrate_paths, known_midpoints
from analysis.reporting import contact_sheet
from common.cli import flag_choices, flag_range, run_main
from models.modulated import MODULATIONS
from train.registry import methods_of
from train.config import HyperConfig, MamlConfig

# script -> (its config, the choices its main passes to parse_config)
SCRIPTS = {
    train_hyper: (HyperConfig, {"model": methods_of("train_hyper"), "encoder": ("conv", "table")}),
    train_maml: (MamlConfig, {"model": methods_of("train_maml"), "adapt": ("all", "shift")}),
    study: (study.StudyConfig, {}),
    scaling: (scaling.ScalingConfig, {}),
    interpolate: (interpolate.InterpolateConfig, {"pixel_source": ("render", "truth")}),
    upsample: (upsample.UpsampleConfig, {}),
    sample: (sample.SampleConfig, {}),
    train_prior: (train_prior.PriorConfig, {}),
    similarity: (similarity.SimilarityConfig, {"measure": similarity.MEASURES}),
    bench: (bench.BenchConfig, {"device": ("cpu", "cuda", "auto")}),
    compare_encodings: (compare_encodings.EncodingsConfig, {}),
    contact_sheet: (contact_sheet.SheetConfig, {}),
    calibrate_paths: (calibrate_paths.CalibrationConfig, {"data": ("icons100", "icons-large")}),
    known_midpoints: (known_midpoints.BenchmarkConfig, {"data": ("icons100", "icons-large")}),
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def out_of_range(f: dataclasses.Field) -> list:
    """Values of numeric field `f` just outside its declared range, and the non-finite ones of a float."""
    r, step = flag_range(f), (1 if f.type in (int, "int") else 0.5)
    values = [] if r.low == -math.inf else [r.low if r.open_low else r.low - step]
    values += [] if r.high == math.inf else [r.high + step]
    return values + (["nan", "inf"] if f.type in (float, "float") else [])


def cases():
    for script, (cls, passed) in SCRIPTS.items():
        for f in dataclasses.fields(cls):
            if f.type in (int, "int", float, "float"):
                yield from ((script, f.name, str(v)) for v in out_of_range(f))
            elif f.name in passed or flag_choices(f):
                yield script, f.name, "no-such-choice"


def guards(tmp_path, cls, flag: str) -> list[str]:
    """Flags that stop any work at once, for the fields `cls` has (never the one under test)."""
    names = {f.name for f in dataclasses.fields(cls)}
    values = {"data": str(tmp_path / "missing"), "ckpt": str(tmp_path / "missing.pt"), "device": "nope",
              "out": str(tmp_path / "out")}
    if cls is bench.BenchConfig:
        values = {"methods": "", "hr_rounds": "0", "out": str(tmp_path / "b.json")}
    if cls is contact_sheet.SheetConfig:
        values["out"] = str(tmp_path / "sheet.png")
    if cls in (calibrate_paths.CalibrationConfig, known_midpoints.BenchmarkConfig):
        values.pop("data")
    if cls is study.StudyConfig:  # its device is resolved before its methods' configs are built; --data guards
        values.pop("device")
    return [item for name, value in values.items() if name in names and name != flag for item in (_flag(name), value)]


def one_error_line(capsys, main, argv) -> str:
    with pytest.raises(SystemExit) as done:
        run_main(main, argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert done.value.code == 2 and "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


CASES = list(cases())


def test_the_table_covers_every_script_and_kind_of_flag():
    assert {script for script, _, _ in CASES} == set(SCRIPTS)
    names = {(s.__name__, name) for s, name, _ in CASES}
    for expected in (("train_hyper", "grid"), ("train_hyper", "latent_lr"), ("train_hyper", "changes"),
                     ("train_hyper", "modulation"), ("train_maml", "adapt"), ("study", "minutes"),
                     ("experiments.bench", "threads"), ("similarity", "measure")):
        assert expected in names, expected


@pytest.mark.parametrize("script,name,value", CASES, ids=[f"{s.__name__}-{n}={v}" for s, n, v in CASES])
def test_a_bad_value_is_refused_with_one_line_naming_its_flag(capsys, tmp_path, script, name, value):
    cls, passed = SCRIPTS[script]
    line = one_error_line(capsys, script.main, [_flag(name), value, *guards(tmp_path, cls, name)])
    assert _flag(name) in line, line
    choices = passed.get(name) or flag_choices(next(f for f in dataclasses.fields(cls) if f.name == name))
    if value == "no-such-choice":
        assert all(str(c) in line for c in choices), line  # the valid values are listed


# --------------------------------------------------------------------------- the issue's cases, and compound flags

@pytest.mark.parametrize("script,argv,expected", [
    (train_hyper, ["--model", "modulated", "--grid", "0"], "--grid must be positive, got 0"),
    (train_hyper, ["--model", "modulated", "--grid", "100"], "--grid 100 does not fit --res 48"),
    (train_hyper, ["--model", "modulated", "--grid", "13", "--res", "24"], "pass a --grid from 1 to 12"),
    (train_hyper, ["--modulation", "foo"], "invalid choice: 'foo'"),
    (train_hyper, ["--latent-lr", "-5"], "--latent-lr must be positive, got -5.0"),
    (train_hyper, ["--latent-lr", "0"], "--latent-lr must be positive, got 0.0"),
    (train_hyper, ["--changes", "1.5"], "--changes is a probability in [0, 1], got 1.5"),
    (train_hyper, ["--model", "modulated", "--activation", "relu"], "--activation sine --encoding none"),
    (train_hyper, ["--grid", "twelve"], "argument --grid: invalid int value: 'twelve'"),
    (train_hyper, ["--no-such-flag", "1"], "unrecognized arguments: --no-such-flag"),
    (train_maml, ["--inner-lr", "0"], "--inner-lr must be positive"),
    (scaling, ["--grids", "12by16"], "--grids '12by16': write sizes as GxC"),
    (scaling, ["--grids", "12x16x2"], "--grids '12x16x2': write sizes as GxC"),
    (scaling, ["--grids", "0x16"], "--grids '0x16'"),
    (scaling, ["--grids", "100x16"], "scaling run grid100x16: --grid 100 does not fit --res 48"),
    (scaling, ["--counts", "100,abc"], "--counts '100,abc': write training icon counts"),
    (scaling, ["--counts", "0"], "--counts must be positive, got 0"),
    (scaling, ["--counts", "5000"], "scaling run n5000_changes0: 'icons-all:5000': icons-all has 1445 icons"),
    (scaling, ["--changes", "1.5"], "--changes is a probability in [0, 1], got 1.5"),
    (scaling, ["--changes", "half"], "--changes 'half': write probabilities"),
    (scaling, ["--extra", "--modulation foo"], "scaling run n100_changes0: argument --modulation: invalid choice"),
    (scaling, ["--counts", "", "--grids", "", "--no-film"], "no runs to make"),
    (study, ["--methods", "hyper,nosuch"], "unknown method nosuch in --methods"),
    (study, ["--methods", "hyper,hyper"], "--methods names hyper twice"),
    (study, ["--methods", "modulated", "--res", "4", "--quick"], "--grid 4 does not fit --res 4"),
    (bench, ["--methods", "hyper,nosuch"], "unknown model 'nosuch'"),
    (interpolate, ["--modes", "pixel,morph"], "unknown mode 'morph' in --modes"),
    (interpolate, ["--frames", "1"], "--frames must be at least 2"),
    (similarity, ["--correlate", "2"], "--correlate >= 3"),
])
def test_issue_cases_and_compound_flags_exit_2_with_one_line(capsys, tmp_path, script, argv, expected):
    """Nothing trains first: the guards make any work fail with another message."""
    cls, _ = SCRIPTS[script]
    line = one_error_line(capsys, script.main, [*argv, *guards(tmp_path, cls, argv[0][2:].replace("-", "_"))])
    assert expected in line, line
    assert not (tmp_path / "out").exists()  # refused before the folder was made

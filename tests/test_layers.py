"""Imports flow one way: common <- data <- models <- meta <- analysis <- train <- api <- scripts and experiments.

Inside analysis/ the same rule holds between its subpackages: the shared modules
(analysis.figures, analysis.endpoints, analysis.residual) <- scoring <- interpolation <- reporting.

The test parses every module's imports (ast, nothing is executed) and fails on an import of a
higher layer, or on a cycle among the project's modules.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Lower number = lower layer. A module may import its own layer and the layers below it.
LAYERS = {"common": 0, "data": 1, "models": 2, "meta": 3, "analysis": 4, "train": 5, "api": 6, "experiments": 7}
SCRIPT_LAYER = 7  # top-level scripts: train_hyper.py, study.py, ...; experiments/ (measurement scripts) alike
# analysis/ by reader; a module directly in analysis/ is shared by all three (sublayer 0).
ANALYSIS_LAYERS = {"scoring": 1, "interpolation": 2, "reporting": 3}
ANALYSIS_SHARED = {"analysis", "analysis.figures", "analysis.endpoints", "analysis.residual"}


def project_modules() -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the project outside tests/."""
    modules = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in ("tests", ".venv", "venv") or rel.parts[0].startswith("."):
            continue
        name = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    return modules


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports (anywhere in the file, lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name in modules:
                found.add(name)
    return found


def layer(module: str) -> int:
    return LAYERS.get(module.split(".")[0], SCRIPT_LAYER)


def analysis_layer(module: str) -> int:
    if module in ANALYSIS_SHARED:
        return 0
    return ANALYSIS_LAYERS[module.split(".")[1]]


def test_every_package_has_a_layer():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages <= set(LAYERS), f"packages without a layer: {packages - set(LAYERS)}"


def test_imports_never_go_up_a_layer():
    modules = project_modules()
    upward = [f"{m} (layer {layer(m)}) imports {dep} (layer {layer(dep)})"
              for m, path in modules.items() for dep in imports_of(path, modules) if layer(dep) > layer(m)]
    assert not upward, "\n".join(upward)


def test_every_analysis_module_has_a_reader():
    modules = [m for m in project_modules() if m.startswith("analysis")]
    stray = [m for m in modules if m not in ANALYSIS_SHARED and m.split(".")[1] not in ANALYSIS_LAYERS]
    assert not stray, f"analysis modules outside scoring/, interpolation/, reporting/: {stray}"


def test_analysis_subpackages_import_one_way():
    modules = project_modules()
    inside = {m: path for m, path in modules.items() if m.startswith("analysis")}
    upward = [f"{m} imports {dep}" for m, path in inside.items() for dep in imports_of(path, modules)
              if dep.startswith("analysis") and analysis_layer(dep) > analysis_layer(m)]
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    modules = project_modules()
    graph = {m: imports_of(path, modules) - {m} for m, path in modules.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return path + [node, dep]
            if dep not in state:
                cycle = visit(dep, path + [node])
                if cycle:
                    return cycle
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module, [])
            assert cycle is None, " -> ".join(cycle)


def test_the_checker_sees_a_backward_import(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text("from train.trainer import Run\nimport models.siren\n")
    found = imports_of(bad, project_modules())
    assert found >= {"train.trainer", "models.siren"}
    assert layer("train.trainer") > layer("data.images")  # so a data module importing it would fail
    assert analysis_layer("analysis.reporting.report") > analysis_layer("analysis.scoring.ssim")

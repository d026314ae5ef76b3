"""The generic toolkit imports nothing of the reference project and names none of its assets.

Walks the import graph of ``observability_pipelines`` with ``ast`` (module-level and function-level
imports alike), from every toolkit module, and follows imports within the package transitively.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "observability_pipelines"
TOOLKIT = ["observe", "checks", "integrate", "automation/outbox_sensor.py", "automation/rca_sensor.py",
           "automation/lineage_sensor.py", "resources/io_managers.py", "resources/deployment.py", "__init__.py"]
# Reference-project checks living in the toolkit's folders (none left: relationships moved to assets/).
REFERENCE_IN_CHECKS: set[str] = set()
REFERENCE = ("observability_pipelines.assets", "observability_pipelines.data", "observability_pipelines.resources.faults",
             "observability_pipelines.resources.source", "observability_pipelines.definitions",
             "observability_pipelines.demo", "observability_pipelines.cli_demo", "observability_pipelines.automation.jobs")


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _path(module: str) -> Path | None:
    base = PACKAGE.parent.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a import b`` counts ``a`` and ``a.b``, resolved if relative)."""
    found: set[str] = set()
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("observability_pipelines")}


def _toolkit_files() -> list[Path]:
    files = []
    for entry in TOOLKIT:
        target = PACKAGE / entry
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return [f for f in files if _module(f) not in REFERENCE_IN_CHECKS]


def _reach(start: Path) -> dict[str, str]:
    """Every package module reachable from ``start``, with the module that first imported it."""
    seen: dict[str, str] = {}
    todo = [_module(start)]
    while todo:
        current = todo.pop()
        path = _path(current)
        if path is None:
            continue
        for imported in _imports(path):
            if imported not in seen and _path(imported) is not None:
                seen[imported] = current
                todo.append(imported)
    return seen


def test_the_toolkit_is_what_the_walk_covers():
    modules = {_module(f) for f in _toolkit_files()}
    assert {"observability_pipelines.observe.asset", "observability_pipelines.checks.drift_observer",
            "observability_pipelines.checks.great_expectations", "observability_pipelines.observe.openlineage",
            "observability_pipelines.integrate.with_observability",
            "observability_pipelines.automation.rca_sensor"} <= modules


@pytest.mark.parametrize("path", _toolkit_files(), ids=lambda p: _module(p))
def test_toolkit_module_never_reaches_the_reference_project(path):
    reached = _reach(path)
    bad = {m: via for m, via in reached.items() if m.startswith(REFERENCE) or m in REFERENCE_IN_CHECKS}
    assert not bad, f"{_module(path)} reaches the reference project: {bad} (module: imported by)"


def test_observe_does_not_import_checks():
    """checks/ builds on observe/ (observers); the other way round would be a cycle."""
    for path in sorted((PACKAGE / "observe").rglob("*.py")):
        reached = _reach(path)
        assert not [m for m in reached if m.startswith("observability_pipelines.checks")], _module(path)


def test_no_toolkit_source_names_a_reference_asset():
    from helpers.pipeline import DAILY, MODEL

    names = {*DAILY, *MODEL, "batch_predictions"}  # every reference asset
    for path in _toolkit_files():
        text = path.read_text()
        named = sorted(n for n in names if n in text)
        assert not named, f"{_module(path)} names reference assets {named}"

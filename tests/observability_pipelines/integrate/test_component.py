"""The ``Observability`` component on a real dg project (tests/component_project: plain assets, Dagster's
default IO manager, one ``defs.yaml``): ``dg check defs`` and ``dagster definitions validate`` pass, it adds
what ``with_observability`` adds, and the project's own bug fails the drift check on its day only."""

from __future__ import annotations

import datetime as dt
import importlib
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parents[3]
PROJECT = ROOT / "tests" / "component_project"
BIN = Path(sys.executable).parent


def _env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENLINEAGE", "OBS_"))}
    return {**env, "DAGSTER_HOME": str(home), "PYTHONPATH": str(PROJECT), "PATH": f"{BIN}{os.pathsep}{env['PATH']}",
            "VIRTUAL_ENV": str(BIN.parent), "OBS_OUTBOX_PATH": str(home / "outbox.db")}


def _load(monkeypatch, home: Path) -> tuple[dg.Definitions, object]:
    for key, value in _env(home).items():
        monkeypatch.setenv(key, value)
    monkeypatch.syspath_prepend(str(PROJECT))
    for name in [m for m in sys.modules if m == "shop_dg" or m.startswith("shop_dg.")]:
        monkeypatch.delitem(sys.modules, name)
    defs = importlib.import_module("shop_dg.definitions").defs
    return (defs() if callable(defs) else defs), importlib.import_module("shop_dg.defs.observed.assets")


@pytest.mark.slow  # each command starts a Python process that imports dagster and the toolkit
@pytest.mark.parametrize("command", [["dg", "check", "defs"], ["dagster", "definitions", "validate"]])
def test_dg_check_defs_and_dagster_definitions_validate_pass(command, tmp_path):
    out = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=PROJECT, env=_env(tmp_path / "home"),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "loaded successfully" in out.stdout + out.stderr or "passed validation" in out.stdout + out.stderr


@pytest.mark.slow  # loads the project and the toolkit (GE) in-process: a few seconds
def test_the_component_adds_what_with_observability_adds(monkeypatch, tmp_path):
    from observability_pipelines import with_observability

    defs, assets = _load(monkeypatch, tmp_path / "home")
    reference = with_observability(dg.load_definitions_from_module(assets),
                                   expectations_dir=PROJECT / "shop_dg/defs/observed/expectations", drift_window=5)
    checks = {k.to_user_string() for c in defs.asset_checks for k in c.check_keys}
    assert checks == {k.to_user_string() for c in reference.asset_checks for k in c.check_keys} == \
        {"orders:drift", "orders:ge_orders_errors", "orders:ge_orders_warnings"}
    assert {s.name for s in defs.sensors} == {s.name for s in reference.sensors} >= {"lineage_sensor", "rca_sensor",
                                                                                     "outbox_flush_sensor"}
    (drift,) = [c for c in defs.asset_checks if dg.AssetCheckKey(dg.AssetKey("orders"), "drift") in c.check_keys]
    assert "previous 5 partitions" in drift.check_specs_by_output_name[next(iter(drift.check_specs_by_output_name))
                                                                        ].description


def test_a_missing_module_or_expectations_folder_is_named(tmp_path):
    from observability_pipelines.integrate.component import Observability

    context = dg.ComponentTree.for_test().load_context.for_path(tmp_path)
    with pytest.raises(FileNotFoundError, match="nope.py"):
        Observability(module="nope.py").build_defs(context)
    with pytest.raises(FileNotFoundError, match="expectations_dir .*missing"):
        Observability(module="assets.py", expectations_dir="missing").build_defs(context)


@pytest.mark.slow  # real runs of five partitions
def test_the_projects_own_bug_fails_drift_on_its_day_only(monkeypatch, tmp_path):
    defs, assets = _load(monkeypatch, tmp_path / "home")
    instance = dg.DagsterInstance.get()
    job = defs.resolve_implicit_global_asset_job_def()
    start = dt.date.fromisoformat("2026-03-01")
    failed = {}
    for day in [(start + dt.timedelta(days=i)).isoformat() for i in range(6)]:
        result = job.execute_in_process(partition_key=day, instance=instance)
        failed[day] = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert {d for d, names in failed.items() if "drift" in names} == {assets.BUGGY_DAY}
    assert "ge_orders_warnings" in failed[assets.BUGGY_DAY]


def test_readme_shows_the_projects_defs_yaml_verbatim():
    section = (ROOT / "README.md").read_text().split("## Add obs to an existing Dagster project", 1)[1].split("\n## ")[0]
    yaml_blocks = [b.split("\n```", 1)[0] for b in section.split("```yaml\n")[1:]]
    assert (PROJECT / "shop_dg/defs/observed/defs.yaml").read_text().strip() in [b.strip() for b in yaml_blocks]

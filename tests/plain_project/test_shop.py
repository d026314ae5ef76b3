"""A second, independent Dagster project (tests/plain_project/shop: plain ``@dg.asset``s, daily partitions,
Dagster's default filesystem IO manager, its own GE suites) made observable by the README's lines.

Its own code writes ``orders.amount`` in cents on one day: the GE and drift checks of ``orders`` fail on that
partition only, lineage with schema, inputs and column lineage lands in the store, ``obs rca`` names
``orders.amount`` from the downstream symptom, and with the backend down no event is lost.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import re
import sys
from pathlib import Path

import dagster as dg
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _load_defs(monkeypatch) -> tuple[dg.Definitions, object]:
    monkeypatch.syspath_prepend(str(HERE))
    for name in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
        monkeypatch.delitem(sys.modules, name)
    module = importlib.import_module("shop.definitions")
    return module.defs, importlib.import_module("shop.assets")


def _env(mp: pytest.MonkeyPatch, home: Path) -> None:
    from observability_pipelines.observe.openlineage import reset_emitters

    for key in list(os.environ):
        if key.startswith("OPENLINEAGE") or key in ("OBS_LINEAGE_URL", "OBS_DATA_DIR", "OBS_EXPECTATIONS_DIR"):
            mp.delenv(key, raising=False)
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    mp.setenv("DAGSTER_HOME", str(home))
    mp.setenv("OBS_OUTBOX_PATH", str(home / "outbox.db"))
    mp.setenv("OBS_LINEAGE_DB", f"sqlite:///{home / 'lineage.db'}")
    reset_emitters()


def _sensor(defs: dg.Definitions, name: str) -> dg.SensorDefinition:
    return next(s for s in defs.sensors if s.name == name)


def _days(first: str, n: int) -> list[str]:
    start = dt.date.fromisoformat(first)
    return [(start + dt.timedelta(days=i)).isoformat() for i in range(n)]


def test_readme_lines_are_the_projects_definitions_verbatim():
    section = (ROOT / "README.md").read_text().split("## Add obs to an existing Dagster project", 1)[1]
    block = re.findall(r"```python\n(.+?)\n```", section.split("\n## ", 1)[0], flags=re.S)[0]
    assert block in (HERE / "shop" / "definitions.py").read_text()
    assert "observed_asset" not in (HERE / "shop" / "assets.py").read_text()


def test_with_observability_adds_checks_per_suite_and_partitioned_asset_and_the_sensors(monkeypatch, tmp_path):
    _env(monkeypatch, tmp_path / "home")
    defs, shop = _load_defs(monkeypatch)
    checks = {k.to_user_string() for c in defs.asset_checks for k in c.check_keys}
    assert checks == {f"{a}:{c}" for a in ("orders", "revenue_by_region")
                      for c in ("drift", f"ge_{a}_errors", f"ge_{a}_warnings")}
    assert {s.name for s in defs.sensors} == {"lineage_sensor", "outbox_flush_sensor", "rca_sensor", "trace_runs_sensor",
                                             "trace_failed_runs_sensor", "trace_steps_sensor",
                                             "trace_failed_steps_sensor"}
    blocking = {k.to_user_string() for c in defs.asset_checks for s in c.check_specs if s.blocking for k in [s.key]}
    assert blocking == {"orders:ge_orders_errors", "revenue_by_region:ge_revenue_by_region_errors"}
    dg.Definitions.validate_loadable(defs)
    # The user's assets are untouched: same keys, same (default) IO manager, no toolkit resources required.
    assert {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()} >= {"orders",
                                                                                           "revenue_by_region"}
    assert shop.orders.required_resource_keys <= {"io_manager"}


@pytest.fixture(scope="module")
def shop_runs(tmp_path_factory):
    """Ten days of the shop (the buggy day ninth), then the lineage sensor's tick; checks of ``orders``."""
    home = tmp_path_factory.mktemp("shop_home")
    with pytest.MonkeyPatch.context() as mp:
        _env(mp, home)
        defs, shop = _load_defs(mp)
        instance = dg.DagsterInstance.get()
        job = defs.resolve_implicit_global_asset_job_def()
        evaluations = {}
        for day in _days("2026-03-01", 10):
            result = job.execute_in_process(partition_key=day, instance=instance, raise_on_error=False)
            assert result.success, day  # the failing checks are WARN: nothing blocks
            evaluations[day] = {e.check_name: e for e in result.get_asset_check_evaluations()
                                if e.asset_key == dg.AssetKey("orders")}
        tick = _sensor(defs, "lineage_sensor")(dg.build_sensor_context(instance=instance, definitions=defs))
        yield {"defs": defs, "shop": shop, "instance": instance, "evaluations": evaluations, "tick": tick,
               "db": os.environ["OBS_LINEAGE_DB"]}


@pytest.mark.slow
def test_the_corrupted_day_fails_the_checks_of_orders_on_that_partition_only(shop_runs):
    bug = shop_runs["shop"].BUGGY_DAY
    for day, checks in shop_runs["evaluations"].items():
        failed = {name for name, e in checks.items() if not e.passed}
        if day == bug:
            assert {"ge_orders_warnings", "drift"} <= failed
            assert all(checks[name].partition == bug for name in failed)
            assert "amount" in checks["ge_orders_warnings"].description
            assert checks["drift"].description.startswith("amount:"), checks["drift"].description
        else:
            assert not failed, (day, failed)
    # The drift reference of the day after leaves the drifted day out.
    after = shop_runs["evaluations"][_days(bug, 2)[1]]
    assert after["drift"].metadata["reference_partitions"].value == 7
    # Each check kept its partition's profile: no later check read an earlier partition through the IO manager.
    assert {checks["drift"].metadata["reference_partitions_read"].value
            for day, checks in shop_runs["evaluations"].items() if day != "2026-03-01"} == {0}


def _obs(*args: str) -> dict:
    from typer.testing import CliRunner

    from observability_pipelines.cli import app  # the `obs` command

    out = CliRunner().invoke(app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


@pytest.mark.slow
def test_lineage_with_schema_inputs_and_column_lineage_lands_in_the_store(shop_runs):
    # START + COMPLETE for each of the two asset steps of each of the ten runs.
    assert "40 OpenLineage event(s) from 10 finished run(s)" in shop_runs["tick"].skip_reason.skip_message
    upstream = _obs("lineage", "upstream", "revenue_by_region")
    assert [d["name"] for d in upstream["datasets"]] == ["orders"]  # inputs from the asset graph
    columns = _obs("lineage", "columns", "revenue_by_region", "avg_order")
    assert {(c["name"], c["field"]) for c in columns["columns"]} == {("orders", "amount"), ("orders", "order_id")}
    history = _obs("lineage", "history", "orders")
    written = [r for r in history["runs"] if "output" in r["roles"]]
    assert len(written) == 10
    for run in written:
        facets = run["facets"]
        assert [f["name"] for f in facets["dataset"]["schema"]["fields"]] == ["order_id", "region", "amount",
                                                                            "quantity"]
        assert facets["output"]["outputStatistics"]["rowCount"] == 400
        assert {a["assertion"] for a in facets["dataset"]["dataQualityAssertions"]["assertions"]} >= {
            "ge_orders_errors", "ge_orders_warnings", "drift", "expect_column_values_to_be_between"}


@pytest.mark.slow
def test_obs_rca_names_the_asset_and_column_from_the_downstream_symptom(shop_runs):
    from typer.testing import CliRunner

    from observability_pipelines.cli import app  # the `obs` command

    bug = shop_runs["shop"].BUGGY_DAY
    out = CliRunner().invoke(app, ["rca", "revenue_by_region", "--partition", bug, "--json"])
    assert out.exit_code == 0, out.output
    top = json.loads(out.output)["candidates"][0]
    assert (top["asset"], top["column"]) == ("orders", "amount"), top


@pytest.mark.slow
def test_backend_down_loses_no_event(tmp_path, monkeypatch):
    """The store's HTTP API is down during the runs and the sensor's tick: events wait in the outbox and
    arrive, each once and in order, when it is back."""
    from helpers.recording_server import RecordingBackend

    from lineage.emission.outbox import Outbox
    from observability_pipelines.automation.outbox_sensor import outbox_flush_sensor

    _env(monkeypatch, tmp_path / "home")
    server = RecordingBackend()  # not started: down
    monkeypatch.setenv("OBS_LINEAGE_URL", server.url)
    defs, _ = _load_defs(monkeypatch)
    instance = dg.DagsterInstance.get()
    job = defs.resolve_implicit_global_asset_job_def()
    for day in _days("2026-03-01", 2):
        assert job.execute_in_process(partition_key=day, instance=instance).success
    tick = _sensor(defs, "lineage_sensor")(dg.build_sensor_context(instance=instance, definitions=defs))
    assert "8 OpenLineage event(s) from 2 finished run(s)" in tick.skip_reason.skip_message
    pending = Outbox().rows("pending")
    assert len(pending) == 8
    again = _sensor(defs, "lineage_sensor")(dg.build_sensor_context(instance=instance, definitions=defs,
                                                                   cursor=tick.cursor))
    assert "0 OpenLineage event(s)" in again.skip_reason.skip_message  # nothing sent twice
    server.start()
    try:
        flushed = outbox_flush_sensor(dg.build_sensor_context(instance=instance))
        assert json.loads(flushed.cursor)["remaining"] == 0
        assert server.events == [r.event() for r in pending]
    finally:
        server.stop()


@pytest.mark.slow
def test_rca_sensor_opens_an_incident_whose_top_cause_is_orders_amount(shop_runs):
    from observability_pipelines.automation.rca_sensor import RCA_REPORT, rca_sensor

    tick = rca_sensor(dg.build_sensor_context(instance=shop_runs["instance"], definitions=shop_runs["defs"]))
    reports = [r for r in tick.asset_events if r.asset_key == RCA_REPORT and "event" in r.metadata
               and r.metadata["event"].value == "opened"]
    assert reports, tick.skip_reason
    assert {r.metadata["top_cause"].value for r in reports} == {"orders.amount"}
    assert all(r.metadata["partitions"].value == shop_runs["shop"].BUGGY_DAY for r in reports)

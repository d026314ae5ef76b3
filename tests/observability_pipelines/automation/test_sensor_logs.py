"""OBS_LOG_FORMAT=json: what the sensors log through ``context.log`` is JSON lines naming the run, asset,
partition and trace; no row value; Dagster's text otherwise."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import dagster as dg
import pandas as pd
import pytest

from lineage.telemetry import logs
from observability_pipelines.automation.lineage_sensor import build_lineage_sensor
from observability_pipelines.automation.outbox_sensor import outbox_flush_sensor
from observability_pipelines.observe.dagster_events import AssetGraph
from observability_pipelines.observe.openlineage import OpenLineageResource

SECRET = "SECRET-ROW-VALUE-7731"
DAY = "2026-03-01"


@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2026-01-01"))
def orders() -> pd.DataFrame:
    return pd.DataFrame({"order_id": [1, 2], "note": [SECRET, SECRET]})


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dg.DagsterInstance, str]]:
    """One real run for the module; each test's sensors read it again (the ephemeral instance keeps no cursor)."""
    tmp_path = tmp_path_factory.mktemp("sensor_logs")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OBS_OUTBOX_PATH", str(tmp_path / "outbox.db"))
        env.setenv("OBS_LINEAGE_DB", f"sqlite:///{tmp_path / 'lineage.db'}")
        for name in ("OBS_LINEAGE_URL", "OPENLINEAGE_URL", "OPENLINEAGE_CONFIG"):
            env.delenv(name, raising=False)
        instance = dg.DagsterInstance.ephemeral()
        result = dg.materialize([orders], partition_key=DAY, instance=instance,
                                resources={"io_manager": dg.FilesystemIOManager(base_dir=str(tmp_path / "data"))})
        assert result.success
        yield instance, result.run_id


def _tick(instance: dg.DagsterInstance, capsys: pytest.CaptureFixture[str]) -> list[str]:
    sensor = build_lineage_sensor(AssetGraph.of(dg.Definitions(assets=[orders])), resource=OpenLineageResource())
    capsys.readouterr()
    sensor(dg.build_sensor_context(instance=instance))
    outbox_flush_sensor(dg.build_sensor_context(instance=instance))
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_sensor_lines_are_json_with_run_asset_partition_and_trace(finished_run, capsys, monkeypatch) -> None:
    instance, run_id = finished_run
    monkeypatch.setenv(logs.FORMAT_VAR, "json")
    lines = [json.loads(line) for line in _tick(instance, capsys)]  # every line is one JSON object
    (about_run,) = [line for line in lines if line.get("run_id") == run_id]
    assert about_run["sensor"] == "lineage_sensor" and about_run["level"] == "INFO"
    assert (about_run["asset"], about_run["partition"]) == ("orders", DAY)
    assert about_run["trace_id"] == uuid.UUID(run_id).hex  # the run's trace (lineage.telemetry.tracing)
    assert "OpenLineage event(s) stored" in about_run["message"]
    (flush,) = [line for line in lines if line.get("sensor") == "outbox_flush_sensor"]
    assert "lineage outbox: delivered" in flush["message"] and "run_id" not in flush
    assert SECRET not in json.dumps(lines)


def test_without_the_setting_sensors_keep_dagsters_text(finished_run, capsys, monkeypatch) -> None:
    instance, _ = finished_run
    monkeypatch.delenv(logs.FORMAT_VAR, raising=False)
    lines = _tick(instance, capsys)
    stored = [line for line in lines if "OpenLineage event(s) stored" in line]
    assert stored and not any(line.lstrip().startswith("{") for line in stored)

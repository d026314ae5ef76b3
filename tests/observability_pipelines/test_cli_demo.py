"""`obs demo` end to end: backfill with a fault on the embedded SQLite instance, then the UI sees it."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import httpx
import pytest
from typer.testing import CliRunner

from observability_pipelines.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_backfills_with_fault_then_ui_shows_assets(tmp_path):
    home = Path(os.environ["DAGSTER_HOME"])
    os.environ["OBS_DATA_DIR"] = str(tmp_path / "data")
    result = CliRunner().invoke(
        app, ["demo", "--days", "5", "--no-ui", "--json", "--customers-per-day", "200"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["partitions"] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    assert summary["faults"][0]["kind"] == "null_burst" and summary["faults"][0]["partition"] == "2026-03-05"
    assert summary["model_metrics"]["roc_auc"] > 0.6
    assert (home / "storage").exists()  # the embedded SQLite instance under DAGSTER_HOME

    instance = dg.DagsterInstance.get()
    for asset in ("raw_customers", "customer_features", "training_set", "batch_predictions"):
        keys = instance.get_materialized_partitions(dg.AssetKey(asset))
        assert keys == set(summary["partitions"]), asset
    assert instance.get_latest_materialization_event(dg.AssetKey("model_evaluation")) is not None

    # The same instance, served by `dagster dev`, lists the assets and their materializations.
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port),
         "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        query = '{ assetNodes { assetKey { path } } }'
        deadline, nodes = time.time() + 120, None
        while time.time() < deadline:
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=5)
                nodes = r.json()["data"]["assetNodes"]
                if nodes:
                    break
            except (httpx.HTTPError, KeyError, TypeError, ValueError):
                pass
            time.sleep(1)
        assert nodes, "dagster dev did not serve the asset graph within 120 s"
        names = {"/".join(n["assetKey"]["path"]) for n in nodes}
        assert {"raw_customers", "trained_model", "batch_predictions", "model_evaluation"} <= names
        q = '{ assetOrError(assetKey: {path: ["customer_features"]}) { ... on Asset { assetMaterializations(limit: 10) { partition } } } }'
        mats = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": q}, timeout=10).json()
        partitions = {m["partition"] for m in mats["data"]["assetOrError"]["assetMaterializations"]}
        assert partitions == set(summary["partitions"])

        # The daemon's rca_sensor (running by default) records the trace on the rca_report asset.
        q = ('{ assetOrError(assetKey: {path: ["rca_report"]}) { ... on Asset { assetMaterializations(limit: 20) '
             '{ metadataEntries { label ... on MarkdownMetadataEntry { mdStr } ... on TextMetadataEntry { text } } } } } }')
        deadline, traces = time.time() + 150, []
        while time.time() < deadline and not traces:
            data = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": q}, timeout=10).json()
            asset = (data.get("data") or {}).get("assetOrError") or {}
            for mat in asset.get("assetMaterializations") or []:
                entries = {e["label"]: e.get("mdStr") or e.get("text") for e in mat["metadataEntries"]}
                if entries.get("top_cause") == "raw_customers.income":
                    traces.append(entries["trace"])
            time.sleep(3)
        assert traces, "rca_sensor did not record a trace naming raw_customers.income within 150 s"
        assert "null_burst" in traces[0] and "←" in traces[0]
        assert summary["rca"]["candidates"][0]["asset"] == "raw_customers"
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def test_demo_rejects_bad_fault_plan_with_instructions(tmp_path):
    bad = tmp_path / "plan.yaml"
    bad.write_text("- {asset: raw_customers, partition: '2026-03-01', kind: melt}\n")
    result = CliRunner().invoke(app, ["demo", "--no-ui", "--fault-plan", str(bad)])
    assert result.exit_code == 2
    assert "unknown kind 'melt'" in result.output and "Fix the file" in result.output


def test_definitions_validate():
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "All code locations passed validation" in proc.stderr + proc.stdout

"""Column lineage beyond the store's per-event limits (lineage.config: MAX_COLUMN_EDGES input fields,
MAX_FACET_BYTES a facet) is sent in parts, RUNNING events of the same run before the COMPLETE, and the
store keeps every edge: a wide asset's lineage is neither refused nor lost."""

from __future__ import annotations

import json
import os
import sqlite3

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from lineage.config import MAX_COLUMN_EDGES, MAX_FACET_BYTES
from lineage.emission import facets as fc
from lineage.emission.events import to_dict
from lineage.emission.outbox import Outbox
from observability_pipelines.observe.asset import observed_asset
from observability_pipelines.observe.openlineage import OpenLineageObserver, OpenLineageResource, reset_emitters
from observability_pipelines.resources.faults import FaultInjector


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("OPENLINEAGE") or key in ("OBS_LINEAGE_URL", "OBS_OUTBOX_PATH", "OBS_LINEAGE_DB"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(tmp_path / "outbox.db"))
    monkeypatch.setenv("OBS_LINEAGE_DB", f"sqlite:///{tmp_path / 'lineage.db'}")
    reset_emitters()
    yield
    reset_emitters()


@pytest.mark.parametrize("max_edges, max_bytes", [(10, 10**9), (10**9, 2_000), (7, 900), (10**9, 10**9)])
def test_parts_keep_every_edge_in_order_within_both_limits(max_edges, max_bytes):
    deps = {f"out_{i}": [("ns", "src", f"in_{i}_{j}") for j in range(i % 5 + 1)] for i in range(40)}
    deps["wé\"ird"] = [("ns", "src", "a\\b")]  # escaped characters count as the store counts them
    parts = fc.column_lineage_parts(deps, max_edges=max_edges, max_bytes=max_bytes)
    rejoined = [(c, d) for part in parts for c, ds in part.items() for d in ds]
    assert rejoined == [(c, d) for c, ds in deps.items() for d in ds]
    for part in parts:
        facet = to_dict(fc.column_lineage_facet(part))
        size = len(json.dumps(facet, separators=(",", ":"), ensure_ascii=False))
        assert sum(map(len, part.values())) <= max_edges * fc.LINEAGE_PART_SHARE or max_edges >= 10**9
        assert size <= max_bytes or len(part) == 1 and sum(map(len, part.values())) == 1
    assert (len(parts) == 1) == (max_edges == max_bytes == 10**9)


@pytest.mark.slow  # a real run of a 2,600-column asset
def test_a_wide_assets_lineage_reaches_the_store_whole(tmp_path):
    columns, inputs = 2_600, 4  # 10,400 input fields: more than one event may carry
    assert columns * inputs > MAX_COLUMN_EDGES
    names = [f"f{i:04d}" for i in range(columns)]
    lineage = {n: [f"wide_src.{names[(i + j) % columns]}" for j in range(inputs)] for i, n in enumerate(names)}

    @dg.asset(name="wide_src")
    def wide_src():
        return pd.DataFrame(np.arange(3 * columns, dtype="float64").reshape(3, columns), columns=names)

    @observed_asset(name="wide_out", ins={"src": dg.AssetIn("wide_src")}, column_lineage=lineage,
                    observers=[OpenLineageObserver()])
    def wide_out(context, src):
        return src + 1.0

    result = dg.materialize([wide_src, wide_out], resources={"faults": FaultInjector(),
                                                             "openlineage": OpenLineageResource()},
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    status = Outbox().status()
    assert (status.pending, status.dead) == (0, 0)
    db = os.environ["OBS_LINEAGE_DB"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        types = [r[0] for r in conn.execute("SELECT event_type FROM lineage_events WHERE job_name LIKE '%wide_out' "
                                            "ORDER BY event_time, id")]
        edges = set(conn.execute(
            "SELECT s.name, e.src_field, d.name, e.dst_field FROM lineage_column_edges e "
            "JOIN lineage_datasets s ON s.id = e.src_dataset_id JOIN lineage_datasets d ON d.id = e.dst_dataset_id"))
        payloads = [json.loads(r[0]) for r in conn.execute("SELECT payload FROM lineage_events")]
    assert types[0] == "START" and types[-1] == "COMPLETE" and set(types[1:-1]) == {"RUNNING"} and len(types) > 2
    expected = {("wide_src", src.split(".", 1)[1], "wide_out", dst) for dst, srcs in lineage.items() for src in srcs}
    assert edges == expected
    for payload in payloads:  # every event within the store's limits
        for ds in payload.get("outputs", []):
            for facet in ds.get("facets", {}).values():
                assert len(json.dumps(facet, separators=(",", ":"), ensure_ascii=False)) <= MAX_FACET_BYTES


def test_an_event_the_store_refuses_is_a_warning_of_the_step(tmp_path):
    name = "n" * 1_100  # a dataset name beyond the store's MAX_NAME_CHARS: the store refuses the events

    @observed_asset(name=name, observers=[OpenLineageObserver()])
    def too_long(context):
        return pd.DataFrame({"x": [1.0, 2.0]})

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([too_long], instance=instance, resources={
        "faults": FaultInjector(), "openlineage": OpenLineageResource(), "io_manager": dg.mem_io_manager})
    assert result.success  # lineage never fails the asset...
    logs = [record.user_message for record in instance.all_logs(result.run_id)]
    refused = [m for m in logs if "refused by the backend" in m]
    assert refused and "'dead'" in refused[0] and str(tmp_path / "outbox.db") in refused[0]  # ...but says so
    assert Outbox().status().dead == 2  # START and COMPLETE, kept

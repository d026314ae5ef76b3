"""Dataset versions read from a real store: producer facets, and tests of other runs attached to the
version they tested (partition, ``version`` facet, or the latest version written before the test)."""

from __future__ import annotations

from helpers.rca_events import metrics, numeric

from lineage import facets as f
from lineage.analysis.observations import load_snapshots
from lineage.graph.queries import resolve


def failed(assertion, column=None):
    return f.AssertionsFacet.build([{"assertion": assertion, "success": False, "column": column}])


def snapshots(store, name):
    dataset_id = resolve(store, name)[1]
    with store.read() as conn:
        return load_snapshots(conn, [dataset_id])[dataset_id]


def test_unpartitioned_test_run_attaches_to_the_version_it_tested(events):
    events.run("model", outputs={"orders": {"schema": f.SchemaFacet.build([("id", "int")])}})
    events.run("model", outputs={"orders": {"outputStatistics": f.OutputStatisticsFacet.build(7)}})
    events.run("orders.test", inputs={"orders": {"dataQualityAssertions": failed("not_null", "id")}})
    events.run("model", outputs={"orders": {}})  # a later version, not tested
    series = snapshots(events.store(), "orders")
    assert len(series) == 3 and all(s.partition is None for s in series)
    assert [len(s.failed_assertions) for s in series] == [0, 1, 0]
    assert series[1].row_count == 7.0 and series[1].failed_assertions[0].column == "id"


def test_partitioned_check_attaches_to_its_partition(events):
    for day in ("2026-03-01", "2026-03-02"):
        events.run("raw", outputs={"raw": {"outputStatistics": f.OutputStatisticsFacet.build(10)}}, partition=day)
    events.run("raw:check", inputs={"raw": {"dataQualityAssertions": failed("row_count")}}, partition="2026-03-01")
    series = snapshots(events.store(), "raw")
    assert [(s.partition, len(s.failed_assertions)) for s in series] == [("2026-03-01", 1), ("2026-03-02", 0)]


def test_hourly_and_multi_dimensional_partitions_stay_apart(events):
    for key in ("2026-03-01-00:00", "2026-03-01-01:00", "2026-03-01|eu", "2026-03-01|us"):
        events.run("raw", outputs={"raw": {}}, partition=key)
    assert [s.partition for s in snapshots(events.store(), "raw")] == [
        "2026-03-01-00:00", "2026-03-01-01:00", "2026-03-01|eu", "2026-03-01|us"]


def test_dataset_nobody_wrote_gets_a_version_per_test_run(events):
    events.run("source.test", inputs={"source": {"dataQualityAssertions": failed("unique", "key")}})
    series = snapshots(events.store(), "source")
    assert len(series) == 1 and not series[0].produced and series[0].failed_assertions[0].assertion == "unique"


def test_test_run_facet_counts_against_the_inputs(events):
    tests = f.TestRunFacet(tests=[f.quality.TestExecution(name="t1", status="fail", type="accepted_values")])
    events.run("model", outputs={"m": {}})
    events.run("m.tests", inputs=["m"], run_facets={"test": tests}, state="FAIL")
    [version] = snapshots(events.store(), "m")
    assert [(a.assertion, a.name) for a in version.failed_assertions] == [("accepted_values", "t1")]


def test_partitioned_test_run_facet_counts_against_its_partition_only(events):
    """A run that only reads (no facets on what it read) counts through its failed tests, in its partition."""
    tests = f.TestRunFacet(tests=[f.quality.TestExecution(name="t1", status="fail", type="accepted_values")])
    for day in ("2026-03-01", "2026-03-02"):
        events.run("model", outputs={"m": {}}, partition=day)
    events.run("m.tests", inputs=["m"], run_facets={"test": tests}, state="FAIL", partition="2026-03-02")
    events.run("m.reader", inputs=["m"], state="FAIL", partition="2026-03-01")  # a failed reader is not m's failure
    series = snapshots(events.store(), "m")
    assert [(s.partition, [a.name for a in s.failed_assertions], s.failed) for s in series] == [
        ("2026-03-01", [], False), ("2026-03-02", ["t1"], False)]


def test_failed_run_error_and_input_metrics(events):
    events.run("raw", outputs={"raw": {}})
    events.run("clean", inputs={"raw": {"dataQualityMetrics": metrics(50, amount=numeric(50, nulls=5))}},
               outputs={"clean": {}}, state="FAIL", error="boom boom boom")
    store = events.store()
    [raw] = snapshots(store, "raw")
    assert raw.metrics.columnMetrics["amount"].nullCount == 5 and raw.row_count == 50.0
    [clean] = snapshots(store, "clean")
    assert clean.failed and clean.error == "boom"


def test_malformed_stored_facets_are_skipped_not_fatal(events):
    events.run("raw", outputs={"raw": {"schema": f.SchemaFacet.build([("a", "int")])}})
    store = events.store()
    # Another producer's malformed facets, accepted by the store (validation off), must not break reads.
    bad = dict(events.events[-1])
    bad["run"] = {"runId": "0193c4a2-5d0e-7a3e-9c6f-2b8e6f4a1d01", "facets": {}}
    bad["outputs"] = [{"namespace": bad["outputs"][0]["namespace"], "name": "raw", "facets": {
        "drift": {"_producer": "x", "_schemaURL": "x", "columns": "oops"},
        "dataQualityAssertions": {"_producer": "x", "_schemaURL": "x", "assertions": [{"success": "no"}]}}}]
    store.ingest([bad], validate=False)
    assert len(snapshots(store, "raw")) == 2

"""The RCA engine on small real stores: version selection (partition, run, time), echoes, own-asset
causes, lineage as of the symptom's run, and the `obs rca` command."""

from __future__ import annotations

import datetime as dt

import typer
from helpers.rca_events import NS, metrics, numeric
from typer.testing import CliRunner

from lineage import facets as f
from lineage.analysis.rca import analyze
from lineage.cli import register

COLS = f.ColumnLineageFacet.build


def failed(assertion, column=None):
    return f.AssertionsFacet.build([{"assertion": assertion, "success": False, "column": column}])


def chain_day(events, day, *, raw_nulls=0, out_dupes=False):
    """raw → clean (amount from raw.amount), one partition."""
    rows = 100
    events.run("raw", outputs={"raw": {"dataQualityMetrics": metrics(rows, amount=numeric(rows, raw_nulls)),
                                       "outputStatistics": f.OutputStatisticsFacet.build(rows)}}, partition=day)
    clean = {"dataQualityMetrics": metrics(rows, amount=numeric(rows, raw_nulls)),
             "outputStatistics": f.OutputStatisticsFacet.build(rows),
             "columnLineage": COLS({"amount": [(NS, "raw", "amount")]})}
    if out_dupes:
        clean["dataQualityAssertions"] = failed("unique", "clean_id")
    events.run("clean", inputs=["raw"], outputs={"clean": clean}, partition=day)


DAYS = [f"2026-03-0{d}" for d in range(1, 8)]


def test_upstream_null_burst_is_the_cause_and_downstream_its_echo(events):
    for day in DAYS[:-1]:
        chain_day(events, day)
    chain_day(events, DAYS[-1], raw_nulls=40)
    result = analyze(events.store(), "clean", partition=DAYS[-1])
    top = result.candidates[0]
    assert (top.asset, top.column, top.kind, top.echo_of) == ("raw", "amount", "null_burst", None)
    assert [(c.asset, c.echo_of) for c in result.candidates[1:]] == [("clean", "raw.amount")]
    assert top.path == ["raw", "clean"] and top.column_path == ["raw.amount", "clean.amount"]
    assert result.message == "1 upstream root cause candidate(s)"


def test_cause_at_the_symptom_itself_ranks_first(events):
    for day in DAYS[:-1]:
        chain_day(events, day)
    chain_day(events, DAYS[-1], raw_nulls=40, out_dupes=True)  # an unrelated null burst upstream too
    result = analyze(events.store(), "clean", partition=DAYS[-1])
    top = result.candidates[0]
    assert (top.asset, top.column, top.kind, top.echo_of) == ("clean", "clean_id", "duplicate_rows", None)


def test_lost_rows_upstream_do_not_make_a_unit_change_downstream_an_echo(events):
    """A quiet day upstream (fewer rows) and a real unit change at the symptom: the symptom's own failed
    check is the cause; lost rows cannot multiply values (lineage.analysis.propagation)."""
    for day in DAYS[:-1]:
        _volume_day(events, day, rows=1000)
    _volume_day(events, DAYS[-1], rows=400, scale=20.0)
    result = analyze(events.store(), "clean", partition=DAYS[-1])
    top = result.candidates[0]
    assert (top.asset, top.column, top.kind, top.echo_of) == ("clean", "amount", "scale_change", None)


def _volume_day(events, day, *, rows, scale=1.0):
    events.run("raw", outputs={"raw": {"dataQualityMetrics": metrics(rows, amount=numeric(rows)),
                                       "outputStatistics": f.OutputStatisticsFacet.build(rows)}}, partition=day)
    clean = {"dataQualityMetrics": metrics(1000, amount=numeric(1000, scale=scale)),
             "outputStatistics": f.OutputStatisticsFacet.build(1000),
             "columnLineage": COLS({"amount": [(NS, "raw", "amount")]})}
    if scale != 1.0:
        clean["dataQualityAssertions"] = failed("expect_column_values_to_be_between", "amount")
    events.run("clean", inputs=["raw"], outputs={"clean": clean}, partition=day)


def test_clean_partition_has_no_cause(events):
    for day in DAYS:
        chain_day(events, day)
    result = analyze(events.store(), "clean", partition=DAYS[-1])
    assert result.candidates == [] and result.message.startswith("no upstream cause found")


def unpartitioned(events, rows_by_version):
    ids = []
    for rows in rows_by_version:
        events.run("load", outputs={"src": {"outputStatistics": f.OutputStatisticsFacet.build(rows)}})
        ids.append(events.run("model", inputs=["src"], outputs={"dst": {
            "outputStatistics": f.OutputStatisticsFacet.build(rows)}}))
    return ids


def test_unpartitioned_runs_select_by_run_and_time(events):
    runs = unpartitioned(events, [1000, 1010, 990, 1005, 300, 1000])
    store = events.store()
    by_run = analyze(store, "dst", run_id=runs[4])
    assert [(c.asset, c.kind) for c in by_run.candidates if c.echo_of is None] == [("src", "row_loss")]
    assert by_run.symptom["run_id"] == runs[4]
    latest = analyze(store, "dst")  # the last version is back to normal
    assert latest.candidates == []
    at = dt.datetime.fromisoformat(by_run.symptom["time"]) + dt.timedelta(minutes=1)
    assert [c.asset for c in analyze(store, "dst", at=at).candidates][:1] == ["src"]


def test_old_version_uses_the_lineage_of_its_run(events):
    # `model` first reads a, later reads b; a's anomaly explains only the old version of `out`.
    for _ in range(4):
        events.run("a", outputs={"a": {"outputStatistics": f.OutputStatisticsFacet.build(100)}})
        events.run("model", inputs=["a"], outputs={"out": {"outputStatistics": f.OutputStatisticsFacet.build(100)}})
    events.run("a", outputs={"a": {"dataQualityAssertions": failed("not_null", "x")}})
    old = events.run("model", inputs=["a"], outputs={"out": {"dataQualityAssertions": failed("not_null", "x")}})
    events.run("b", outputs={"b": {}})
    events.run("model", inputs=["b"], outputs={"out": {"dataQualityAssertions": failed("not_null", "x")}})
    store = events.store()
    assert analyze(store, "out", run_id=old).candidates[0].asset == "a"
    assert {c.asset for c in analyze(store, "out").candidates} == {"out"}


def cli(*args):
    app = typer.Typer()
    register(app)
    return CliRunner().invoke(app, ["rca", *args])


def test_cli_options(events):
    runs = unpartitioned(events, [1000, 1010, 990, 1005, 300])
    store = events.store()
    out = cli("dst", "--run", runs[-1], "--db", store.url)
    assert out.exit_code == 0, out.output
    assert "src row_loss" in out.stdout and "←" in out.stdout
    assert cli("dst", "--at", "yesterday", "--db", store.url).exit_code == 2
    assert cli("dst", "--at", "2026-03-01T06:00:00Z", "--run", runs[0], "--db", store.url).exit_code == 2
    bad = cli("dst", "--partition", "05/03/2026", "--db", store.url)
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    nothing = cli("--latest", "--db", store.url)  # a volume change alone is no recorded failure
    assert nothing.exit_code == 1 and "nothing to analyze" in nothing.output
    missing = cli("dst", "--run", "0193c4a2-5d0e-7a3e-9c6f-2b8e6f4a1d09", "--db", store.url)
    assert missing.exit_code == 1 and "not recorded" in missing.output


def test_http_route_takes_run_time_and_any_partition_key(events):
    from fastapi.testclient import TestClient

    from lineage.serve.api import create_app

    runs = unpartitioned(events, [1000, 1010, 990, 1005, 300])
    for hour in ("2026-03-09-00:00", "2026-03-09-01:00"):
        events.run("hourly", outputs={"h": {"outputStatistics": f.OutputStatisticsFacet.build(10)}}, partition=hour)
    store = events.store()
    client = TestClient(create_app(store=store))
    by_run = client.get("/api/v1/rca", params={"name": "dst", "run_id": runs[-1]})
    assert by_run.status_code == 200 and by_run.json()["candidates"][0]["asset"] == "src"
    when = by_run.json()["symptom"]["time"] + "Z"
    assert client.get("/api/v1/rca", params={"name": "dst", "at": when}).json()["candidates"][0]["asset"] == "src"
    hourly = client.get("/api/v1/rca", params={"name": "h", "partition": "2026-03-09-01:00"})
    assert hourly.status_code == 200 and hourly.json()["symptom"]["partition"] == "2026-03-09-01:00"
    assert client.get("/api/v1/rca", params={"name": "dst", "partition": "05/03/2026"}).status_code == 422


# --------------------------------------------------------------------------- volume against other sources
WEEK = (1.0, 1.05, 1.05, 1.0, 0.95, 0.7, 0.6, 1.0, 1.05)  # a calendar: fewer rows at the weekend
SOURCES = {"applicants": 1000, "payments": 12000, "outcomes": 990}


def _sources_day(events, index, *, lost=0.0, drifted=False):
    """Three sources moving with the calendar (±1 % noise), `features` built from two of them and `training`
    from `features` and the third (which is how `features` finds it: lineage in either direction)."""
    import random

    rng = random.Random(index)
    day = f"2026-03-{index + 1:02d}"
    rows = {name: int(usual * WEEK[index] * rng.uniform(0.99, 1.01) * (1 - lost if name == "payments" else 1))
            for name, usual in SOURCES.items()}
    for name, n in rows.items():
        events.run(name, outputs={name: {"outputStatistics": f.OutputStatisticsFacet.build(n)}}, partition=day)
    features = {"outputStatistics": f.OutputStatisticsFacet.build(rows["applicants"]),  # one row per applicant
                "columnLineage": COLS({"spend": [(NS, "payments", "amount")]})}
    if drifted:  # drift is all the symptom shows
        features["drift"] = f.DriftDatasetFacet.from_fact({"drifted": True, "columns": {"spend": {
            "kind": "numerical", "test": "ks", "statistic": 0.17, "drifted": True}}})
    events.run("features", inputs=["applicants", "payments"], outputs={"features": features}, partition=day)
    events.run("training", inputs=["features", "outcomes"], outputs={"training": {}}, partition=day)
    return day


def test_a_small_loss_at_one_source_is_found_against_the_other_sources(events):
    """10 % fewer payments (far inside the own-history volume limit) on a normal weekday: the other sources
    did not move, so the loss is the cause and the symptom's drift its echo."""
    for i in range(7):
        _sources_day(events, i)
    day = _sources_day(events, 7, lost=0.10, drifted=True)
    result = analyze(events.store(), "features", partition=day)
    top = result.candidates[0]
    assert (top.asset, top.kind, top.echo_of) == ("payments", "row_loss", None)
    assert [(c.asset, c.echo_of) for c in result.candidates[1:]] == [("features", "payments")]


def test_a_quiet_weekend_at_every_source_is_no_volume_fault(events):
    for i in range(6):
        _sources_day(events, i)
    day = _sources_day(events, 6, drifted=True)  # 40 % fewer rows everywhere
    result = analyze(events.store(), "features", partition=day)
    assert [(c.asset, c.kind) for c in result.candidates] == [("features", "mean_shift")]


# --------------------------------------------------------------------------- versions that fed the symptom
def test_todays_partition_of_a_table_does_not_feed_a_model_trained_before(events):
    """scores ← model (trained once on days 1-5) ← table: today's failed table check is no cause of scores."""
    check = f.AssertionsFacet.build
    days = DAYS[:6]
    for day in days[:-1]:
        events.run("table", outputs={"table": {"dataQualityAssertions": check(
            [{"assertion": "not_null", "success": True, "column": "value"}])}}, partition=day)
    events.run("model", inputs=["table"], outputs={"model": {}})
    for day in days[:-1]:
        events.run("scores", inputs=["model"], outputs={"scores": {}}, partition=day)
    events.run("table", outputs={"table": {"dataQualityAssertions": check(
        [{"assertion": "not_null", "success": False, "column": "value"}])}}, partition=days[-1])
    events.run("scores", inputs=["model"], outputs={"scores": {"dataQualityAssertions": check(
        [{"assertion": "expect_column_values_to_be_between", "success": False, "column": "value"}])}},
        partition=days[-1])
    result = analyze(events.store(), "scores", partition=days[-1])
    assert [c.asset for c in result.candidates] == ["scores"]
    assert result.failing_ancestors == [{"asset": "scores", "distance": 0}]

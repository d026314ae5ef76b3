"""OpenLineage events built from a plain Dagster project's event log: inputs from the asset graph, schema
and row count from ``dagster/*`` metadata, check outcomes as assertions, the real error on FAIL; every event
valid against the OpenLineage JSON Schemas."""

from __future__ import annotations

import dagster as dg
import pandas as pd
from helpers.ol_spec import SpecValidator

from lineage.emission import events as ev
from lineage.emission.events import EmissionSettings
from observability_pipelines.observe.dagster_events import AssetGraph, RunEvents, run_entries


def _defs() -> dg.Definitions:
    @dg.asset
    def prices(context) -> pd.DataFrame:
        df = pd.DataFrame({"sku": ["a", "b"], "price": [1.5, 2.0]})
        context.add_output_metadata({"dagster/row_count": len(df), "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn("sku", "string"), dg.TableColumn("price", "double")])})
        return df

    @dg.asset_check(asset=prices)
    def price_positive(prices: pd.DataFrame) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=bool((prices["price"] > 0).all()))

    @dg.asset
    def margins(prices: pd.DataFrame) -> pd.DataFrame:
        raise ValueError("margin table unavailable: supplier feed missing")

    return dg.Definitions(assets=[prices, margins], asset_checks=[price_positive])


def _events():
    defs = _defs()
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    events = RunEvents(AssetGraph.of(defs), EmissionSettings(), run, run_entries(instance, run.run_id)).events()
    return run, [ev.to_dict(e) for e in events]


def test_each_asset_step_is_one_openlineage_run_with_graph_inputs_metadata_and_checks():
    run, events = _events()
    by_job: dict[str, list[dict]] = {}
    for event in events:
        by_job.setdefault(event["job"]["name"], []).append(event)
    assert [e["eventType"] for e in by_job["prices"]] == ["START", "COMPLETE"]
    assert [e["eventType"] for e in by_job["margins"]] == ["START", "FAIL"]
    assert len({e["run"]["runId"] for e in by_job["prices"]}) == 1
    assert by_job["prices"][0]["run"]["runId"] != by_job["margins"][0]["run"]["runId"]
    complete = by_job["prices"][1]["outputs"][0]
    assert [f["name"] for f in complete["facets"]["schema"]["fields"]] == ["sku", "price"]
    assert complete["outputFacets"]["outputStatistics"]["rowCount"] == 2
    (assertion,) = complete["facets"]["dataQualityAssertions"]["assertions"]
    assert (assertion["assertion"], assertion["success"]) == ("price_positive", True)
    assert [i["name"] for i in by_job["margins"][1]["inputs"]] == ["prices"]  # from the asset graph
    error = by_job["margins"][1]["run"]["facets"]["errorMessage"]
    assert "supplier feed missing" in error["message"] and "ValueError" in error["message"]
    assert "raise ValueError" in error["stackTrace"]
    assert by_job["margins"][1]["run"]["facets"]["parent"]["run"]["runId"] == ev.parent_run_uuid(run.run_id)
    validator = SpecValidator()
    for event in events:
        validator.validate(event)


def test_the_same_run_always_gives_the_same_run_ids():
    """Re-reading a run (a sensor tick retried) yields the same OpenLineage run ids: stores dedupe them."""
    defs = _defs()
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance, raise_on_error=False)
    run = instance.get_run_by_id(result.run_id)
    graph = AssetGraph.of(defs)
    ids = [[e.run.runId for e in RunEvents(graph, EmissionSettings(), run, run_entries(instance, run.run_id)).events()]
           for _ in range(2)]
    assert ids[0] == ids[1] and len(ids[0]) == 4

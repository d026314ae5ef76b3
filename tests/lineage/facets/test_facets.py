"""Typed facets: what emission writes, readers parse back; other producers' malformed facets parse to None."""

from __future__ import annotations

import json

import pytest
from helpers.ol_spec import SpecValidator
from openlineage.client.serde import Serde

from lineage import facets as f
from lineage.emission import events as ev

VALIDATOR = SpecValidator()
DRIFT_FACT = {
    "drifted": True, "share_drifted": 0.5, "n_ref": 700, "n_cur": 250,
    "columns": {
        "income": {"kind": "numerical", "test": "ks", "statistic": 0.31, "p_value": 1e-9, "drifted": True,
                   "null_drift": True, "inf_count_ref": 0, "inf_count_cur": 4, "null_fraction_ref": 0.01, "null_fraction_cur": 0.3, "status": "null_increase",
                   "message": "income null share rose"},
        "region": {"kind": "categorical", "test": "chi2", "statistic": 12.0, "drifted": True,
                   "n_new_categories": 2, "n_categories_ref": 4, "js_distance": 0.2},
    },
}


def roundtrip(facet):
    return type(facet).from_payload(json.loads(json.dumps(Serde.to_dict(facet))))


def test_drift_written_by_emission_is_read_back_with_every_field():
    facet = f.DriftDatasetFacet.from_fact(DRIFT_FACT)
    back = roundtrip(facet)
    assert back == facet
    assert back.drifted_columns == ["income", "region"]
    assert back.columns["income"].is_null_burst and not back.columns["region"].is_null_burst
    assert back.columns["region"].newCategories == 2 and back.columns["region"].referenceCategories == 4
    assert back.columns["income"].score == pytest.approx(0.31)
    assert back.columns["income"].infiniteCurrent == 4 and back.columns["income"].has_new_infinities
    assert "message" not in json.dumps(Serde.to_dict(facet))


def test_drift_of_older_events_without_null_fields_reads_null_burst_from_status():
    old = {"drifted": True, "shareDrifted": 1.0, "columns": {"age": {"drifted": True, "status": "null_increase"}}}
    assert f.DriftDatasetFacet.from_payload(old).columns["age"].is_null_burst


@pytest.mark.parametrize("payload", [
    None, "drift", [], {"columns": "x"}, {"columns": {"a": "y"}, "shareDrifted": "lots"},
])
def test_malformed_drift_never_raises(payload):
    facet = f.DriftDatasetFacet.from_payload(payload)
    assert facet is None or (facet.columns == {} and facet.shareDrifted == 0.0)


def test_drift_bad_field_is_dropped_not_the_column():
    facet = f.DriftDatasetFacet.from_payload(
        {"drifted": True, "columns": {"x": {"drifted": True, "pValue": "NaN", "statistic": float("inf"),
                                           "newCategories": -3, "kind": "weird"}}})
    col = facet.columns["x"]
    assert col.drifted and col.pValue is None and col.statistic is None and col.newCategories is None
    assert col.kind is None and facet.shareDrifted == 1.0


def test_assertions_keep_verdicts_and_drop_unreadable_items():
    facet = f.AssertionsFacet.from_payload({"assertions": [
        {"assertion": "not_null", "success": False, "column": "id", "actual": "42 rows: alice"},
        {"assertion": "unique", "success": "true"},
        {"success": False},  # no test name
        {"assertion": "x", "success": "maybe"},  # no verdict
        "junk",
    ]})
    assert [(a.assertion, a.success, a.column) for a in facet.assertions] == [("not_null", False, "id"),
                                                                              ("unique", True, None)]
    assert [a.assertion for a in facet.failed] == ["not_null"]
    assert "alice" not in json.dumps(Serde.to_dict(facet))
    assert f.AssertionsFacet.from_payload({"assertions": [{"success": True}]}) is None
    assert f.AssertionsFacet.from_payload({"assertions": {"a": 1}}) is None


def test_metrics_tolerate_bad_values():
    facet = f.MetricsFacet.from_payload({"rowCount": "100", "columnMetrics": {
        "a": {"nullCount": 3, "min": "x", "quantiles": {"0.5": 2, "0.9": "bad"}}, "b": "junk"}})
    assert facet.rowCount == 100 and set(facet.columnMetrics) == {"a"}
    assert facet.columnMetrics["a"].nullCount == 3 and facet.columnMetrics["a"].min is None
    assert facet.columnMetrics["a"].quantiles == {"0.5": 2.0}
    assert roundtrip(facet) == facet
    assert f.MetricsFacet.from_payload({"columnMetrics": []}) is None


def test_schema_column_lineage_statistics_version_round_trip():
    schema = f.SchemaFacet.build([("id", "string"), ("amount", "double")])
    assert roundtrip(schema).types == {"id": "string", "amount": "double"}
    lineage = f.ColumnLineageFacet.build({"amount": [("ns", "raw", "amount")], "id": []})
    assert roundtrip(lineage) == lineage and set(lineage.fields) == {"amount"}
    assert roundtrip(f.OutputStatisticsFacet.build(12)).rowCount == 12
    assert roundtrip(f.VersionFacet.build("abc")).datasetVersion == "abc"
    # Foreign, partly malformed: bad entries dropped.
    parsed = f.SchemaFacet.from_payload({"fields": [{"name": "a", "type": 3}, {"type": "int"}, 7]})
    assert parsed.types == {"a": "3"}
    cl = f.ColumnLineageFacet.from_payload({"fields": {"x": {"inputFields": [{"namespace": "n", "name": "t"}]},
                                                       "y": {"inputFields": [{"namespace": "n", "name": "t",
                                                                              "field": "y",
                                                                              "transformations": [{"type": "INDIRECT"}, 1]}]}}})
    assert set(cl.fields) == {"y"} and cl.fields["y"].inputFields[0].transformations[0].type == "INDIRECT"
    assert f.VersionFacet.from_payload({"datasetVersion": None}) is None
    assert f.OutputStatisticsFacet.from_payload({"rowCount": -1}) is None


def test_error_message_is_built_and_its_repeats_collapse():
    try:
        raise ValueError("boom")
    except ValueError as exc:
        facet = f.ErrorMessageFacet.build(exc)
    assert roundtrip(facet).message == "ValueError: boom" and "Traceback" in facet.stackTrace
    repeated = "Database Error in model customers (models/customers.sql)"
    assert f.dedupe_message(f"{repeated} {repeated} {repeated}") == repeated
    assert f.dedupe_message(f"{repeated}\n{repeated}") == repeated
    assert f.dedupe_message("a b") == "a b"
    assert f.ErrorMessageFacet.from_payload({"message": ""}) is None


def test_test_run_facet_of_dbt():
    facet = f.TestRunFacet.from_payload({"tests": [{"name": "not_null_customers_id", "status": "FAIL",
                                                    "type": "not_null"}, {"name": "x"}, {"status": "pass"}]})
    assert [t.name for t in facet.failed] == ["not_null_customers_id"]


@pytest.mark.parametrize("key", ["2026-03-02", "2026-03-02-13:00", "2026-03-02|eu", "eu|2026-03-02-07:00", "eu"])
def test_partition_keys_come_back_as_they_went_in(key):
    facets = {k: json.loads(json.dumps(Serde.to_dict(v))) for k, v in f.partition_facets(key).items()}
    assert f.partition_key(facets) == key


def test_partition_from_the_window_alone_stays_compatible_with_stored_events():
    assert f.partition_key({"nominalTime": {"nominalStartTime": "2026-03-02T00:00:00.000Z",
                                            "nominalEndTime": "2026-03-03T00:00:00.000Z"}}) == "2026-03-02"
    assert f.partition_key({"nominalTime": {"nominalStartTime": "2026-03-02T13:00:00Z",
                                            "nominalEndTime": "2026-03-02T14:00:00Z"}}) == "2026-03-02-13:00"
    assert f.partition_key({"nominalTime": {"nominalStartTime": "2026-03-02T00:00:00"}}) == "2026-03-02"
    assert f.partition_key({"nominalTime": {"nominalStartTime": "not a time"}}) is None
    assert f.partition_key({"tags": {"tags": "x"}}) is None
    assert f.partition_dimensions({k: Serde.to_dict(v) for k, v in
                                   f.partition_facets("2026-03-02|eu", {"date": "2026-03-02", "region": "eu"}).items()}
                                  ) == {"date": "2026-03-02", "region": "eu"}


def test_events_with_partition_facets_follow_the_spec():
    event = ev.run_event(ev.event_v2.RunState.COMPLETE, run_id="0193c4a2-5d0e-7a3e-9c6f-2b8e6f4a1d00",
                         job_namespace="dagster", job_name="x", run_facets=ev.partition_run_facets("2026-03-02|eu"))
    payload = ev.to_dict(event)
    assert VALIDATOR.errors(payload) == []
    assert f.partition_key(payload["run"]["facets"]) == "2026-03-02|eu"


def test_parse_by_key():
    assert isinstance(f.parse("version", {"datasetVersion": "1"}), f.VersionFacet)
    assert f.parse("unknownFacet", {"a": 1}) is None

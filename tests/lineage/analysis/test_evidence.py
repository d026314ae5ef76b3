"""Evidence rules on dataset versions built from typed facets (no store needed)."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers.rca_events import metrics, numeric

from lineage import facets as f
from lineage.analysis.evidence import gather_evidence, scale_or_shift
from lineage.analysis.observations import DatasetSnapshot

T = dt.datetime(2026, 3, 1)


def snap(day: int, rows: int = 100, *, drift=None, assertions=(), schema=None, version=None, **cols) -> DatasetSnapshot:
    s = DatasetSnapshot(1, f"2026-03-{day:02d}", T + dt.timedelta(days=day), run_ids={day})
    s.metrics = metrics(rows, **(cols or {"amount": numeric(rows)}))
    s.row_count = float(rows)
    s.drift = f.DriftDatasetFacet.from_payload(drift) if drift else None
    s.assertions = [f.Assertion(**a) for a in assertions]
    s.schema = f.SchemaFacet.build(schema or [("amount", "double"), ("region", "string")])
    s.version = version
    return s


HISTORY = [snap(d, 100 + d) for d in range(1, 6)]


def kinds(evidence):
    return {(e.kind, e.column, e.source) for e in evidence}


def test_drift_facet_as_emitted_drives_the_kind():
    fact = {"drifted": True, "share_drifted": 0.5, "columns": {
        "amount": {"kind": "numerical", "test": "ks", "statistic": 0.4, "drifted": True, "null_drift": True,
                   "null_fraction_ref": 0.0, "null_fraction_cur": 0.3, "status": "null_increase"},
        "region": {"kind": "categorical", "test": "chi2", "statistic": 30.0, "drifted": True, "n_new_categories": 2},
        "label": {"kind": "categorical", "test": "chi2", "statistic": 9.0, "drifted": True},
    }}
    from openlineage.client.serde import Serde

    payload = Serde.to_dict(f.DriftDatasetFacet.from_fact(fact))  # what RCA reads back from the store
    evidence = gather_evidence(snap(9, drift=payload), HISTORY)
    assert {("null_burst", "amount", "drift"), ("category_remap", "region", "drift"),
            ("label_shift", "label", "drift")} <= kinds(evidence)
    null = next(e for e in evidence if e.kind == "null_burst")
    assert "30% null" in null.detail and null.strength > 0.9


def test_drift_strength_grows_with_distance():
    weak = {"drifted": True, "columns": {"amount": {"drifted": True, "test": "ks", "statistic": 0.05}}}
    strong = {"drifted": True, "columns": {"amount": {"drifted": True, "test": "ks", "statistic": 0.6}}}
    w = gather_evidence(snap(9, drift=weak), HISTORY)[0]
    s = gather_evidence(snap(9, drift=strong), HISTORY)[0]
    assert w.strength < s.strength


def test_scale_and_shift_are_told_apart_by_quantiles():
    history = [f.ColumnMetrics(**numeric(100)) for _ in range(3)]
    assert scale_or_shift(f.ColumnMetrics(**numeric(100, scale=100.0)), history) == "scale_change"
    assert scale_or_shift(f.ColumnMetrics(**numeric(100, shift=15.0)), history) == "mean_shift"
    assert scale_or_shift(f.ColumnMetrics(nullCount=0), history) is None


def test_failed_range_assertion_reads_scale_change_from_metrics():
    s = snap(9, assertions=[{"assertion": "expect_column_values_to_be_between", "success": False, "column": "amount"}],
             amount=numeric(100, scale=100.0))
    assert ("scale_change", "amount", "assertion") in kinds(gather_evidence(s, HISTORY))


def test_null_share_rise_in_metrics():
    s = snap(9, amount=numeric(100, nulls=40))
    ev = [e for e in gather_evidence(s, HISTORY) if e.source == "metrics"]
    assert [(e.kind, e.column) for e in ev] == [("null_burst", "amount")]
    assert "40% null" in ev[0].detail


def test_schema_change_against_previous_version():
    s = snap(9, schema=[("amount", "string")])
    assert {("column_drop", "region", "schema"), ("type_change", "amount", "schema")} <= kinds(gather_evidence(s, HISTORY))


@pytest.mark.parametrize(("rows", "kind"), [(30, "row_loss"), (300, "duplicate_rows"), (104, None)])
def test_volume_against_own_history(rows, kind):
    found = [e.kind for e in gather_evidence(snap(9, rows), HISTORY) if e.source == "volume"]
    assert found == ([kind] if kind else [])


def test_redelivered_partition_is_stale():
    s = snap(9, amount=numeric(100), other=numeric(100), version="v1")
    history = [snap(d, amount=numeric(100, shift=d), other=numeric(100, shift=d)) for d in range(1, 5)]
    history.append(snap(5, amount=numeric(100), other=numeric(100), version="v1"))
    details = {e.detail for e in gather_evidence(s, history) if e.kind == "stale_partition"}
    assert details == {"content identical to partition 2026-03-05", "same dataset version as an earlier partition"}


def test_failed_run_reports_its_error_once():
    s = snap(9)
    s.failed, s.error = True, "Database Error"
    ev = [e for e in gather_evidence(s, HISTORY) if e.source == "run"]
    assert len(ev) == 1 and ev[0].detail == "run failed: Database Error"


def test_no_history_no_comparison_but_assertions_and_drift_still_count():
    s = snap(9, 5, assertions=[{"assertion": "not_null", "success": False, "column": "amount"}])
    assert kinds(gather_evidence(s, [])) == {("null_burst", "amount", "assertion")}


def test_infinite_values_are_their_own_kind_and_explain_failed_range_checks():
    drift = {"drifted": True, "columns": {"amount": {"drifted": True, "test": "ks", "statistic": 0.2,
                                                     "nullDrift": True, "nullFractionCurrent": 0.0,
                                                     "infiniteCurrent": 17, "infiniteReference": 0}}}
    s = snap(9, drift=drift, assertions=[{"assertion": "expect_column_values_to_be_between", "success": False,
                                          "column": "amount"}])
    evidence = gather_evidence(s, HISTORY)
    assert {(e.kind, e.source) for e in evidence if e.column == "amount"} == {("inf_values", "drift"),
                                                                            ("inf_values", "assertion")}
    assert "17 infinite values" in next(e.detail for e in evidence if e.source == "drift")


def test_null_drift_without_a_null_rise_does_not_claim_a_share():
    drift = {"drifted": True, "columns": {"amount": {"drifted": True, "status": "null_increase",
                                                     "nullFractionCurrent": 0.0, "nullFractionReference": 0.0}}}
    [e] = gather_evidence(snap(9, drift=drift), HISTORY)
    assert e.kind == "null_burst" and "0%" not in e.detail


def test_label_column_checks_read_as_label_shift_and_pair_checks_count_per_column():
    s = snap(9, assertions=[
        {"assertion": "expect_column_mean_to_be_between", "success": False, "column": "defaulted"},
        {"assertion": "expect_column_pair_values_a_to_be_greater_than_b", "success": False, "column": "amount,fee"}])
    found = {(e.kind, e.column, e.strength) for e in gather_evidence(s, HISTORY, frozenset({"defaulted"}))}
    assert found == {("label_shift", "defaulted", 0.9), ("unknown", "amount", 0.3), ("unknown", "fee", 0.3)}


# --------------------------------------------------------------------------- through a real store
CODES = {"0.05": 0.0, "0.25": 1.0, "0.5": 2.0, "0.75": 3.0, "0.95": 4.0}


def _codes(rows, *, nulls=0, quantiles=CODES):
    return {"nullCount": nulls, "distinctCount": 5, "count": float(rows - nulls), "min": min(quantiles.values()),
            "max": max(quantiles.values()), "quantiles": dict(quantiles)}


def _table_day(events, day, *, code_type="int64", code=None, drift=None, assertions=()):
    """One partition of a table with an integer code column (`code`) and a numeric `amount`."""
    rows = 200
    facets = {"schema": f.SchemaFacet.build([("code", code_type), ("amount", "float64")]),
              "dataQualityMetrics": metrics(rows, code=code or _codes(rows), amount=numeric(rows)),
              "outputStatistics": f.OutputStatisticsFacet.build(rows)}
    if drift:
        facets["drift"] = f.DriftDatasetFacet.from_fact({"drifted": True, "columns": {"code": drift}})
    if assertions:
        facets["dataQualityAssertions"] = f.AssertionsFacet.build(
            [{"assertion": a, "success": False, "column": "code"} for a in assertions])
    events.run("table", outputs={"table": facets}, partition=day)


DAYS = [f"2026-03-0{d}" for d in range(1, 8)]


def _top(events, day):
    from lineage.analysis.rca import analyze

    top = analyze(events.store(), "table", partition=day).candidates[0]
    return top.column, top.kind


@pytest.mark.parametrize("nulls", [30, 6])  # 15 %, and 3 % (below the null-share rise that counts by itself)
def test_integer_column_turning_float_as_nulls_appear_is_a_null_burst_not_a_type_change(events, nulls):
    for day in DAYS[:-1]:
        _table_day(events, day)
    _table_day(events, DAYS[-1], code_type="float64", code=_codes(200, nulls=nulls),
               assertions=["expect_column_values_to_be_in_type_list", "expect_column_values_to_not_be_null"])
    assert _top(events, DAYS[-1]) == ("code", "null_burst")


def test_integer_column_turning_float_without_nulls_stays_a_type_change(events):
    for day in DAYS[:-1]:
        _table_day(events, day)
    _table_day(events, DAYS[-1], code_type="float64", assertions=["expect_column_values_to_be_in_type_list"])
    assert _top(events, DAYS[-1]) == ("code", "type_change")


CATEGORICAL_DRIFT = {"kind": "categorical", "test": "chi2", "statistic": 80.0, "drifted": True, "n_new_categories": 2}


def test_integer_codes_shifted_by_one_offset_are_a_mean_shift_not_a_category_remap(events):
    for day in DAYS[:-1]:
        _table_day(events, day)
    shifted = {k: v - 2.0 for k, v in CODES.items()}
    _table_day(events, DAYS[-1], code=_codes(200, quantiles=shifted), drift=CATEGORICAL_DRIFT,
               assertions=["expect_column_values_to_be_in_set"])  # a set check fails on shifted codes too
    assert _top(events, DAYS[-1]) == ("code", "mean_shift")


def test_integer_codes_reshuffled_stay_a_category_remap(events):
    for day in DAYS[:-1]:
        _table_day(events, day)
    reshuffled = {"0.05": 0.0, "0.25": 0.0, "0.5": 4.0, "0.75": 4.0, "0.95": 4.0}
    _table_day(events, DAYS[-1], code=_codes(200, quantiles=reshuffled), drift=CATEGORICAL_DRIFT,
               assertions=["expect_column_values_to_be_in_set"])
    assert _top(events, DAYS[-1]) == ("code", "category_remap")


def test_predicted_class_moving_is_a_label_shift_a_predicted_amount_is_not(events):
    from lineage.analysis.rca import analyze

    drifts = {"predicted_churn": {"kind": "categorical", "test": "chi2", "statistic": 79.0, "drifted": True},
              "predicted_spend": {"kind": "numerical", "test": "ks", "statistic": 0.4, "drifted": True}}
    for name, drift in drifts.items():
        for day in DAYS:
            facets = {"outputStatistics": f.OutputStatisticsFacet.build(200)}
            if day == DAYS[-1]:
                facets["drift"] = f.DriftDatasetFacet.from_fact({"drifted": True, "columns": {name: drift}})
            events.run(name, outputs={f"scores_{name}": facets}, partition=day)
    store = events.store()
    churn = analyze(store, "scores_predicted_churn", partition=DAYS[-1]).candidates[0]
    spend = analyze(store, "scores_predicted_spend", partition=DAYS[-1]).candidates[0]
    assert (churn.column, churn.kind) == ("predicted_churn", "label_shift")
    assert (spend.column, spend.kind) == ("predicted_spend", "mean_shift")

"""The all-columns-at-once metrics path (``facets._block_metrics``, for wide frames) gives exactly what the
per-column path gives: same counts, same distinct counts, bit-identical sums, extremes and quantiles."""

import numpy as np
import pandas as pd
import pytest

from lineage.emission import facets as fc


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"f{i}": rng.normal(size=rows) * 10.0 ** rng.integers(-5, 8) for i in range(6)})
    frame["rounded"] = np.round(rng.normal(size=rows), 1)  # many duplicates
    frame["signed_zero"] = np.where(rng.random(rows) < 0.5, 0.0, -0.0)  # -0.0 == 0.0: one value
    frame["customer_id"] = rng.normal(size=rows)  # identifier-like: counts only
    frame["with_inf"] = np.where(np.arange(rows) == 0, np.inf, 1.5)  # per-column path (infinite values)
    frame["with_nan"] = np.where(np.arange(rows) == 0, np.nan, 2.5)  # per-column path (nulls)
    frame["ints"] = rng.integers(0, 5, rows)
    frame["label"] = rng.choice(["a", "b"], rows)
    return frame


@pytest.mark.parametrize("rows", [1, 2, 4, 5, 100, 129, 4097, fc.QUANTILE_SAMPLE, fc.QUANTILE_SAMPLE + 1])
@pytest.mark.parametrize("options", [{}, {"digits": None}, {"numeric_aggregates": False}, {"private_columns": ["f1"]}])
def test_block_path_equals_the_per_column_path(rows, options, monkeypatch):
    frame = _frame(rows, seed=rows)
    fast = fc.column_metrics(frame, **options)
    monkeypatch.setattr(fc, "_block_metrics", lambda *args, **kwargs: {})
    reference = fc.column_metrics(frame, **options)
    assert list(fast[1]) == list(reference[1])
    for name in reference[1]:
        assert vars(fast[1][name]) == vars(reference[1][name]), name


def test_block_path_is_used_and_matches_pandas_on_a_wide_frame():
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(np.round(rng.normal(size=(60, 300)), 2), columns=[f"x{i}" for i in range(300)])
    nulls = frame.isna().sum().to_numpy()
    block = fc._block_metrics(frame, nulls, numeric_aggregates=True, private=set(), digits=None)
    assert sorted(block) == list(range(300))
    for position, name in enumerate(frame.columns):
        column = frame[name]
        metrics = block[position]
        assert metrics.distinctCount == column.nunique()
        assert (metrics.min, metrics.max) == (column.min(), column.max())
        assert metrics.quantiles["0.5"] == pytest.approx(column.median(), rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------- one-pass event serialization
def _events():
    from openlineage.client import event_v2

    from lineage.emission import events as ev
    from observability_pipelines.observe.openlineage import check_run_events

    from tests.lineage.emission.test_emission import sample_event

    wide = {f"c{i}": [("ns", "src", f"c{(i + j) % 500}") for j in range(3)] for i in range(500)}
    frame = _frame(50, seed=1)
    failed = ev.run_event(event_v2.RunState.FAIL, run_id="0190e0c8-2d4e-7d8e-8f00-000000000001", job_namespace="d",
                          job_name="j", run_facets={"errorMessage": ev.error_facet(ValueError("boom")),
                                                    **ev.partition_run_facets("2026-03-01|eu")})
    wide_event = ev.run_event(
        event_v2.RunState.COMPLETE, run_id="0190e0c8-2d4e-7d8e-8f00-000000000002", job_namespace="d", job_name="w",
        inputs=[event_v2.InputDataset(namespace="ns", name="src",
                                      inputFacets={"dataQualityMetrics": fc.data_quality_metrics(frame)})],
        outputs=[event_v2.OutputDataset(namespace="ns", name="w", facets={
            "columnLineage": fc.column_lineage_facet(wide),
            "schema": fc.schema_facet((c, str(t)) for c, t in frame.dtypes.items())})])
    checks = check_run_events(ev.EmissionSettings(), dagster_run_id="0190e0c8-2d4e-7d8e-8f00-000000000003",
                              dagster_job="daily", step_key="s", asset_key=__import__("dagster").AssetKey(["a", "b"]),
                              check_name="rows", assertions=[{"assertion": "rows", "success": True, "column": None,
                                                              "severity": "warn"}])
    return [sample_event(), sample_event(event_type=event_v2.RunState.START), failed, wide_event, *checks]


def test_to_dict_equals_openlineage_serde():
    import json

    from openlineage.client.serde import Serde

    from lineage.emission import events as ev

    for event in _events():
        ours, theirs = ev.to_dict(event), Serde.to_dict(event)
        assert ours == theirs
        assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)


# --------------------------------------------------------------------------- content hash of wide float frames
@pytest.mark.parametrize("shape", [(1, 2), (7, 3), (50, 400), (1000, 12)])
def test_row_hashes_equal_pandas(shape):
    rng = np.random.default_rng(shape[1])
    values = rng.normal(size=shape)
    values[0, 0], values[-1, -1] = np.nan, -0.0  # pandas canonicalizes NaN and -0.0
    frame = pd.DataFrame(values, columns=[f"c{i}" for i in range(shape[1])])
    assert np.array_equal(fc._row_hashes(frame), pd.util.hash_pandas_object(frame, index=False).to_numpy())
    mixed = frame.assign(label="x")  # not all float64: pandas' own path
    assert np.array_equal(fc._row_hashes(mixed), pd.util.hash_pandas_object(mixed, index=False).to_numpy())

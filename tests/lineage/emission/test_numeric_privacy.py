"""Issue 16, point 8: no row's exact value leaves the process in an event's numeric aggregates.

The event is serialized exactly as the outbox stores it and searched for every row value; references
are numpy (quantiles), Python's hmac (the keyed fingerprint) and RCA's own scale-vs-shift reading.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat

import numpy as np
import pandas as pd
import pytest
from openlineage.client import event_v2

from lineage.analysis.evidence import scale_or_shift
from lineage.emission import events as ev
from lineage.emission import facets as fc
from lineage.emission import privacy
from lineage.emission.events import EmissionSettings

INCOME = 264_731.31  # one applicant's income, the largest


def _applicants(n: int = 101, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = np.round(rng.lognormal(10.8, 0.4, n), 2)
    income[7] = INCOME
    return pd.DataFrame({"income": income, "age": rng.integers(21, 70, n),
                         "loan_amount": np.round(rng.uniform(1_000, 40_000, n), 2)})


def _serialized(frame: pd.DataFrame, **options) -> str:
    event = ev.run_event(event_v2.RunState.COMPLETE, run_id="0190d7a0-0000-7000-8000-000000000001",
                         job_namespace="dagster", job_name="j",
                         inputs=[event_v2.InputDataset(namespace="n", name="applicants", inputFacets={
                             "dataQualityMetrics": fc.data_quality_metrics(frame, **options)})])
    return json.dumps(ev.to_dict(event), sort_keys=True, separators=(",", ":"))


def _metric_values(frame: pd.DataFrame, **options) -> list[float]:
    metrics = fc.data_quality_metrics(frame, **options).columnMetrics
    out = []
    for m in metrics.values():
        out += [v for v in (m.min, m.max) if v is not None] + list((m.quantiles or {}).values())
    return out


def test_exact_row_values_no_longer_leave_the_process():
    frame = _applicants()  # 101 rows: the median is a row value
    payload = _serialized(frame)
    assert repr(INCOME) not in payload and "264731" not in payload
    rows = set(frame.to_numpy(dtype=float).ravel().tolist())
    # A coarsened value may equal a row only where the row itself has <= 3 significant digits (ages).
    leaked = [v for v in _metric_values(frame) if v in rows and v != privacy.coarsen(v)]
    assert leaked == []
    income = fc.data_quality_metrics(frame).columnMetrics["income"]
    assert income.max == 265_000.0
    reference = np.quantile(frame["income"], fc.QUANTILES)
    for q, ref in zip(fc.QUANTILES, reference, strict=True):  # within rounding of numpy's own quantiles
        assert income.quantiles[f"{q:g}"] == pytest.approx(ref, rel=5e-3)


def test_sensitive_columns_get_counts_only(monkeypatch):
    frame = _applicants()
    settings = EmissionSettings.from_env(private_columns=("income",))
    metrics = fc.data_quality_metrics(frame, **settings.metric_options()).columnMetrics
    assert metrics["income"].min is None and metrics["income"].quantiles is None and metrics["income"].sum is None
    assert metrics["income"].nullCount == 0 and metrics["loan_amount"].quantiles
    monkeypatch.setenv(privacy.PRIVATE_COLUMNS_ENV, "loan_amount, age")
    both = EmissionSettings.from_env(private_columns=("income",))
    assert set(both.private_columns) == {"income", "loan_amount", "age"}


def test_small_partitions_carry_no_value_aggregates():
    few = pd.DataFrame({"income": [52_311.17, 61_002.5, 48_250.0, np.nan]})
    m = fc.data_quality_metrics(few).columnMetrics["income"]
    assert m.count == 3 and m.nullCount == 1 and m.min is None and m.quantiles is None


def test_exact_values_only_by_opt_in(monkeypatch):
    frame = _applicants()
    assert EmissionSettings.from_env().numeric_digits == privacy.DIGITS
    monkeypatch.setenv(privacy.PRECISION_ENV, "exact")
    exact = EmissionSettings.from_env()
    assert exact.numeric_digits is None
    assert fc.data_quality_metrics(frame, **exact.metric_options()).columnMetrics["income"].max == INCOME
    monkeypatch.setenv(privacy.PRECISION_ENV, "lots")
    with pytest.raises(ValueError, match="OBS_OL_NUMERIC_PRECISION"):
        EmissionSettings.from_env()


def test_content_fingerprint_is_keyed(tmp_path, monkeypatch):
    frame = _applicants()
    monkeypatch.delenv(privacy.FINGERPRINT_KEY_ENV, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    first = fc.content_hash(frame)
    key_file = tmp_path / privacy.KEY_FILE
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert fc.content_hash(frame) == first  # stable: re-deliveries are still recognised
    assert fc.content_hash(frame.assign(age=frame["age"] + 1)) != first
    unkeyed = hashlib.sha256()  # what anyone could recompute from a guess of the data
    unkeyed.update("|".join(f"{c}:{t}" for c, t in frame.dtypes.items()).encode())
    unkeyed.update(str(len(frame)).encode())
    unkeyed.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    assert first != unkeyed.hexdigest()[:32]
    monkeypatch.setenv(privacy.FINGERPRINT_KEY_ENV, "deployment-wide-key")
    assert fc.content_hash(frame) != first and fc.content_hash(frame) == fc.content_hash(frame.copy())


@pytest.mark.parametrize(("change", "expected"), [(lambda s: s * 100.0, "scale_change"),
                                                   (lambda s: s + 20_000.0, "mean_shift")])
def test_rca_still_tells_scale_from_shift_on_coarsened_quantiles(change, expected):
    history = [fc.data_quality_metrics(_applicants(seed=s)).columnMetrics["income"] for s in range(5)]
    frame = _applicants(seed=9)
    current = fc.data_quality_metrics(frame.assign(income=change(frame["income"]))).columnMetrics["income"]
    assert scale_or_shift(current, history) == expected

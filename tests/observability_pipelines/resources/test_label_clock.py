"""The label clock: which labels exist at "now" (real, or simulated by run tag / environment)."""

from types import SimpleNamespace

import dagster as dg
import pandas as pd
import pytest

from observability_pipelines.resources.label_clock import NOW_ENV, NOW_TAG, LabelClock, parse_now
from observability_pipelines.resources.source import RawDataSource

LABELS = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                       "label_observed_ts": pd.to_datetime(["2026-06-01 10:00", "2026-06-01 23:00", None,
                                                            "2026-06-02 08:00"])})


def test_arrival_counts_observed_pending_and_when_the_last_arrives():
    arrival = LabelClock(parse_now("2026-06-01T12:00")).arrival(LABELS)
    assert (arrival.arrived, arrival.pending, arrival.total) == (1, 2, 4) and not arrival.complete
    assert arrival.complete_at == pd.Timestamp("2026-06-02 08:00")
    assert "1 of 4 labels observed at 2026-06-01 12:00 UTC; all arrive by 2026-06-02 08:00 UTC" == arrival.describe()
    later = LabelClock(parse_now("2026-06-03T00:00"))
    assert later.arrival(LABELS).complete  # the unreadable time is nothing to wait for
    assert list(later.arrived(LABELS)["customer_id"]) == ["a", "b", "d"]


def test_run_tag_wins_over_environment_and_both_over_the_real_clock(monkeypatch):
    monkeypatch.setenv(NOW_ENV, "2026-06-01T00:00")
    run = SimpleNamespace(run=SimpleNamespace(tags={NOW_TAG: "2026-06-05T00:00+02:00"}))
    assert LabelClock.of_run(run).now == pd.Timestamp("2026-06-04 22:00")  # converted to naive UTC
    assert LabelClock.of_run(SimpleNamespace(run=SimpleNamespace(tags={}))).now == pd.Timestamp("2026-06-01")
    monkeypatch.delenv(NOW_ENV)
    assert abs(LabelClock.of_run(None).now - pd.Timestamp.now(tz="UTC").tz_localize(None)) < pd.Timedelta(minutes=1)


def test_bad_now_and_labels_without_observation_time_are_refused():
    with pytest.raises(dg.Failure, match="not an ISO 8601 time"):
        parse_now("yesterday-ish")
    with pytest.raises(dg.Failure, match="no 'label_observed_ts' column"):
        LabelClock(parse_now("2026-06-01")).arrived(LABELS.drop(columns="label_observed_ts"))


def test_the_label_delay_is_configurable_at_the_source():
    customers = RawDataSource(customers_per_day=50).load("customers", "2026-03-02")
    for delay in (90, 2.5):
        labels = RawDataSource(customers_per_day=50, label_delay_days=delay).load("labels", "2026-03-02")
        lag = labels["label_observed_ts"] - customers.set_index("customer_id").loc[labels["customer_id"], "application_ts"].to_numpy()
        assert (lag == pd.Timedelta(days=delay)).all()

import datetime as dt

import pandas as pd
import pytest

from observability_pipelines.data.contracts import CONTRACTS
from observability_pipelines.data.generator import GeneratorConfig, generate_partition


def test_same_seed_same_data_and_other_seed_differs():
    a = generate_partition("2026-03-02", GeneratorConfig(seed=7, customers_per_day=300))
    b = generate_partition("2026-03-02", GeneratorConfig(seed=7, customers_per_day=300))
    c = generate_partition("2026-03-02", GeneratorConfig(seed=8, customers_per_day=300))
    for source in a:
        pd.testing.assert_frame_equal(a[source], b[source])
    assert not a["customers"]["income"].equals(c["customers"]["income"])


@pytest.mark.parametrize("source,asset", [("customers", "raw_customers"), ("transactions", "raw_transactions"),
                                          ("labels", "raw_labels")])
def test_sources_follow_their_contracts(source, asset):
    df = generate_partition("2026-03-02", GeneratorConfig(customers_per_day=300))[source]
    assert list(df.columns) == list(CONTRACTS[asset].columns)
    assert df[list(CONTRACTS[asset].key)].duplicated().sum() == 0
    assert df.notna().all().all()


def test_days_differ_with_weekly_seasonality():
    cfg = GeneratorConfig(customers_per_day=1000)
    start = dt.date(2026, 3, 2)  # a Monday
    sizes = {}
    for i in range(14):
        day = start + dt.timedelta(days=i)
        sizes[day] = len(generate_partition(day, cfg)["customers"])
    weekday = [n for d, n in sizes.items() if d.weekday() < 5]
    weekend = [n for d, n in sizes.items() if d.weekday() >= 5]
    assert sum(weekend) / len(weekend) < 0.8 * sum(weekday) / len(weekday)
    assert len(set(sizes.values())) > 10  # clean days are not identical


def test_partition_timestamps_fall_on_their_day_and_labels_after():
    frames = generate_partition("2026-03-04", GeneratorConfig(customers_per_day=300))
    ts = frames["customers"]["application_ts"]
    assert (ts.dt.date == dt.date(2026, 3, 4)).all()
    merged = frames["labels"].merge(frames["customers"], on="customer_id")
    assert (merged["label_observed_ts"] > merged["application_ts"]).all()
    rate = frames["labels"]["defaulted"].mean()
    assert 0.05 < rate < 0.45

"""Raw assets read the user's own CSV/Parquet files instead of the generator."""

import dagster as dg
import pandas as pd
import pytest

from observability_pipelines.data.generator import GeneratorConfig, generate_partition
from observability_pipelines.resources.source import RawDataSource

DAY = "2026-03-04"


def test_partition_template_and_multi_day_file(tmp_path):
    frames = {d: generate_partition(d, GeneratorConfig(customers_per_day=100)) for d in ("2026-03-03", DAY)}
    for d, f in frames.items():
        f["customers"].to_parquet(tmp_path / f"customers_{d}.parquet", index=False)
    pd.concat([f["transactions"] for f in frames.values()]).to_csv(tmp_path / "transactions.csv", index=False)
    source = RawDataSource(customers_path=str(tmp_path / "customers_{partition}.parquet"),
                           transactions_path=str(tmp_path / "transactions.csv"))
    pd.testing.assert_frame_equal(source.load("customers", DAY), frames[DAY]["customers"])
    tx = source.load("transactions", DAY)
    # a multi-day file is cut to the partition by its time column
    assert set(pd.to_datetime(tx["transaction_ts"]).dt.date.astype(str)) <= {"2026-03-03", DAY} and len(tx) > 0
    assert (pd.to_datetime(tx["transaction_ts"]).dt.date.astype(str) == DAY).all()


def test_user_files_feed_a_real_run(make_pipeline, tmp_path):
    frame = generate_partition(DAY, GeneratorConfig(seed=99, customers_per_day=150))["customers"]
    frame.to_csv(tmp_path / "mine.csv", index=False)
    pipeline = make_pipeline()
    pipeline.resources["raw_data"] = RawDataSource(customers_path=str(tmp_path / "mine.csv"))
    pipeline.materialize(["raw_customers", "clean_customers"], DAY)
    assert pipeline.read("clean_customers", DAY)["customer_id"].tolist() == sorted(frame["customer_id"])


def test_missing_user_file_fails_with_next_step(tmp_path):
    source = RawDataSource(labels_path=str(tmp_path / "nope_{partition}.csv"))
    with pytest.raises(dg.Failure, match="labels_path"):
        source.load("labels", DAY)

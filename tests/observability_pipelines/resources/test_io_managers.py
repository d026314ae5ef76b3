"""The Parquet IO manager loads partitions the way UPathIOManager does, without a log line per partition."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from observability_pipelines.assets.partitions import daily_partitions
from observability_pipelines.resources.io_managers import ParquetIOManager


@pytest.fixture
def store(tmp_path):
    manager = ParquetIOManager(base_path=str(tmp_path)).create_io_manager(dg.build_init_resource_context())
    for day in ("2026-03-02", "2026-03-04"):
        manager.handle_output(dg.build_output_context(asset_key="training_set", partition_key=day,
                                                      asset_partitions_def=daily_partitions),
                              pd.DataFrame({"day": [day]}))
    return manager


def _input(**kwargs) -> dg.InputContext:
    return dg.build_input_context(asset_key="training_set", asset_partitions_def=daily_partitions, **kwargs)


def test_many_partitions_with_missing_allowed_load_what_exists_in_one_line(store, capfd):
    days = dg.PartitionKeyRange("2026-03-01", "2026-03-05")
    capfd.readouterr()
    loaded = store.load_input(_input(asset_partition_key_range=days,
                                     definition_metadata={"allow_missing_partitions": True}))
    assert sorted(loaded) == ["2026-03-02", "2026-03-04"]
    assert [df["day"].iloc[0] for _, df in sorted(loaded.items())] == ["2026-03-02", "2026-03-04"]
    # build_input_context logs to the console at DEBUG: everything the load said is here.
    logged = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert len(logged) == 1 and "loaded the 2 materialized of 5 partitions" in logged[0], logged
    assert "WARNING" not in logged[0]


def test_one_partition_loads_its_frame_and_a_missing_one_still_raises(store):
    assert store.load_input(_input(partition_key="2026-03-04"))["day"].tolist() == ["2026-03-04"]
    with pytest.raises(FileNotFoundError):
        store.load_input(_input(partition_key="2026-03-03"))
    with pytest.raises(FileNotFoundError):  # without allow_missing_partitions, every day must exist
        store.load_input(_input(asset_partition_key_range=dg.PartitionKeyRange("2026-03-01", "2026-03-05")))

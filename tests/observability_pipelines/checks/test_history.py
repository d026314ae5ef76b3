"""Earlier partition keys listed in one call are the ones Dagster's own window-by-window stepping gives, for
every kind of time partitioning (DST hours, weekdays-only crons, months) and at the first partitions."""

from __future__ import annotations

import dagster as dg
import pytest

from observability_pipelines.checks.history import _stepped_time_keys, earlier_partition_keys

DEFINITIONS = {
    "daily": dg.DailyPartitionsDefinition(start_date="2026-01-01"),
    "hourly_dst": dg.HourlyPartitionsDefinition(start_date="2026-03-07-00:00", timezone="America/New_York"),
    "weekly": dg.WeeklyPartitionsDefinition(start_date="2020-01-01"),
    "monthly": dg.MonthlyPartitionsDefinition(start_date="2005-01-01"),
    "weekdays": dg.TimeWindowPartitionsDefinition(cron_schedule="0 0 * * 1-5", start="2026-01-01", fmt="%Y-%m-%d"),
}


@pytest.mark.parametrize("name", DEFINITIONS)
def test_earlier_keys_are_dagsters_stepped_windows(name):
    partitions_def = DEFINITIONS[name]
    keys = partitions_def.get_partition_keys()[:200]
    for key in (keys[0], keys[1], keys[6], keys[100], keys[-1]):
        window = partitions_def.time_window_for_partition_key(key)
        for n in (0, 1, 7, 21, 90, 300):
            assert earlier_partition_keys(partitions_def, key, n) == _stepped_time_keys(partitions_def, window, n)
    assert earlier_partition_keys(partitions_def, keys[100], 7) == list(reversed(keys[93:100]))


def test_static_partitions_count_back_in_their_order():
    partitions_def = dg.StaticPartitionsDefinition(["a", "b", "c", "d"])
    assert earlier_partition_keys(partitions_def, "c", 5) == ["b", "a"]
    assert earlier_partition_keys(partitions_def, "zz", 5) == []

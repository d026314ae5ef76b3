import datetime as dt

import dagster as dg

PARTITIONS_START = "2026-01-01"
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START)


def previous_day(partition_key: str) -> str:
    return (dt.date.fromisoformat(partition_key) - dt.timedelta(days=1)).isoformat()

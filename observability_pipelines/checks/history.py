"""Earlier partitions of an asset, found in the Dagster instance and loaded through the asset's own IO manager.

Drift compares a partition with the ones before it; nothing here knows how or where the values are stored:
existence comes from the instance's materialization records, values from the asset's own IO manager (a
resource of the checking step, given an ``InputContext`` per partition), so any IO manager works.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import dagster as dg


def earlier_partition_keys(partitions_def: dg.PartitionsDefinition, key: str, n: int) -> list[str]:
    """Up to ``n`` partition keys before ``key``, most recent first."""
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        return _earlier_time_keys(partitions_def, key, n)
    keys = list(partitions_def.get_partition_keys())
    if key not in keys:
        return []
    i = keys.index(key)
    return list(reversed(keys[max(0, i - n):i]))


def _earlier_time_keys(partitions_def: dg.TimeWindowPartitionsDefinition, key: str, n: int) -> list[str]:
    """The keys of the time windows before ``key``'s, listed in one call for a span estimated from ``key``'s own
    window (widened until it holds ``n`` or reaches the first partition): stepping back one window at a time
    costs ~0.5 ms a window (cron iteration), 45 ms for a 30-day drift check's 90 candidates.
    ``get_partition_keys_in_time_window`` is not marked public in Dagster 1.13; without it, the public stepping."""
    if not n:
        return []
    list_keys = getattr(partitions_def, "get_partition_keys_in_time_window", None)
    window = partitions_def.time_window_for_partition_key(key)
    if list_keys is None:
        return _stepped_time_keys(partitions_def, window, n)
    first = partitions_def.start
    span = (window.end - window.start) * (n + 1)
    while True:
        start = max(window.start - span, first)
        keys = list(list_keys(dg.TimeWindow(start, window.start)))
        if len(keys) >= n or start <= first:
            return list(reversed(keys))[:n]
        span *= 2


def _stepped_time_keys(partitions_def: dg.TimeWindowPartitionsDefinition, window, n: int) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        window = partitions_def.get_prev_partition_window(window.start)
        if window is None:
            break
        out.append(partitions_def.get_partition_key_range_for_time_window(window).start)
    return out


def partition_ordinal(partitions_def: dg.PartitionsDefinition, key: str) -> int | None:
    """A number that grows by one from each partition to the next: the start of ``key``'s time window in
    units of its length (daily, hourly, weekly: exact; months of unequal length or weekday-only crons can
    skip, which only moves block boundaries), else its position among the keys. An alignment hint for
    pre-merged window blocks (``window_blocks``), never part of an answer."""
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        window = partitions_def.time_window_for_partition_key(key)
        length = (window.end - window.start).total_seconds()
        return round(window.start.timestamp() / length) if length > 0 else None
    keys = list(partitions_def.get_partition_keys())
    return keys.index(key) if key in keys else None


def latest_runs(instance: dg.DagsterInstance, asset_key: dg.AssetKey, keys: Sequence[str]) -> dict[str, str]:
    """The run of the latest materialization of each of ``keys`` that has one (one bounded query)."""
    return {k: r.run_id for k, r in latest_records(instance, asset_key, keys).items()}


def latest_records(instance: dg.DagsterInstance, asset_key: dg.AssetKey, keys: Sequence[str]) -> dict:
    """The latest materialization record (``EventLogRecord``) of each of ``keys`` that has one."""
    if not keys:
        return {}
    found: dict = {}
    cursor = None
    while True:  # newest first, so the first record seen of a partition is its latest
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=list(keys)), limit=500, cursor=cursor)
        for record in page.records:
            if record.partition_key:
                found.setdefault(record.partition_key, record)
        if not page.has_more or len(found) >= len(set(keys)):
            return found
        cursor = page.cursor


def materialized_keys(instance: dg.DagsterInstance, asset_key: dg.AssetKey, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` have at least one materialization."""
    return set(latest_runs(instance, asset_key, keys))


def load_partitions(context, io_manager_key: str, asset_key: dg.AssetKey, partitions_def: dg.PartitionsDefinition,
                    keys: Sequence[str]) -> Iterator[tuple[str, object]]:
    """(key, value) of each partition, loaded by the asset's own IO manager (a resource of the step)."""
    if not keys:
        return  # nothing to load: the IO manager (a resource of the step) is not even looked up
    io_manager = getattr(context.resources, io_manager_key)
    for key in keys:
        input_context = dg.build_input_context(asset_key=asset_key, partition_key=key,
                                               asset_partitions_def=partitions_def, instance=context.instance)
        yield key, io_manager.load_input(input_context)

"""The latest run of each partition of an asset, kept beside the drift profiles so that a check reads only the
materialization records written since the previous check, not one per partition of its window.

Asking the instance for the latest record of a window's 3 x ``window`` candidate partitions deserializes every
record found (~0.3 ms each, with its metadata): a 30-partition window cost twice a 7-partition one in records
alone. The index keeps ``{partition: [storage_id, run_id] | None}`` (None: no materialization as of ``cursor``)
and the event-log ``cursor`` it is complete up to; each call reads the records after ``cursor`` (usually the
one or two since the last check) and asks only about partitions it has never seen. Each writer's index is
complete up to its own cursor, so a lost update between two concurrent checks only costs a later re-query.
Each call also reads the cursor's own record: when it is gone (the asset's history wiped, or the index came
from another instance's event log), the index is rebuilt from the instance.
Only the public ``DagsterInstance.fetch_materializations`` is used.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import dagster as dg

from observability_pipelines.checks.drift_store import DriftStore
from observability_pipelines.checks.history import latest_records

INDEX_NAME = "latest_runs"
PAGE = 500
MAX_ENTRIES = 400  # partitions remembered: a year of daily ones; the file stays ~25 kB


def indexed_latest_runs(instance: dg.DagsterInstance, store: DriftStore, asset_key: dg.AssetKey,
                        keys: Sequence[str]) -> dict[str, str]:
    """``history.latest_runs(instance, asset_key, keys)``, answered from the index and the records since it."""
    index = _load(store, asset_key)
    runs: dict[str, list | None] = index["runs"]
    touched: set[str] = set()
    if index["cursor"] is None:
        cursor = _newest_storage_id(instance, asset_key)
    else:
        start = cursor = index["cursor"]
        seen_start = False
        for record in _records_after(instance, asset_key, start - 1):  # the cursor's own record: still there?
            seen_start |= record.storage_id == start
            cursor = max(cursor, record.storage_id)
            if record.partition_key and _newer(runs.get(record.partition_key), record.storage_id):
                runs[record.partition_key] = [record.storage_id, record.run_id]
                touched.add(record.partition_key)
        if not seen_start:  # the records it was built from are gone (asset wiped, another instance)
            store.save_state(asset_key, INDEX_NAME, {"cursor": None, "runs": {}})
            return indexed_latest_runs(instance, store, asset_key, keys)
    unknown = [k for k in dict.fromkeys(keys) if k not in runs]
    found = latest_records(instance, asset_key, unknown)
    for key in unknown:
        record = found.get(key)
        runs[key] = [record.storage_id, record.run_id] if record is not None else None
    store.save_state(asset_key, INDEX_NAME, {"cursor": cursor, "runs": _bounded(runs, {*keys, *touched})})
    return {k: runs[k][1] for k in keys if runs.get(k) is not None}


def _bounded(runs: dict[str, list | None], needed: set[str]) -> dict[str, list | None]:
    """At most ``MAX_ENTRIES`` (or the needed ones), the most recently materialized first: what is dropped is
    asked again when a window reaches back to it."""
    limit = max(MAX_ENTRIES, 2 * len(needed))
    if len(runs) <= limit:
        return runs
    order = sorted(runs, key=lambda k: (k in needed, runs[k][0] if runs[k] else -1), reverse=True)
    return {k: runs[k] for k in order[:limit]}


def _load(store: DriftStore, asset_key: dg.AssetKey) -> dict:
    index = store.load_state(asset_key, INDEX_NAME)
    ok = (isinstance(index, dict) and isinstance(index.get("runs"), dict)
          and (index.get("cursor") is None or isinstance(index.get("cursor"), int)))
    return index if ok else {"cursor": None, "runs": {}}  # missing or foreign: rebuilt from the instance


def _newer(entry: list | None, storage_id: int) -> bool:
    return entry is None or not isinstance(entry, list) or entry[0] < storage_id


def _newest_storage_id(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> int:
    page = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=asset_key), limit=1)
    return page.records[0].storage_id if page.records else 0


def _records_after(instance: dg.DagsterInstance, asset_key: dg.AssetKey, cursor: int) -> Iterator:
    page_cursor = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, after_storage_id=cursor), limit=PAGE, cursor=page_cursor)
        yield from page.records
        if not page.has_more:
            return
        page_cursor = page.cursor

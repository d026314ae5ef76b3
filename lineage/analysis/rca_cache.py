"""What RCA reads from a store, kept per open store object: a repeated or overlapping question reads only what changed.

**Snapshots.**
A dataset's snapshots (:func:`lineage.analysis.observations.load_snapshots`) depend only on the rows
that mention it: its input/output edges, its facets, and the states and run facets of the runs that
touched it. Each read first probes the largest id of those tables (one round trip). Nothing new: the
kept snapshots are the store's. New rows on SQLite (one writer at a time, so ids grow in commit order):
only the datasets they touch are read again. Anything else — a deletion (prune, quarantine: the audit
log grows), or a change on a database with concurrent writers, where a lower id can commit late —
drops everything kept. The snapshots handed out are shared: callers read them, never modify them.

**Lineage and evidence.** The lineage a question was answered with (built by the caller, keyed by symptom
and time) and its ancestors' chosen versions and evidence (keyed by the symptom's version, partition and
labels), kept until the store changes at all: a repeated question only ranks.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from lineage.analysis.observations import DatasetSnapshot, load_snapshots
from lineage.store import reads

if TYPE_CHECKING:
    from lineage.store import LineageStore

T = TypeVar("T")
LINEAGES_KEPT = 64


class RCACache:
    """Snapshots per dataset id and lineages per question, valid as of the last probe of the store."""

    def __init__(self) -> None:
        self._probe: dict[str, int] | None = None
        self._series: dict[int, list[DatasetSnapshot]] = {}
        self._lineages: dict[Hashable, Any] = {}
        self._judged: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self.datasets_read = 0  # how many datasets were loaded from the store (tests, benchmarks)
        self.lineages_built = 0
        self.judgements_built = 0

    def load(self, conn: Any, dataset_ids: Sequence[int]) -> dict[int, list[DatasetSnapshot]]:
        """What ``load_snapshots(conn, dataset_ids)`` returns, reading only datasets not kept."""
        with self._lock:
            self._sync(conn)
            missing = sorted({i for i in dataset_ids if i not in self._series})
            if missing:
                found = load_snapshots(conn, missing)
                self._series.update({i: found.get(i, []) for i in missing})
                self.datasets_read += len(missing)
            return {i: self._series[i] for i in dataset_ids if self._series[i]}

    def lineage(self, key: Hashable, build: Callable[[], T]) -> T:
        """The lineage kept under ``key`` since the last probe found no change, else ``build()`` (kept)."""
        found, built = self._kept(self._lineages, key, build)
        self.lineages_built += built
        return found

    def judged(self, key: Hashable, build: Callable[[], T]) -> T:
        """The evidence of a question's ancestors (its versions and their verdicts), kept like a lineage."""
        found, built = self._kept(self._judged, key, build)
        self.judgements_built += built
        return found

    def _kept(self, kept: dict[Hashable, Any], key: Hashable, build: Callable[[], T]) -> tuple[T, bool]:
        with self._lock:
            found = kept.get(key)
        if found is not None:
            return found, False
        found = build()
        with self._lock:
            if len(kept) >= LINEAGES_KEPT:
                kept.pop(next(iter(kept)))
            kept[key] = found
        return found, True

    def _sync(self, conn: Any) -> None:
        probe = reads.rca_change_probe(conn)
        old, self._probe = self._probe, probe
        if old == probe:
            return
        self._lineages.clear()
        self._judged.clear()
        if not self._series:
            return
        incremental = (old is not None and conn.dialect.name == "sqlite" and old["audit"] == probe["audit"]
                       and all(probe[k] >= v for k, v in old.items()))
        if not incremental:
            self._series.clear()
            return
        for dataset_id in reads.rca_touched_datasets(conn, old):  # type: ignore[arg-type]
            self._series.pop(dataset_id, None)


_caches: weakref.WeakKeyDictionary[LineageStore, RCACache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_for(store: LineageStore) -> RCACache:
    """The store's one RCA cache (created on first use, gone with the store object)."""
    with _caches_lock:
        cache = _caches.get(store)
        if cache is None:
            cache = _caches[store] = RCACache()
        return cache

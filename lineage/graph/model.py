"""In-memory networkx view of the lineage store, built incrementally.

Two directed graphs are kept per store:

* the job graph: nodes `("dataset", id)` and `("job", id)`; an input edge runs dataset -> job, an
  output edge job -> dataset. Edge attributes `first_seen` / `last_seen` (naive UTC) let a
  query see the graph as it was at any time without re-reading the store.
* the column graph: nodes `(dataset_id, field)` where `field` None stands for "the whole
  dataset" (dependencies from the ColumnLineage facet's `dataset` list); edges carry the jobs
  and transformations that connect the two columns.

Every query calls `refresh()`, which reads only the edge rows added since the last call (a
high-water mark on the insert-only edge tables). PostgreSQL can commit a lower id after a higher
one (two concurrent transactions), so ids skipped over are remembered as gaps and re-checked on
the next refreshes until they appear or are old enough to be rollbacks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import networkx as nx
from sqlalchemy import Connection, Row, select

from lineage.store import tables as t

if TYPE_CHECKING:
    from lineage.store import LineageStore

Node = tuple[str, int]  # ("dataset" | "job", row id)
ColumnNode = tuple[int, str | None]  # (dataset id, field or None for the whole dataset)

# A transaction still open after this long is not expected; its ids are treated as rolled back.
GAP_TTL_SECONDS = 120.0
MAX_TRACKED_GAPS = 50_000
_IN_CHUNK = 500


@dataclass
class _Cursor:
    """High-water mark over one insert-only table, plus ids skipped that may still commit."""

    high_water: int = 0
    gaps: dict[int, float] = field(default_factory=dict)

    def fetch(self, conn: Connection, table: Any, columns: Sequence[Any]) -> list[Row[Any]]:
        now = time.monotonic()
        rows = list(conn.execute(select(*columns).where(table.c.id > self.high_water).order_by(table.c.id)))
        if self.gaps:
            expired = [i for i, seen in self.gaps.items() if now - seen > GAP_TTL_SECONDS]
            for i in expired:
                del self.gaps[i]
            pending = sorted(self.gaps)
            for start in range(0, len(pending), _IN_CHUNK):
                chunk = pending[start : start + _IN_CHUNK]
                late = list(conn.execute(select(*columns).where(table.c.id.in_(chunk))))
                for row in late:
                    self.gaps.pop(row.id, None)
                rows.extend(late)
        previous = self.high_water
        for row in rows:
            if row.id > previous:
                for missing in range(previous + 1, row.id):
                    if len(self.gaps) < MAX_TRACKED_GAPS:
                        self.gaps[missing] = now
                previous = row.id
        self.high_water = previous
        return rows


class LineageGraph:
    """Graph of one store. Use `with graph.snapshot():` to refresh and read consistently."""

    def __init__(self, store: LineageStore) -> None:
        self.store = store
        self.jobs_graph: nx.DiGraph = nx.DiGraph()
        self.columns_graph: nx.DiGraph = nx.DiGraph()
        self.fields_by_dataset: dict[int, set[str]] = {}
        self._dataset_names: dict[int, tuple[str, str]] = {}
        self._job_names: dict[int, tuple[str, str]] = {}
        self._io_cursor = _Cursor()
        self._column_cursor = _Cursor()
        self._lock = threading.RLock()
        self.refresh_count = 0
        self.rows_read = 0

    @contextmanager
    def snapshot(self) -> Iterator[LineageGraph]:
        """Refresh from the store, then hold the lock while the caller traverses."""
        with self._lock:
            self.refresh()
            yield self

    def refresh(self) -> int:
        """Read edge rows added since the last refresh; returns how many were read."""
        with self._lock, self.store.read() as conn:
            io_rows = self._io_cursor.fetch(
                conn,
                t.io_edges,
                [t.io_edges.c.id, t.io_edges.c.dataset_id, t.io_edges.c.job_id, t.io_edges.c.direction, t.io_edges.c.event_time],
            )
            col_rows = self._column_cursor.fetch(
                conn,
                t.column_edges,
                [
                    t.column_edges.c.id,
                    t.column_edges.c.src_dataset_id,
                    t.column_edges.c.src_field,
                    t.column_edges.c.dst_dataset_id,
                    t.column_edges.c.dst_field,
                    t.column_edges.c.job_id,
                    t.column_edges.c.transformation_type,
                    t.column_edges.c.transformation_subtype,
                    t.column_edges.c.event_time,
                ],
            )
            for row in io_rows:
                dataset, job = ("dataset", row.dataset_id), ("job", row.job_id)
                source, target = (dataset, job) if row.direction == "in" else (job, dataset)
                _touch_edge(self.jobs_graph, source, target, row.event_time)
            for row in col_rows:
                source_col: ColumnNode = (row.src_dataset_id, row.src_field)
                target_col: ColumnNode = (row.dst_dataset_id, row.dst_field)
                attrs = _touch_edge(self.columns_graph, source_col, target_col, row.event_time)
                if row.job_id is not None:
                    attrs.setdefault("jobs", set()).add(row.job_id)
                if row.transformation_type is not None:
                    attrs.setdefault("transformations", set()).add(
                        (row.transformation_type, row.transformation_subtype)
                    )
                self.fields_by_dataset.setdefault(row.src_dataset_id, set()).add(row.src_field)
                if row.dst_field is not None:
                    self.fields_by_dataset.setdefault(row.dst_dataset_id, set()).add(row.dst_field)
            read = len(io_rows) + len(col_rows)
            self.refresh_count += 1
            self.rows_read += read
            return read

    # -------------------------------------------------------------- names
    def dataset_name(self, dataset_id: int) -> tuple[str, str]:
        return self.names([("dataset", dataset_id)])[("dataset", dataset_id)]

    def names(self, nodes: Iterable[Node]) -> dict[Node, tuple[str, str]]:
        """(namespace, name) per node, loading unknown ids from the store in chunks."""
        wanted = list(nodes)
        caches = {"dataset": (self._dataset_names, t.datasets), "job": (self._job_names, t.jobs)}
        for kind, (cache, table) in caches.items():
            missing = sorted({i for k, i in wanted if k == kind and i not in cache})
            if not missing:
                continue
            with self.store.read() as conn:
                for start in range(0, len(missing), _IN_CHUNK):
                    chunk = missing[start : start + _IN_CHUNK]
                    query = select(table.c.id, table.c.namespace, table.c.name).where(table.c.id.in_(chunk))
                    for row in conn.execute(query):
                        cache[row.id] = (row.namespace, row.name)
        return {node: caches[node[0]][0][node[1]] for node in wanted}

    # -------------------------------------------------------------- traversal
    def traverse(
        self,
        start: Node,
        *,
        upstream: bool,
        max_depth: int | None = None,
        as_of: datetime | None = None,
    ) -> tuple[dict[Node, int], list[tuple[Node, Node]]]:
        """Breadth-first walk. Returns node -> distance and the traversed edges (source, target).

        Distance counts job hops: from a dataset, its producing job and that job's inputs are
        both at distance 1. `max_depth` None means no limit.
        """
        graph = self.jobs_graph
        distances: dict[Node, int] = {start: 0}
        edges: list[tuple[Node, Node]] = []
        if start not in graph:
            return distances, edges
        neighbours = graph.pred if upstream else graph.succ
        max_hops = None if max_depth is None else 2 * max_depth
        frontier = [start]
        hops = 0
        while frontier and (max_hops is None or hops < max_hops):
            hops += 1
            distance = (hops + 1) // 2
            next_frontier: list[Node] = []
            for node in frontier:
                for other, attrs in neighbours[node].items():
                    if as_of is not None and attrs["first_seen"] > as_of:
                        continue
                    edges.append((other, node) if upstream else (node, other))
                    if other not in distances:
                        distances[other] = distance
                        next_frontier.append(other)
            frontier = next_frontier
        return distances, edges

    def view(self, as_of: datetime | None) -> nx.DiGraph:
        """The job graph restricted to edges first seen at or before `as_of` (a cheap view)."""
        if as_of is None:
            return self.jobs_graph
        return nx.subgraph_view(
            self.jobs_graph, filter_edge=lambda u, v: self.jobs_graph[u][v]["first_seen"] <= as_of
        )

    def column_view(self, as_of: datetime | None) -> nx.DiGraph:
        if as_of is None:
            return self.columns_graph
        return nx.subgraph_view(
            self.columns_graph, filter_edge=lambda u, v: self.columns_graph[u][v]["first_seen"] <= as_of
        )


def _touch_edge(graph: nx.DiGraph, source: Any, target: Any, when: datetime) -> dict[str, Any]:
    succ = graph.succ.get(source)
    attrs = succ.get(target) if succ is not None else None
    if attrs is None:
        graph.add_edge(source, target, first_seen=when, last_seen=when)
        return graph.succ[source][target]
    if when < attrs["first_seen"]:
        attrs["first_seen"] = when
    if when > attrs["last_seen"]:
        attrs["last_seen"] = when
    return attrs

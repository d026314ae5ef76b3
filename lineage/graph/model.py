"""In-memory networkx view of the lineage store, built incrementally.

Nodes are `("dataset", id)` and `("job", id)`. An input edge runs dataset -> job, an output edge
job -> dataset; the explicit `lineage` facet and a static DatasetEvent's column lineage add
dataset -> dataset (and job -> job) edges. Columns are `(dataset_id, field)` nodes, `field` None
standing for "the whole dataset" (the ColumnLineage facet's `dataset` list).

**Current lineage follows Marquez's job versions.** Every edge row belongs to a unit: a run, or a
run-less event (a JobEvent, a DatasetEvent), of an owner: the job, or for a DatasetEvent the
dataset it describes. A job's version is what its run read and wrote, so the job's current
lineage is that of its latest completed run (the latest run when none completed yet); runs
reporting no lineage at all do not change it. A job that stopped reading a dataset no longer
has it as an input, while `view(as_of)` / `traverse(..., as_of=...)` give the lineage that was
current at `as_of`, old edges included. `jobs_graph` / `columns_graph` hold every edge ever seen
(built on first use: queries read the views).

Every query calls `refresh()`, which reads only the rows added since the last call (a high-water
mark per insert-only table). PostgreSQL can commit a lower id after a higher one (two concurrent
transactions), so ids skipped over are remembered as gaps and re-checked on the next refreshes
until they appear or are old enough to be rollbacks.
"""

from __future__ import annotations

import heapq
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lineage.store import reads
from lineage.store.database import to_naive_utc

if TYPE_CHECKING:
    import networkx as nx
    from sqlalchemy import Connection

    from lineage.store import LineageStore

Node = tuple[str, int]  # ("dataset" | "job", row id)
ColumnNode = tuple[int, str | None]  # (dataset id, field or None for the whole dataset)
Edge = tuple[Node, Node]
ColumnEdge = tuple[ColumnNode, ColumnNode]
Owner = tuple[str, int]  # ("job", id), or ("dataset", id) for a DatasetEvent's declarations
UnitKey = tuple[str, int]  # ("run", run id) or ("event", event id) for run-less events
# (time, job id, (transformation type, subtype) or None): one column edge row.
ColumnHit = tuple[datetime, int | None, tuple[str, str | None] | None]

# A transaction still open after this long is not expected; its ids are treated as rolled back.
GAP_TTL_SECONDS = 120.0
MAX_TRACKED_GAPS = 50_000
AS_OF_VIEWS_KEPT = 16  # point-in-time graphs cached until the store changes
COMPLETE = "COMPLETE"


@dataclass
class _Cursor:
    """High-water mark over one insert-only table, plus ids skipped that may still commit."""

    source: str  # a key of `reads.GRAPH_SOURCES`
    high_water: int = 0
    gaps: dict[int, float] = field(default_factory=dict)

    def fetch(self, conn: Connection) -> list[tuple[Any, ...]]:
        """New rows (plain tuples, id first) and any late ones among the remembered gaps."""
        now = time.monotonic()
        rows = reads.graph_rows_after(conn, self.source, self.high_water)
        if self.gaps:
            for i in [i for i, seen in self.gaps.items() if now - seen > GAP_TTL_SECONDS]:
                del self.gaps[i]
            late = reads.graph_rows_by_id(conn, self.source, self.gaps) if self.gaps else []
            for row in late:
                self.gaps.pop(row[0], None)
        else:
            late = []
        if rows and rows[-1][0] - self.high_water != len(rows):  # ids skipped: remember them
            previous = self.high_water
            for row in rows:
                for missing in range(previous + 1, row[0]):
                    if len(self.gaps) >= MAX_TRACKED_GAPS:
                        break
                    self.gaps[missing] = now
                previous = row[0]
        if rows:
            self.high_water = rows[-1][0]
        return rows + late


@dataclass
class _Unit:
    """The edges one run (or run-less event) reported, with the times they were reported."""

    key: UnitKey
    owner: Owner
    started: datetime
    completed: datetime | None = None
    edges: dict[Edge, list[datetime]] = field(default_factory=dict)
    columns: dict[ColumnEdge, list[ColumnHit]] = field(default_factory=dict)

    def order(self, as_of: datetime | None) -> tuple[int, datetime, UnitKey] | None:
        """Rank among the owner's units at `as_of` (completed ones first); None if not yet seen."""
        if self.completed is not None and (as_of is None or self.completed <= as_of):
            return (1, self.completed, self.key)
        if as_of is None or self.started <= as_of:
            return (0, self.started, self.key)
        return None


class LineageGraph:
    """Graph of one store. Use `with graph.snapshot():` to refresh and read consistently."""

    def __init__(self, store: LineageStore) -> None:
        self._store = weakref.ref(store)  # the graph cache is keyed by the store: no cycle
        self.fields_by_dataset: dict[int, set[str]] = {}
        # Every edge ever seen -> first_seen / last_seen (and jobs, transformations for columns).
        self._edge_attrs: dict[Edge, dict[str, Any]] = {}
        self._column_attrs: dict[ColumnEdge, dict[str, Any]] = {}
        self._history: tuple[nx.DiGraph, nx.DiGraph] | None = None
        self._dataset_names: dict[int, tuple[str, str]] = {}
        self._job_names: dict[int, tuple[str, str]] = {}
        self._cursors = {name: _Cursor(name) for name in reads.GRAPH_SOURCES}
        self._units: dict[UnitKey, _Unit] = {}
        self._owner_units: dict[Owner, set[UnitKey]] = {}
        self._owner_latest: dict[Owner, datetime] = {}  # latest time any of the owner's units reported
        self._completed: dict[int, datetime] = {}  # run id -> first COMPLETE
        self._dirty: set[Owner] = set()
        self._current = _Selection()
        self._as_of_views: dict[datetime, tuple[nx.DiGraph, nx.DiGraph]] = {}
        self._lock = threading.RLock()
        self.refresh_count = 0
        self.rows_read = 0

    @property
    def store(self) -> LineageStore:
        store = self._store()
        if store is None:
            raise RuntimeError("the store of this lineage graph was closed and collected")
        return store

    @property
    def jobs_graph(self) -> nx.DiGraph:
        """Every job-graph edge ever seen, whatever the job's current version (do not modify)."""
        return self._history_graphs()[0]

    @property
    def columns_graph(self) -> nx.DiGraph:
        """Every column edge ever seen (do not modify)."""
        return self._history_graphs()[1]

    def _history_graphs(self) -> tuple[nx.DiGraph, nx.DiGraph]:
        import networkx as nx  # here, not at import: `obs` reads that build no graph skip its ~0.1 s import

        with self._lock:
            if self._history is None:
                jobs, columns = nx.DiGraph(), nx.DiGraph()
                jobs.add_edges_from((u, v, dict(a)) for (u, v), a in self._edge_attrs.items())
                columns.add_edges_from((u, v, _copy_column_attrs(a)) for (u, v), a in self._column_attrs.items())
                self._history = (jobs, columns)
            return self._history

    # Kept for callers of the former attribute name.
    @property
    def _io_cursor(self) -> _Cursor:
        return self._cursors["io"]

    @contextmanager
    def snapshot(self) -> Iterator[LineageGraph]:
        """Refresh from the store, then hold the lock while the caller traverses."""
        with self._lock:
            self.refresh()
            yield self

    def refresh(self) -> int:
        """Read rows added since the last refresh; returns how many were read."""
        with self._lock, self.store.read() as conn:
            # One probe of the tables' largest ids first: most refreshes find nothing new.
            latest = reads.graph_high_waters(conn)
            rows = {name: cursor.fetch(conn) if latest[name] > cursor.high_water or cursor.gaps else []
                    for name, cursor in self._cursors.items()}
            self._apply_states(rows["states"])
            self._apply_io(rows["io"])
            self._apply_declared(rows["declared"])
            self._apply_columns([*rows["columns"], *rows["declared_columns"]])
            self._current.update(self, self._dirty)
            self._dirty.clear()
            read = sum(map(len, rows.values()))
            self.refresh_count += 1
            self.rows_read += read
            if read:
                self._as_of_views.clear()
                self._history = None
            return read

    # Rows are unpacked as plain tuples (columns in `reads.GRAPH_SOURCES` order): a cold build
    # reads every edge row, and attribute access per row was most of its time.
    def _apply_states(self, rows: Sequence[tuple[Any, ...]]) -> None:
        for _id, run_id, event_type, when in rows:
            if event_type != COMPLETE:
                continue
            first = self._completed.get(run_id)
            if first is None or when < first:
                self._completed[run_id] = when
                if (unit := self._units.get(("run", run_id))) is not None:
                    unit.completed = when
                    self._dirty.add(unit.owner)
                    self._touch_owner(unit.owner, when)

    def _apply_io(self, rows: Sequence[tuple[Any, ...]]) -> None:
        attrs, last, unit = self._edge_attrs, None, None
        for _id, event_id, run_id, dataset_id, job_id, direction, when in rows:
            dataset, job = ("dataset", dataset_id), ("job", job_id)
            edge = (dataset, job) if direction == "in" else (job, dataset)
            if (event_id, when) != last:  # the rows of one event share its unit: look it up once
                unit, last = self._unit(run_id, event_id, when, job), (event_id, when)
            unit.edges.setdefault(edge, []).append(when)  # type: ignore[union-attr]
            _touch_edge(attrs, edge, when)

    def _apply_declared(self, rows: Sequence[tuple[Any, ...]]) -> None:
        for _id, event_id, run_id, job_id, src_kind, src_id, dst_kind, dst_id, when in rows:
            owner = ("job", job_id) if job_id is not None else (dst_kind, dst_id)
            edge = ((src_kind, src_id), (dst_kind, dst_id))
            self._unit(run_id, event_id, when, owner).edges.setdefault(edge, []).append(when)
            _touch_edge(self._edge_attrs, edge, when)

    def _apply_columns(self, rows: Sequence[tuple[Any, ...]]) -> None:
        attrs_of, fields, last, unit = self._column_attrs, self.fields_by_dataset, None, None
        for _id, event_id, run_id, src_id, src_field, dst_id, dst_field, job_id, ty, subtype, when in rows:
            owner = ("job", job_id) if job_id is not None else ("dataset", dst_id)
            kind = (ty, subtype) if ty is not None else None
            edge = ((src_id, src_field), (dst_id, dst_field))
            if (event_id, when, owner) != last:
                unit, last = self._unit(run_id, event_id, when, owner), (event_id, when, owner)
            unit.columns.setdefault(edge, []).append((when, job_id, kind))  # type: ignore[union-attr]
            attrs = attrs_of.get(edge)
            if attrs is None:  # a new column edge: its fields are new too, maybe
                attrs = attrs_of[edge] = {"first_seen": when, "last_seen": when}
                fields.setdefault(src_id, set()).add(src_field)
                if dst_field is not None:
                    fields.setdefault(dst_id, set()).add(dst_field)
            else:
                _touch_edge(attrs_of, edge, when)
            if job_id is not None:
                attrs.setdefault("jobs", set()).add(job_id)
            if kind is not None:
                attrs.setdefault("transformations", set()).add(kind)

    def _unit(self, run_id: int | None, event_id: int, when: datetime, owner: Owner) -> _Unit:
        key: UnitKey = ("run", run_id) if run_id is not None else ("event", event_id)
        unit = self._units.get(key)
        if unit is None:
            completed = self._completed.get(run_id) if run_id is not None else when
            unit = self._units[key] = _Unit(key, owner, when, completed)
            self._owner_units.setdefault(owner, set()).add(key)
            if completed is not None:
                self._touch_owner(owner, completed)
        elif when < unit.started:
            unit.started = when
        if key[0] == "event" and unit.completed is not None and when < unit.completed:
            unit.completed = when
        self._dirty.add(unit.owner)
        self._touch_owner(unit.owner, when)
        return unit

    def _touch_owner(self, owner: Owner, when: datetime) -> None:
        latest = self._owner_latest.get(owner)
        if latest is None or when > latest:
            self._owner_latest[owner] = when

    def selected_unit(self, owner: Owner, as_of: datetime | None) -> _Unit | None:
        """The unit whose lineage is the owner's current version at `as_of` (None: now)."""
        best: tuple[tuple[int, datetime, UnitKey], _Unit] | None = None
        for key in self._owner_units.get(owner, ()):
            unit = self._units[key]
            rank = unit.order(as_of)
            if rank is not None and (best is None or rank > best[0]):
                best = (rank, unit)
        return best[1] if best else None

    # -------------------------------------------------------------- names
    def dataset_name(self, dataset_id: int) -> tuple[str, str]:
        return self.names([("dataset", dataset_id)])[("dataset", dataset_id)]

    def names(self, nodes: Iterable[Node]) -> dict[Node, tuple[str, str]]:
        """(namespace, name) per node, loading unknown ids from the store."""
        wanted = list(nodes)
        caches = {"dataset": self._dataset_names, "job": self._job_names}
        for kind, cache in caches.items():
            missing = {i for k, i in wanted if k == kind and i not in cache}
            if missing:
                with self.store.read() as conn:
                    cache.update(reads.node_names(conn, kind, missing))
        return {node: caches[node[0]][node[1]] for node in wanted}

    # -------------------------------------------------------------- traversal
    def traverse(
        self,
        start: Node,
        *,
        upstream: bool,
        max_depth: int | None = None,
        as_of: datetime | None = None,
    ) -> tuple[dict[Node, int], list[tuple[Node, Node]]]:
        """Walk the lineage current at `as_of` (None: now). Returns node -> distance and the
        traversed edges (source, target).

        Distance counts job hops: from a dataset, its producing job and that job's inputs are
        both at distance 1; a dataset -> dataset edge (declared lineage) is one hop too.
        `max_depth` None means no limit.
        """
        graph = self.view(as_of)
        edges: list[tuple[Node, Node]] = []
        if start not in graph:
            return {start: 0}, edges
        neighbours = graph.pred if upstream else graph.succ
        limit = None if max_depth is None else 2 * max_depth  # in half hops
        best: dict[Node, int] = {start: 0}
        heap = [(0, start)]
        while heap:
            halves, node = heapq.heappop(heap)
            if halves > best[node]:
                continue
            for other in neighbours[node]:
                reached = halves + (1 if other[0] != node[0] else 2)
                if limit is not None and reached > limit:
                    continue
                edges.append((other, node) if upstream else (node, other))
                if reached < best.get(other, reached + 1):
                    best[other] = reached
                    heapq.heappush(heap, (reached, other))
        return {node: (halves + 1) // 2 for node, halves in best.items()}, edges

    def view(self, as_of: datetime | None) -> nx.DiGraph:
        """The job graph current at `as_of` (None: now). Edges carry `first_seen` (first time
        ever) and `last_seen` (latest report in the current version); do not modify it."""
        return self._views(as_of)[0]

    def column_view(self, as_of: datetime | None) -> nx.DiGraph:
        """The column graph current at `as_of`; edges carry `jobs` and `transformations`."""
        return self._views(as_of)[1]

    def _views(self, as_of: datetime | None) -> tuple[nx.DiGraph, nx.DiGraph]:
        if as_of is None:
            return self._current.graph, self._current.columns
        as_of = to_naive_utc(as_of)  # the store's times are naive UTC
        with self._lock:
            cached = self._as_of_views.get(as_of)
            if cached is None:
                cached = self._as_of_selection(as_of)
                if len(self._as_of_views) >= AS_OF_VIEWS_KEPT:
                    self._as_of_views.pop(next(iter(self._as_of_views)))
                self._as_of_views[as_of] = cached
            return cached

    def _as_of_selection(self, as_of: datetime) -> tuple[nx.DiGraph, nx.DiGraph]:
        """Owners that reported nothing after `as_of` have the same version then as now: start
        from the current selection and re-select only the others (a recent `as_of` is cheap)."""
        later = [owner for owner, latest in self._owner_latest.items() if latest > as_of]
        if not later:
            return self._current.graph, self._current.columns
        selection = self._current.copy()
        selection.update(self, later, as_of)
        return selection.graph, selection.columns

    def dataset_graph(self, as_of: datetime | None = None) -> nx.DiGraph:
        """Datasets only: an edge where data flows from one dataset to another (through a job
        or declared directly), as current at `as_of`."""
        import networkx as nx

        graph = self.view(as_of)
        out = nx.DiGraph()
        for node in graph:
            if node[0] != "dataset":
                continue
            out.add_node(node[1])
            for nxt in graph.succ[node]:
                targets = [nxt] if nxt[0] == "dataset" else [d for d in graph.succ[nxt] if d[0] == "dataset"]
                out.add_edges_from((node[1], d[1]) for d in targets)
        return out


class _Selection:
    """The edges of each owner's selected unit, merged into one job graph and one column graph."""

    def __init__(self) -> None:
        import networkx as nx

        self.graph: nx.DiGraph = nx.DiGraph()
        self.columns: nx.DiGraph = nx.DiGraph()
        self.selected: dict[Owner, _Unit] = {}
        self.edge_owners: dict[Edge, frozenset[Owner]] = {}
        self.column_owners: dict[ColumnEdge, frozenset[Owner]] = {}
        self.edges_present: set[Edge] = set()
        self.columns_present: set[ColumnEdge] = set()

    def copy(self) -> _Selection:
        other = _Selection()
        other.graph, other.columns = self.graph.copy(), self.columns.copy()
        other.selected = dict(self.selected)
        other.edge_owners, other.column_owners = dict(self.edge_owners), dict(self.column_owners)
        other.edges_present, other.columns_present = set(self.edges_present), set(self.columns_present)
        return other

    def update(self, graph: LineageGraph, owners: Iterable[Owner], as_of: datetime | None = None) -> None:
        touched: set[Edge] = set()
        touched_columns: set[ColumnEdge] = set()
        for owner in owners:
            old = self.selected.pop(owner, None)
            new = graph.selected_unit(owner, as_of)
            for unit, add in ((old, False), (new, True)):
                if unit is None:
                    continue
                for edge in unit.edges:
                    _mark(self.edge_owners, edge, owner, add)
                    touched.add(edge)
                for column_edge in unit.columns:
                    _mark(self.column_owners, column_edge, owner, add)
                    touched_columns.add(column_edge)
            if new is not None:
                self.selected[owner] = new
        for edge in touched:
            self._set_edge(graph, edge, as_of)
        for column_edge in touched_columns:
            self._set_column(column_edge, as_of)

    def _set_edge(self, graph: LineageGraph, edge: Edge, as_of: datetime | None) -> None:
        owners = self.edge_owners.get(edge, ())
        times = [x for o in owners for x in self.selected[o].edges[edge] if as_of is None or x <= as_of]
        if not times:
            self._remove(self.graph, self.edges_present, edge)
            return
        first = min(graph._edge_attrs[edge]["first_seen"], *times)
        self.graph.add_edge(edge[0], edge[1], first_seen=first, last_seen=max(times))
        self.edges_present.add(edge)

    def _set_column(self, column_edge: ColumnEdge, as_of: datetime | None) -> None:
        owners = self.column_owners.get(column_edge, ())
        hits = [h for o in owners for h in self.selected[o].columns[column_edge] if as_of is None or h[0] <= as_of]
        if not hits:
            self._remove(self.columns, self.columns_present, column_edge)
            return
        times = [h[0] for h in hits]
        self.columns.add_edge(column_edge[0], column_edge[1], first_seen=min(times), last_seen=max(times),
                              jobs={h[1] for h in hits if h[1] is not None},
                              transformations={h[2] for h in hits if h[2] is not None})
        self.columns_present.add(column_edge)

    @staticmethod
    def _remove(graph: nx.DiGraph, present: set[Any], edge: tuple[Any, Any]) -> None:
        if edge in present:
            present.discard(edge)
            graph.remove_edge(*edge)
            _drop_isolated(graph, edge)


def _mark(owners: dict[Any, frozenset[Owner]], edge: Any, owner: Owner, add: bool) -> None:
    """Frozen sets, replaced rather than changed: a copied selection shares them safely."""
    if add:
        owners[edge] = owners.get(edge, frozenset()) | {owner}
    elif edge in owners:
        left = owners[edge] - {owner}
        if left:
            owners[edge] = left
        else:
            del owners[edge]


def _drop_isolated(graph: nx.DiGraph, edge: tuple[Any, Any]) -> None:
    for node in edge:
        if node in graph and graph.degree(node) == 0:
            graph.remove_node(node)


def _copy_column_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: set(v) if isinstance(v, set) else v for k, v in attrs.items()}


def _touch_edge(index: dict[Any, dict[str, Any]], edge: tuple[Any, Any], when: datetime) -> dict[str, Any]:
    attrs = index.get(edge)
    if attrs is None:
        attrs = index[edge] = {"first_seen": when, "last_seen": when}
        return attrs
    if when < attrs["first_seen"]:
        attrs["first_seen"] = when
    if when > attrs["last_seen"]:
        attrs["last_seen"] = when
    return attrs

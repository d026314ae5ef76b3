"""The lineage upstream of one dataset, built from the rows of that part of the store only.

A cold :class:`~lineage.graph.model.LineageGraph` reads every edge row of the store; a question about
one dataset's ancestors needs only the owners (jobs, datasets describing themselves) of edges into
them. :func:`upstream_graph` grows a graph of the same class from those owners, frontier by frontier:
each node reached upstream gets every owner of an edge into it loaded *whole* (all its runs' rows,
so its version as of any time is chosen exactly as in the full graph), until nothing new is reached.
The first frontier is every dataset input/output edges reach (one recursive query): nodes the walk
would reach anyway, so the rows read are the same, in a few rounds instead of one per level.
Column edges are read into the reached datasets, and out of the start, with their owners loaded
whole too.

What the result answers exactly: the traversal upstream of the start (any ``as_of``); the job view
and the column view restricted to the reached nodes, every edge among them included; the start's
column nodes (also those whose only edges lead downstream); names. Not downstream of anything: a
reached dataset's column that only feeds datasets outside the ancestry is absent here, where the
full graph has it as a node without edges among the ancestors. Assumes what OpenLineage producers
do: a run's events name one job, and column lineage arrives with the output edge of the same event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lineage.graph.model import LineageGraph, Node
from lineage.store import reads

if TYPE_CHECKING:
    from lineage.store import LineageStore

Rows = dict[str, list[tuple[Any, ...]]]
DECLARED_JOB, COLUMN_JOB = 3, 7  # position of job_id in the "declared" and column-edge row tuples


class PartialGraph(LineageGraph):
    """A LineageGraph fed by :func:`upstream_graph` instead of reading the whole store on refresh."""

    def __init__(self, store: LineageStore) -> None:
        super().__init__(store)
        self.loaded_jobs: set[int] = set()
        self._seen: dict[str, set[int]] = {name: set() for name in reads.GRAPH_SOURCES}

    def refresh(self) -> int:
        return 0  # rows come from `load`; the graph answers as of when it was grown

    def load(self, rows: Rows) -> int:
        """Apply rows not applied before, in the order a full refresh applies them."""
        fresh = {name: [r for r in rows.get(name, ()) if r[0] not in self._seen[name]] for name in reads.GRAPH_SOURCES}
        with self._lock:
            for name, kept in fresh.items():
                kept.sort(key=lambda r: r[0])
                self._seen[name].update(r[0] for r in kept)
            self._apply_states(fresh["states"])
            self._apply_io(fresh["io"])
            self._apply_declared(fresh["declared"])
            self._apply_columns([*fresh["columns"], *fresh["declared_columns"]])
            self._current.update(self, self._dirty)
            self._dirty.clear()
            self._as_of_views.clear()
            self._history = None
        return sum(map(len, fresh.values()))


def upstream_graph(store: LineageStore, dataset_id: int) -> PartialGraph:
    """A graph holding everything upstream of the dataset at any time, read in one transaction.

    It grows along every edge ever seen (a superset of the lineage current at any ``as_of``), so the
    point-in-time view is chosen once, by the caller, not at every frontier."""
    graph = PartialGraph(store)
    start: Node = ("dataset", dataset_id)
    preds: dict[Node, set[Node]] = {}
    indexed = 0
    with store.read() as conn:
        # Seeded with what input/output edges alone reach (part of the ancestry, found in one query), the walk
        # reads most rows in its first rounds instead of one round per level; it still finds the rest.
        reached = {start} | {("dataset", i) for i in reads.graph_io_ancestors(conn, dataset_id)}
        frontier = sorted(reached)
        while frontier:
            graph.load(_rows_into(conn, graph, frontier, start))
            edges = list(graph._edge_attrs)  # every edge ever seen, in the order first seen
            for src, dst in edges[indexed:]:
                preds.setdefault(dst, set()).add(src)
            indexed = len(edges)
            # A node's preds are complete once it was expanded: every owner of an edge into it is loaded.
            found = {p for node in frontier for p in preds.get(node, ())} - reached
            reached |= found
            frontier = sorted(found)
    return graph


def _rows_into(conn: Any, graph: PartialGraph, nodes: Iterable[Node], start: Node) -> Rows:
    """Rows of every owner of an edge into the nodes (and of column edges into their datasets, or out of the start)."""
    nodes = list(nodes)
    datasets = sorted(i for kind, i in nodes if kind == "dataset")
    jobs = {i for kind, i in nodes if kind == "job"}
    out_of = [start[1]] if start in nodes else []
    rows: Rows = {name: [] for name in reads.GRAPH_SOURCES}
    rows["declared"] = reads.graph_declared_into(conn, "dataset", datasets)
    for source in ("columns", "declared_columns"):
        rows[source] = reads.graph_columns_touching(conn, source, datasets, out_of)
    owners = jobs | reads.graph_producers(conn, datasets)
    owners |= {r[DECLARED_JOB] for r in rows["declared"] if r[DECLARED_JOB] is not None}
    owners |= {r[COLUMN_JOB] for s in ("columns", "declared_columns") for r in rows[s] if r[COLUMN_JOB] is not None}
    while owners - graph.loaded_jobs:  # an owner's rows may name further owners (declared edges into its job)
        new = owners - graph.loaded_jobs
        graph.loaded_jobs |= new
        for name, found in reads.graph_job_rows(conn, new).items():
            rows[name] += found
        into_jobs = reads.graph_declared_into(conn, "job", new)
        rows["declared"] += into_jobs
        owners |= {r[DECLARED_JOB] for r in into_jobs if r[DECLARED_JOB] is not None}
    return rows

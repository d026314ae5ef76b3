"""Root-cause analysis: from a symptom on one dataset to ranked upstream causes, with evidence and path.

Works on the lineage store alone, so events from any OpenLineage producer take part: failed
``dataQualityAssertions`` (GX, dbt tests, asset checks, on outputs or on a consuming run's inputs),
``test`` run facets, ``drift`` facets, schemas, row counts and column metrics, failed runs.

The symptom is one version of a dataset: its partition when runs carry one, else one run
(``run_id``), the latest at or before a time (``at``), or the latest. Every ancestor in the lineage
*as of that version's run* contributes its version of the same partition (unpartitioned: the
latest written at or before the symptom), judged against its own earlier clean versions
(:mod:`lineage.analysis.evidence`; row counts also against other source datasets of the same
partition, :mod:`lineage.analysis.volume`); an ancestor version written after the version it would
feed (a model trained before today's partition) is no cause. The *earliest* anomalies on the path
are the causes: an anomaly whose columns are fed by an anomalous parent able to produce it
(:mod:`lineage.analysis.propagation`) is an echo. Weights: :mod:`lineage.analysis.weights`.

Speed, never at the cost of a different answer: the lineage comes from the symptom's ancestry alone
(:mod:`lineage.graph.ancestry`) unless the sources walk needs more, and snapshots, lineage and the
ancestors' evidence are kept per store object until the store changes (:mod:`lineage.analysis.rca_cache`),
so a repeated question only ranks.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

import networkx as nx

from lineage.analysis.assertion_kinds import kind_of_assertion
from lineage.analysis.evidence import DEFAULT_LABEL_COLUMNS, Evidence, gather_evidence, log_row_change
from lineage.analysis.observations import DatasetSnapshot
from lineage.analysis.propagation import explains
from lineage.analysis.rca_cache import RCACache, cache_for
from lineage.gcpause import gc_paused
from lineage.analysis.volume import DayLevels, relative_volume
from lineage.analysis.weights import WEIGHTS as W
from lineage.facets import AssertionsFacet, DriftDatasetFacet, partition_key
from lineage.graph.ancestry import upstream_graph
from lineage.graph.cache import graph_for
from lineage.graph.model import LineageGraph
from lineage.graph.queries import NotFoundError, resolve
from lineage.store import LineageStore, reads

__all__ = ["DEFAULT_LABEL_COLUMNS", "Candidate", "DatasetSnapshot", "Evidence", "RCAError", "RCAResult",
           "analyze", "analyze_latest", "gather_evidence", "kind_of_assertion", "latest_failure"]


class RCAError(NotFoundError):
    """The symptom could not be located in the lineage store; the message says what to try."""


@dataclass
class Candidate:
    asset: str
    namespace: str
    column: str | None
    partition: str | None
    kind: str
    score: float
    evidence: list[dict[str, Any]]
    path: list[str]
    column_path: list[str]
    echo_of: str | None = None


@dataclass
class RCAResult:
    symptom: dict[str, Any]
    candidates: list[Candidate]
    message: str
    elapsed_ms: float
    # Every ancestor with a failing check in the window, farthest first (what a naive triage would list).
    failing_ancestors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "symptom": self.symptom,
            "candidates": [asdict(c) for c in self.candidates],
            "message": self.message,
            "elapsed_ms": round(self.elapsed_ms, 2),
            "failing_ancestors": self.failing_ancestors,
        }

    def trace(self) -> str:
        """One readable line per root candidate: symptom ← … ← cause; echoes are summarised."""
        if not self.candidates:
            return f"{self.symptom['dataset']}: {self.message}"
        roots = [c for c in self.candidates if c.echo_of is None] or self.candidates[:1]
        lines = [f"{rank}. [{c.score:.2f}] {self._chain(c)}" + (f" in partition {c.partition}" if c.partition else "")
                 for rank, c in enumerate(roots, 1)]
        echoes = [f"{c.asset}{'.' + c.column if c.column else ''}" for c in self.candidates if c.echo_of]
        if echoes:
            lines.append(f"   downstream echoes: {', '.join(echoes)}")
        return "\n".join(lines)

    def _chain(self, c: Candidate) -> str:
        cause = f"{c.asset}{'.' + c.column if c.column else ''} {c.kind} ({_display_detail(c.evidence)})"
        if c.asset == self.symptom["dataset"] and c.namespace == self.symptom["namespace"]:
            return cause  # the symptom is its own cause: say it once
        hops = list(reversed(c.column_path or c.path))
        head = self.symptom.get("summary") or self.symptom["dataset"]
        return " ← ".join(x for x in (head, " ← ".join(hops[1:-1]), cause) if x)


def _display_detail(evidence: Sequence[Mapping[str, Any]]) -> str:
    """The most quantitative piece of evidence reads best ("34% null" over "failed not_null")."""
    for source in ("metrics", "schema", "volume", "drift"):
        for e in evidence:
            if e.get("source") == source:
                return str(e["detail"])
    return str(evidence[0]["detail"]) if evidence else ""


# --------------------------------------------------------------------------- choosing versions
def _pick_symptom(series: Sequence[DatasetSnapshot], partition: str | None, run: int | None,
                  at: datetime | None, dataset: str) -> DatasetSnapshot | None:
    """The symptom's version: written or tested by ``run``, of ``partition``, or the latest (at ``at``)."""
    if run is not None:
        found = next((s for s in reversed(series) if run in s.run_ids or run in s.tested_by), None)
        if found is None:
            raise RCAError(f"that run neither wrote nor tested {dataset}; see `obs lineage history {dataset}`")
        return found
    if partition is not None:
        return next((s for s in reversed(series) if s.partition == partition), None)
    earlier = [s for s in series if at is None or s.time <= at]
    if not earlier:
        when = f" at or before {at.isoformat()}" if at else ""
        raise RCAError(f"no runs of {dataset} are recorded{when}; pass --partition, --run or --at of a recorded run")
    return max(earlier, key=lambda s: s.time)


def _pick_ancestor(series: Sequence[DatasetSnapshot], partition: str | None,
                   before: datetime | None) -> DatasetSnapshot | None:
    """The same partition when the ancestor has partitions, else its latest version before the symptom."""
    if partition is not None and any(s.partition for s in series):
        return next((s for s in reversed(series) if s.partition == partition), None)
    earlier = [s for s in series if before is None or s.time <= before]
    return max(earlier, key=lambda s: s.time) if earlier else None


def _history(series: Sequence[DatasetSnapshot], chosen: DatasetSnapshot) -> list[DatasetSnapshot]:
    """Earlier clean versions (partition order when partitioned, else time), oldest first."""
    if chosen.partition:
        earlier = [s for s in series if s is not chosen and (s.partition or "") < chosen.partition]
    else:
        earlier = [s for s in series if s is not chosen and s.time < chosen.time]
    clean = [s for s in earlier[-W.history_scan:] if not s.self_evident and s.produced]
    return clean[-W.history:]


# --------------------------------------------------------------------------- lineage as of the symptom
@dataclass
class _Lineage:
    """Ancestors (id → job hops), names, and the dataset / column graphs as of the symptom's run."""

    ancestors: dict[int, int]
    names: dict[tuple[str, int], tuple[str, str]]
    datasets: nx.DiGraph
    columns: nx.DiGraph
    described: set[int]  # datasets whose columns have recorded lineage
    sources: list[int] = field(default_factory=list)  # source datasets near the symptom (the day's volume level)
    column_sources: set[int] = field(default_factory=set)  # datasets with a column feeding another
    # Per answer (``datasets`` loses late edges first): dataset -> its ancestors in ``datasets``.
    upstream_of: dict[int, set[int]] = field(default_factory=dict)

    def name(self, dataset_id: int) -> str:
        return self.names[("dataset", dataset_id)][1]

    def namespace(self, dataset_id: int) -> str:
        return self.names[("dataset", dataset_id)][0]

    def reaches(self, src: int, dst: int) -> bool:
        if src not in self.datasets or dst not in self.datasets:
            return False
        if src == dst:
            return True
        found = self.upstream_of.get(dst)
        if found is None:
            found = self.upstream_of[dst] = nx.ancestors(self.datasets, dst)
        return src in found

    def feeds(self, src: tuple[int, str | None], dst: tuple[int, str | None]) -> bool:
        """Can the source column influence the target column? Dataset-level anomalies (lost rows,
        re-delivery) reach every column; without column lineage of the target, a column feeds its namesake."""
        if src[1] is None or dst[1] is None:
            return True
        if dst[0] not in self.described:
            return src[1] == dst[1]
        return src in self.columns and dst in self.columns and nx.has_path(self.columns, src, dst)


def _lineage(store: LineageStore, symptom_id: int, as_of: datetime | None, cache: RCACache) -> _Lineage:
    kept = cache.lineage((symptom_id, as_of), lambda: _build_lineage(store, symptom_id, as_of))
    return replace(kept, upstream_of={})  # shares the kept graphs: _fed_in_time copies before dropping edges


def _build_lineage(store: LineageStore, symptom_id: int, as_of: datetime | None) -> _Lineage:
    """From the symptom's ancestry alone (no full graph build) when that answers exactly: the ancestors
    hold enough sources for the day's volume level, or the whole store's graph is needed to find more."""
    partial = upstream_graph(store, symptom_id)
    if ("dataset", symptom_id) in partial.view(as_of):
        found = _lineage_in(partial, symptom_id, as_of, walk=False)
        if found is not None:
            return found
    return _lineage_in(graph_for(store), symptom_id, as_of, walk=True)  # type: ignore[return-value]


def _lineage_in(graph: LineageGraph, symptom_id: int, as_of: datetime | None, walk: bool) -> _Lineage | None:
    with graph.snapshot():
        distances, _ = graph.traverse(("dataset", symptom_id), upstream=True, as_of=as_of)
        ancestors = {node[1]: d for node, d in distances.items() if node[0] == "dataset"}
        ancestors[symptom_id] = 0
        jobs = graph.view(as_of)
        sources = _sources(jobs, symptom_id, set(ancestors), walk)
        if sources is None:
            return None
        columns = _columns_among(graph.column_view(as_of), ancestors)
        datasets = _dataset_graph(jobs, set(ancestors))
        names = graph.names([("dataset", i) for i in ancestors])
    described = {dst[0] for _, dst in columns.edges}
    return _Lineage(ancestors, names, datasets, columns, described, sources, {src[0] for src, _ in columns.edges})


def _columns_among(view: nx.DiGraph, datasets: Mapping[int, int]) -> nx.DiGraph:
    """The column graph restricted to the datasets' columns, in the view's order (nodes, then each one's
    successors), as ``subgraph(...).copy()`` builds it when most nodes are kept, without its filtered views."""
    out = nx.DiGraph()
    out.add_nodes_from((n, dict(attrs)) for n, attrs in view.nodes.items() if n[0] in datasets)
    out.add_edges_from((u, v, dict(attrs)) for u, succ in view.adjacency() if u[0] in datasets
                       for v, attrs in succ.items() if v[0] in datasets)
    return out


def _is_source(jobs: nx.DiGraph, node: tuple[str, int]) -> bool:
    """Written by jobs that read no dataset (or by nobody recorded)."""
    return not any(p[0] == "dataset" or any(q[0] == "dataset" for q in jobs.pred[p]) for p in jobs.pred[node])


def _sources(jobs: nx.DiGraph, symptom_id: int, ancestors: set[int], walk: bool = True) -> list[int] | None:
    """Source datasets among the ancestors, then the nearest others (lineage in either direction); None
    when the ancestors hold too few and ``walk`` is False (the graph holds only the ancestry)."""
    found = [i for i in sorted(ancestors) if ("dataset", i) in jobs and _is_source(jobs, ("dataset", i))]
    start = ("dataset", symptom_id)
    if len(found) >= W.seasonal_sources:
        return found[:W.seasonal_sources]
    if not walk:
        return None
    if start not in jobs:
        return found
    seen, frontier = {start}, [start]
    while frontier and len(found) < W.seasonal_sources and len(seen) < W.seasonal_scan:
        nxt = []
        for node in frontier:
            for other in (*jobs.succ[node], *jobs.pred[node]):
                if other not in seen:
                    seen.add(other)
                    nxt.append(other)
                    if other[0] == "dataset" and other[1] not in found and _is_source(jobs, other):
                        found.append(other[1])
        frontier = nxt
    return found[:W.seasonal_sources]


def _dataset_graph(jobs: nx.DiGraph, dataset_ids: set[int]) -> nx.DiGraph:
    """Dataset → dataset edges (through a job, or declared directly) among the given datasets."""
    g = nx.DiGraph()
    g.add_nodes_from(dataset_ids)
    for d in dataset_ids:
        node = ("dataset", d)
        if node not in jobs:
            continue
        for nxt in jobs.succ[node]:
            targets = [nxt] if nxt[0] == "dataset" else list(jobs.succ[nxt])
            g.add_edges_from((d, t[1]) for t in targets if t[0] == "dataset" and t[1] in dataset_ids and t[1] != d)
    return g


# --------------------------------------------------------------------------- evidence per ancestor
@dataclass
class _Node:
    dataset_id: int
    distance: int
    snapshot: DatasetSnapshot | None
    history: list[DatasetSnapshot]
    evidence: list[Evidence]


def _nodes(series: Mapping[int, list[DatasetSnapshot]], lineage: _Lineage, symptom_id: int,
           symptom: DatasetSnapshot | None, partition: str | None, labels: frozenset[str]) -> dict[int, _Node]:
    nodes: dict[int, _Node] = {}
    before = symptom.time if symptom is not None else None
    for dataset_id, distance in lineage.ancestors.items():
        own = series.get(dataset_id, [])
        snap = symptom if dataset_id == symptom_id else _pick_ancestor(own, partition, before)
        history = _history(own, snap) if snap is not None else []
        evidence = gather_evidence(snap, history, labels) if snap is not None else []
        nodes[dataset_id] = _Node(dataset_id, distance, snap, history, evidence)
    if symptom is None:
        nodes[symptom_id].evidence = [Evidence("unknown", W.not_materialized,
                                               f"not materialized for partition {partition}", None, "freshness")]
    _drop_seasonal(nodes)
    _relative_volume(nodes, series, lineage.sources, partition)
    return nodes


def _judged(cache: RCACache, series: Mapping[int, list[DatasetSnapshot]], lineage: _Lineage, symptom_id: int,
            symptom: DatasetSnapshot | None, partition: str | None, at: datetime | None,
            labels: frozenset[str]) -> dict[int, _Node]:
    """The ancestors' versions and evidence, kept with the lineage until the store changes (what they
    depend on: the symptom's version, or the time asked when it has none; the partition; the labels), so
    a repeated question only ranks. Callers read the nodes, never modify them."""
    version = (symptom.partition, symptom.time, tuple(sorted(symptom.run_ids))) if symptom is not None else at
    nodes = cache.judged((symptom_id, version, partition, labels),
                          lambda: _nodes(series, lineage, symptom_id, symptom, partition, labels))
    return _fed_in_time(nodes, lineage, symptom_id)


def _fed_in_time(nodes: dict[int, _Node], lineage: _Lineage, symptom_id: int) -> dict[int, _Node]:
    """Keep only ancestors whose chosen version existed when the version it would feed was written: a
    model trained last week was not fed by today's partition of its training table."""
    late = [(u, v) for u, v in lineage.datasets.edges
            if (su := nodes[u].snapshot) is not None and (sv := nodes[v].snapshot) is not None
            and su.produced and sv.produced and su.time > sv.time]
    if not late:
        return nodes
    lineage.datasets = lineage.datasets.copy()  # this answer's: the kept lineage is shared
    lineage.datasets.remove_edges_from(late)
    kept = nx.ancestors(lineage.datasets, symptom_id) | {symptom_id}
    return {i: n for i, n in nodes.items() if i in kept}


def _relative_volume(nodes: Mapping[int, _Node], series: Mapping[int, list[DatasetSnapshot]],
                     sources: Sequence[int], partition: str | None) -> None:
    """Where the day's level of other sources is known, volume is judged against it instead of own history."""
    if partition is None:
        return
    histories = {}
    for i in sources:
        own = series.get(i, [])
        current = next((s for s in own if s.partition == partition), None)
        histories[i] = (own, _history(own, current) if current is not None else
                        [s for s in own if not s.self_evident and s.produced][-W.history:])
    levels = DayLevels(histories)
    for n in nodes.values():
        if n.snapshot is None:
            continue
        found = relative_volume(n.dataset_id, n.snapshot, n.history, levels)
        if found is not None:
            n.evidence = [e for e in n.evidence if e.source != "volume"] + found


def _drop_seasonal(nodes: Mapping[int, _Node]) -> None:
    """Volume moving together everywhere (a quiet Sunday) is seasonality, not a fault at one dataset."""
    if not any(e.source == "volume" for n in nodes.values() for e in n.evidence):
        return
    changes = [c for n in nodes.values() if n.snapshot is not None
               and (c := log_row_change(n.snapshot, n.history)) is not None]
    if len(changes) < W.seasonal_min_datasets:
        return
    common = statistics.median(changes)
    for n in nodes.values():
        n.evidence = [e for e in n.evidence if e.source != "volume" or e.value is None
                      or abs(e.value - common) > W.seasonal_tolerance]


# --------------------------------------------------------------------------- ranking
def best_kind(evidence: Sequence[Evidence]) -> tuple[str, float]:
    """The kind the evidence agrees on: strongest, plus a bonus per further piece of the same kind."""
    votes: dict[str, float] = defaultdict(float)
    for e in evidence:
        votes[e.kind] = max(votes[e.kind], e.strength) + W.vote_bonus * (votes[e.kind] > 0)
    pool = {k: v for k, v in votes.items() if k != "unknown"} or votes
    kind = max(pool, key=pool.__getitem__)
    return kind, min(pool[kind], 1.0)


def _column_groups(evidence: Sequence[Evidence]) -> dict[str | None, list[Evidence]]:
    groups: dict[str | None, list[Evidence]] = defaultdict(list)
    for e in evidence:
        groups[e.column].append(e)
    generic = groups.get(None)
    if generic and len(groups) > 1 and all(e.kind == "unknown" and e.source == "assertion" for e in generic):
        del groups[None]  # a whole-suite check failing beside the specific failures it summarises
    return groups


@dataclass
class _Symptom:
    dataset_id: int
    columns: set[str]
    kinds: set[str]
    relevant: set[tuple[int, str | None]]  # ancestor columns that can reach the symptom's columns
    toward_datasets: dict[int, int | None]  # next hop on a shortest path to the symptom (see _toward)
    toward_columns: dict[tuple[int, str | None], tuple[int, str | None] | None]  # ... to its nearest column


def _symptom(nodes: Mapping[int, _Node], lineage: _Lineage, symptom_id: int, column: str | None) -> _Symptom:
    evidence = nodes[symptom_id].evidence
    columns = {column} if column else {e.column for e in evidence if e.column}
    relevant: set[tuple[int, str | None]] = set()
    for col in columns:
        start = (symptom_id, col)
        relevant |= nx.ancestors(lineage.columns, start) if start in lineage.columns else set()
        relevant.add(start)
    targets = [(symptom_id, c) for c in columns] or [n for n in lineage.columns if n[0] == symptom_id]
    return _Symptom(symptom_id, columns, {e.kind for e in evidence} - {"unknown"}, relevant,
                    _toward(lineage.datasets, [symptom_id]), _toward(lineage.columns, targets))


def _explained_by(dataset_id: int, column: str | None, kind: str, nodes: Mapping[int, _Node],
                  lineage: _Lineage) -> tuple[int, Evidence] | None:
    """The strongest anomaly upstream that feeds this column and can produce this kind."""
    best: tuple[int, Evidence] | None = None
    for parent, node in nodes.items():
        if parent == dataset_id or not node.evidence or not lineage.reaches(parent, dataset_id):
            continue
        for e in node.evidence:
            if (lineage.feeds((parent, e.column), (dataset_id, column)) and explains(e.kind, kind)
                    and (best is None or e.strength > best[1].strength)):
                best = (parent, e)
    return best


def _candidate(node: _Node, column: str | None, evidence: list[Evidence], nodes: Mapping[int, _Node],
               lineage: _Lineage, symptom: _Symptom) -> Candidate:
    kind, score = best_kind(evidence)
    parent = _explained_by(node.dataset_id, column, kind, nodes, lineage)
    if parent is not None:
        score *= W.echo_factor
    on_path = (not symptom.columns or column is None or (node.dataset_id, column) in symptom.relevant
               or node.dataset_id not in lineage.column_sources)
    if not on_path or (symptom.kinds and not any(explains(kind, k) for k in symptom.kinds)):
        score *= W.off_path_factor
    score += W.distance_bonus * node.distance
    return Candidate(
        asset=lineage.name(node.dataset_id), namespace=lineage.namespace(node.dataset_id), column=column,
        partition=node.snapshot.partition if node.snapshot else None, kind=kind, score=round(min(score, 1.0), 4),
        evidence=[e.as_dict() for e in sorted(evidence, key=lambda e: -e.strength)],
        path=_dataset_path(lineage, node.dataset_id, symptom),
        column_path=_column_path(lineage, node.dataset_id, column, symptom),
        echo_of=(lineage.name(parent[0]) + (f".{parent[1].column}" if parent[1].column else "")) if parent else None,
    )


def _rank(nodes: Mapping[int, _Node], lineage: _Lineage, symptom: _Symptom) -> list[Candidate]:
    candidates = [_candidate(n, col, ev, nodes, lineage, symptom)
                  for n in nodes.values() if n.evidence for col, ev in _column_groups(n.evidence).items()]
    symptom_name = lineage.name(symptom.dataset_id)

    def own_root(c: Candidate) -> bool:
        # Nothing upstream explains the symptom's own anomaly: it starts there, say so first.
        return c.echo_of is None and c.asset == symptom_name and c.score >= W.assertion_generic
    return sorted(candidates, key=lambda c: (not own_root(c), c.echo_of is not None, -c.score))


def _dataset_path(lineage: _Lineage, src: int, symptom: _Symptom) -> list[str]:
    return [lineage.name(i) for i in _walk(symptom.toward_datasets, src)] or [lineage.name(src)]


def _column_path(lineage: _Lineage, src: int, column: str | None, symptom: _Symptom) -> list[str]:
    if column is None:
        return []
    return [f"{lineage.name(d)}.{c}" for d, c in _walk(symptom.toward_columns, (src, column))]


def _toward(graph: nx.DiGraph, targets: Iterable[Any]) -> dict[Any, Any]:
    """Node -> next hop on a shortest path to the nearest target (targets -> None): one breadth-first search
    back from the targets, in sorted order, so that equal-length paths break ties the same way in every
    process (networkx's order follows set iteration, which the hash seed changes)."""
    nxt = {t: None for t in sorted(targets, key=_order) if t in graph}
    frontier = list(nxt)
    while frontier:
        found = []
        for node in frontier:
            for parent in sorted(graph.pred[node], key=_order):
                if parent not in nxt:
                    nxt[parent] = node
                    found.append(parent)
        frontier = found
    return nxt


def _order(node: Any) -> Any:
    """A total order of dataset ids and (dataset id, field or None) column nodes."""
    return (node[0], node[1] is not None, node[1] or "") if isinstance(node, tuple) else node


def _walk(toward: Mapping[Any, Any], src: Any) -> list[Any]:
    if src not in toward:
        return []
    path = [src]
    while toward[path[-1]] is not None:
        path.append(toward[path[-1]])
    return path


# --------------------------------------------------------------------------- entry points
@gc_paused()
def analyze(
    store: LineageStore,
    dataset: str,
    *,
    namespace: str | None = None,
    partition: str | None = None,
    run_id: str | None = None,
    at: datetime | None = None,
    column: str | None = None,
    max_candidates: int = 5,
    label_columns: Iterable[str] = DEFAULT_LABEL_COLUMNS,
) -> RCAResult:
    """Rank the likely root causes of a symptom on ``dataset``: in ``partition``, in the version
    ``run_id`` wrote or tested, in the latest version at or before ``at`` (naive UTC), or the latest."""
    started = time.perf_counter()
    symptom_id = resolve(store, dataset, namespace, "dataset")[1]
    cache = cache_for(store)
    with store.read() as conn:
        own = cache.load(conn, [symptom_id]).get(symptom_id, [])
        run = reads.rca_run_id(conn, run_id) if run_id else None
    if run_id and run is None:
        raise RCAError(f"run {run_id} is not recorded; see `obs lineage history {dataset}` for its runs")
    symptom = _pick_symptom(own, partition, run, at, dataset)
    partition = symptom.partition if symptom is not None else partition
    lineage = _lineage(store, symptom_id, symptom.time if symptom is not None else at, cache)
    with store.read() as conn:
        others = {*lineage.ancestors, *lineage.sources} - {symptom_id}
        series = {**cache.load(conn, sorted(others)), symptom_id: own}
    nodes = _judged(cache, series, lineage, symptom_id, symptom, partition, at, frozenset(label_columns))
    if symptom is None and not any(n.snapshot and n.snapshot.partition == partition for n in nodes.values()):
        raise RCAError(f"nothing upstream of {dataset} is recorded for partition {partition}; "
                       f"check the partition key or `obs lineage history {dataset}`")
    facts = _symptom(nodes, lineage, symptom_id, column)
    candidates = _rank(nodes, lineage, facts)
    return RCAResult(_describe(lineage, nodes, facts, partition, run_id), candidates[:max_candidates],
                     _message(candidates, lineage.name(symptom_id), partition),
                     (time.perf_counter() - started) * 1000, _failing(nodes, lineage))


def _describe(lineage: _Lineage, nodes: Mapping[int, _Node], symptom: _Symptom, partition: str | None,
              run_id: str | None) -> dict[str, Any]:
    node = nodes[symptom.dataset_id]
    return {
        "dataset": lineage.name(symptom.dataset_id),
        "namespace": lineage.namespace(symptom.dataset_id),
        "partition": partition,
        "run_id": run_id,
        "time": node.snapshot.time.isoformat() if node.snapshot else None,
        "columns": sorted(symptom.columns),
        "evidence": [e.as_dict() for e in node.evidence],
        "tested": (tested := _tested_by_symptom_run(lineage, nodes, symptom.dataset_id)),
        "summary": _summary(lineage.name(symptom.dataset_id), node.evidence, tested),
    }


def _tested_by_symptom_run(lineage: _Lineage, nodes: Mapping[int, _Node], symptom_id: int) -> list[dict[str, Any]]:
    """Failed tests that the run writing the symptom reported on its inputs: the symptom is then a
    test's output (a dbt test's audit table), and what it is about is the tested dataset and column."""
    own = nodes[symptom_id].snapshot
    if own is None:
        return []
    return [{"dataset": lineage.name(i), "column": a.column, "assertion": a.name or a.assertion}
            for i, n in nodes.items() if i != symptom_id and n.snapshot
            for run, verdicts in n.snapshot.tested_by.items() if run in own.run_ids
            for a in verdicts if not a.success]


def _summary(dataset: str, evidence: Sequence[Evidence], tested: Sequence[Mapping[str, Any]] = ()) -> str:
    if tested:
        what = ", ".join(f"{t['dataset']}{'.' + t['column'] if t['column'] else ''} ({t['assertion']})" for t in tested)
        return f"{dataset}: failed test of {what}"
    if not evidence:
        return dataset
    top = max(evidence, key=lambda e: (e.strength, e.source in ("metrics", "drift")))
    return f"{dataset}{'.' + top.column if top.column else ''} {_display_detail([top.as_dict()])}"


def _message(candidates: Sequence[Candidate], symptom: str, partition: str | None) -> str:
    roots = [c for c in candidates if c.echo_of is None]
    upstream = [c for c in roots if c.asset != symptom]
    where = "in this partition" if partition else "before this run"
    if not roots:
        return f"no upstream cause found: no ancestor shows an anomaly {where}" + (
            " (the symptom's own anomalies are listed)" if candidates else "")
    if not upstream:
        return "no upstream cause found: the anomaly starts at the symptom's own dataset"
    return f"{len(upstream)} upstream root cause candidate(s)"


def _failing(nodes: Mapping[int, _Node], lineage: _Lineage) -> list[dict[str, Any]]:
    failing = [{"asset": lineage.name(i), "distance": n.distance} for i, n in nodes.items()
               if any(e.source in ("assertion", "drift") for e in n.evidence)]
    return sorted(failing, key=lambda x: (-x["distance"], x["asset"]))  # ties by name: the same in every process


def analyze_latest(store: LineageStore, **kwargs: Any) -> RCAResult:
    """Analyze the most recent failure recorded in the store."""
    found = latest_failure(store)
    if found is None:
        raise RCAError("no failed assertion, drift or failed run is recorded; nothing to analyze")
    namespace, name, partition, run_id = found
    if partition is None:
        return analyze(store, name, namespace=namespace, run_id=run_id, **kwargs)
    return analyze(store, name, namespace=namespace, partition=partition, **kwargs)


def latest_failure(store: LineageStore, scan: int = 2000) -> tuple[str, str, str | None, str] | None:
    """(namespace, name, partition, run uuid) of the most recent failed assertion, drift or failed run."""
    with store.read() as conn:
        found = _latest_bad_facet(conn, scan)
        for failed in reads.rca_recent_failed_runs(conn, 50):
            outputs = reads.rca_run_outputs(conn, failed.run_id)
            if outputs and (found is None or failed.event_time > found[2]):
                found = (outputs[0], failed.run_id, failed.event_time)
            if outputs:
                break
        if found is None:
            return None
        dataset_id, run_id, _ = found
        namespace, name = reads.rca_dataset_name(conn, dataset_id)  # type: ignore[misc]
        facets = {r.facet_name: _loads(r.payload) for r in reads.rca_run_facets(conn, [run_id], ("nominalTime", "tags"))}
        run_uuid = reads.rca_runs(conn, [run_id])[0].run_uuid
    return namespace, name, partition_key(facets), run_uuid


def _latest_bad_facet(conn: Any, scan: int) -> tuple[int, int, datetime] | None:
    for row in reads.rca_recent_quality_facets(conn, [AssertionsFacet.KEY, DriftDatasetFacet.KEY], scan):
        if row.run_id is None:
            continue
        if row.facet_name == AssertionsFacet.KEY:
            facet = AssertionsFacet.from_payload(_loads(row.payload))
            bad = bool(facet and facet.failed)
        else:
            drift = DriftDatasetFacet.from_payload(_loads(row.payload))
            bad = bool(drift and drift.drifted_columns)
        if bad:
            return row.dataset_id, row.run_id, row.event_time
    return None


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


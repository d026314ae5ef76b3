"""Root-cause analysis: from a symptom on one dataset to ranked upstream causes, with evidence and path.

Works on the lineage store alone, so events from any OpenLineage producer take part: failed
``dataQualityAssertions`` (GE, dbt tests, ...), ``drift`` facets, schemas, row counts and column metrics
(``dataQualityMetrics`` / ``outputStatistics``), run failures. For every ancestor of the symptom in the
same partition (the run's ``nominalTime`` day; the latest earlier run for unpartitioned datasets) it
collects evidence against the dataset's own history, then keeps the *earliest* anomalous ancestors on
the path: an anomaly whose columns are fed by an anomalous parent is an echo, not a cause.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import networkx as nx
from sqlalchemy import select

from lineage.store import tables as t
from lineage.graph.queries import NotFoundError, resolve
from lineage.store import LineageStore

FAULT_KINDS = (
    "null_burst", "scale_change", "mean_shift", "category_remap", "column_drop", "type_change",
    "duplicate_rows", "stale_partition", "row_loss", "label_shift", "code_change", "unknown",
)
DEFAULT_LABEL_COLUMNS = frozenset({"label", "target", "y", "defaulted", "churned", "is_fraud"})
HISTORY = 14  # earlier partitions of each dataset used as its own baseline
# The facets evidence is drawn from; others (column lineage, documentation...) are not read.
EVIDENCE_FACETS = ("dataQualityAssertions", "dataQualityMetrics", "drift", "outputStatistics", "schema", "version")


class RCAError(NotFoundError):
    """The symptom could not be located in the lineage store; the message says what to try."""


@dataclass
class Evidence:
    kind: str
    strength: float
    detail: str
    column: str | None = None
    source: str = ""  # assertion | drift | schema | volume | metrics | version | run
    value: float | None = None  # e.g. the log row-count ratio of volume evidence

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items()}


@dataclass
class Observation:
    """What the store knows of one dataset in one partition (or run)."""

    dataset_id: int
    partition: str | None
    time: datetime
    run_ids: set[int] = field(default_factory=set)
    facets: dict[str, Any] = field(default_factory=dict)
    failed: bool = False
    error: str | None = None


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
        lines = []
        for rank, c in enumerate(roots, 1):
            hops = list(reversed(c.column_path or c.path))
            head = self.symptom.get("summary") or self.symptom["dataset"]
            cause = f"{c.asset}{'.' + c.column if c.column else ''} {c.kind}"
            middle = " ← ".join(hops[1:-1])
            chain = " ← ".join(x for x in (head, middle, f"{cause} ({_display_detail(c.evidence)})") if x)
            where = f" in partition {c.partition}" if c.partition else ""
            lines.append(f"{rank}. [{c.score:.2f}] {chain}{where}")
        echoes = [f"{c.asset}{'.' + c.column if c.column else ''}" for c in self.candidates if c.echo_of]
        if echoes:
            lines.append(f"   downstream echoes: {', '.join(echoes)}")
        return "\n".join(lines)


def _display_detail(evidence: Sequence[Mapping[str, Any]]) -> str:
    """The most quantitative piece of evidence reads best ("34% null" over "failed not_null")."""
    for source in ("metrics", "schema", "volume", "drift"):
        for e in evidence:
            if e.get("source") == source:
                return str(e["detail"])
    return str(evidence[0]["detail"]) if evidence else ""


# --------------------------------------------------------------------------- evidence rules
def kind_of_assertion(assertion: str, column_type: str | None) -> str:
    """Map a test name (GE expectation, dbt test, relationship check) to the fault vocabulary."""
    a = assertion.lower()
    if "null" in a:
        return "null_burst"
    if "proportion_of_unique" in a:
        # A volume check: the share of distinct keys leaves its band upwards when rows per key are lost
        # (duplication heavy enough to push it below is reported by the key-uniqueness checks as well).
        return "row_loss"
    if "unique" in a or "duplicate" in a:
        return "duplicate_rows"
    if "type" in a:
        return "type_change"
    if "exist" in a or "columns_to_match" in a or "column_count" in a:
        return "column_drop"
    if "in_set" in a or "accepted_values" in a or "distinct_values" in a:
        return "category_remap"
    if any(w in a for w in ("row_count", "relationship", "orphan", "cover", "per_applicant", "rows_match", "per_")):
        return "row_loss"
    if "between" in a or "range" in a or "min" in a or "max" in a or "mean" in a:
        if column_type and ("time" in column_type or "date" in column_type):
            return "stale_partition"
        return "scale_change"
    return "unknown"


def _median(values: Iterable[float]) -> float | None:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(values) if values else None


def _row_count(obs: Observation) -> float | None:
    stats = obs.facets.get("outputStatistics") or {}
    if isinstance(stats.get("rowCount"), (int, float)):
        return float(stats["rowCount"])
    metrics = obs.facets.get("dataQualityMetrics") or {}
    if isinstance(metrics.get("rowCount"), (int, float)):
        return float(metrics["rowCount"])
    return None


def _column_metrics(obs: Observation) -> dict[str, dict[str, Any]]:
    metrics = obs.facets.get("dataQualityMetrics") or {}
    cols = metrics.get("columnMetrics")
    return cols if isinstance(cols, dict) else {}


def _schema(obs: Observation) -> dict[str, str]:
    schema = obs.facets.get("schema") or {}
    return {f["name"]: str(f.get("type") or "") for f in schema.get("fields", []) if isinstance(f, dict) and "name" in f}


def _quantiles(metric: Mapping[str, Any]) -> dict[str, float]:
    q = metric.get("quantiles")
    return {str(k): float(v) for k, v in q.items() if isinstance(v, (int, float))} if isinstance(q, dict) else {}


def _scale_or_shift(current: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> str | None:
    """Multiplication keeps quantile ratios constant, a shift keeps quantile differences constant."""
    cur = _quantiles(current)
    ref: dict[str, float] = {}
    for key in cur:
        med = _median(_quantiles(h).get(key) for h in history)
        if med is not None:
            ref[key] = med
    keys = [k for k in cur if k in ref and abs(ref[k]) > 1e-12]
    if len(keys) < 3:
        return None
    ratios = [cur[k] / ref[k] for k in keys]
    diffs = [cur[k] - ref[k] for k in keys]
    mean_r, mean_d = statistics.fmean(ratios), statistics.fmean(diffs)
    # Spread of the ratios relative to the change they describe (a small shift keeps ratios near 1).
    cv_r = statistics.pstdev(ratios) / abs(mean_r - 1) if mean_r != 1 else math.inf
    cv_d = statistics.pstdev(diffs) / abs(mean_d) if mean_d else math.inf
    return "scale_change" if cv_r < cv_d else "mean_shift"


def gather_evidence(
    obs: Observation, history: Sequence[Observation], label_columns: frozenset[str] = DEFAULT_LABEL_COLUMNS
) -> list[Evidence]:
    out: list[Evidence] = []
    schema = _schema(obs)

    for a in (obs.facets.get("dataQualityAssertions") or {}).get("assertions", []) or []:
        if not isinstance(a, dict) or a.get("success", True):
            continue
        column = a.get("column")
        kind = kind_of_assertion(str(a.get("assertion", "")), schema.get(column) if column else None)
        if kind == "row_loss" and "dup" in str(a.get("assertion", "")).lower():
            kind = "duplicate_rows"
        if kind == "scale_change" and column:
            # A range check fails for a unit change and for a shift alike: the quantiles tell them apart.
            kind = _scale_or_shift(_column_metrics(obs).get(column, {}),
                                   [_column_metrics(h).get(column, {}) for h in history]) or kind
        # A check that names neither a known test nor a column (e.g. a whole-suite check) says little.
        strength = 0.9 if (kind != "unknown" or column) else 0.3
        out.append(Evidence(kind, strength, f"failed {a.get('assertion')}" + (f" on {column}" if column else ""),
                            column, "assertion"))

    drift = obs.facets.get("drift") or {}
    history_metrics = [_column_metrics(h) for h in history]
    for column, col in (drift.get("columns") or {}).items():
        if not isinstance(col, dict) or not col.get("drifted"):
            continue
        status = col.get("status")
        stat = col.get("statistic")
        score = col.get("ks_stat") if col.get("ks_stat") is not None else col.get("js_distance")
        strength = 0.55 + 0.35 * min(1.0, float(score or 0.3) / 0.5)
        if status == "missing_column":
            kind = "column_drop"
        elif status == "type_mismatch":
            kind = "type_change"
        elif col.get("null_drift"):
            kind = "null_burst"
        elif column in label_columns:
            kind = "label_shift"
        elif col.get("kind") == "categorical":
            kind = "category_remap" if (col.get("n_new_categories") or 0) > 0 else (
                "label_shift" if (col.get("n_categories_ref") or 0) <= 2 and column in label_columns else "category_remap")
        else:
            current = _column_metrics(obs).get(column, {})
            kind = _scale_or_shift(current, [m.get(column, {}) for m in history_metrics]) or "mean_shift"
        test = col.get("test")
        out.append(Evidence(kind, strength, f"drift ({test} {stat:.3g})" if isinstance(stat, (int, float))
                            else f"drift ({status})", column, "drift"))

    if history:
        prev_schema = _schema(history[-1])
        if prev_schema and schema:
            for column in prev_schema:
                if column not in schema:
                    out.append(Evidence("column_drop", 0.95, f"column {column} missing from schema", column, "schema"))
                elif schema[column] != prev_schema[column]:
                    out.append(Evidence("type_change", 0.9,
                                        f"type {prev_schema[column]}→{schema[column]}", column, "schema"))

        rows = _row_count(obs)
        hist_rows = [r for r in (_row_count(h) for h in history) if r]
        if rows is not None and len(hist_rows) >= 3:
            logs = [math.log(r) for r in hist_rows]
            center = statistics.median(logs)
            spread = max(statistics.median([abs(x - center) for x in logs]) * 1.4826, 0.05)
            z = (math.log(max(rows, 1.0)) - center) / spread
            if abs(z) > 4 and abs(math.log(max(rows, 1.0)) - center) > 0.25:
                kind = "row_loss" if z < 0 else "duplicate_rows"
                out.append(Evidence(kind, 0.45, f"{int(rows)} rows vs median {math.exp(center):.0f}", None, "volume",
                                    value=math.log(max(rows, 1.0)) - center))

        metrics = _column_metrics(obs)
        for column, metric in metrics.items():
            if not isinstance(metric, dict):
                continue
            hist = [m.get(column) for m in history_metrics if isinstance(m.get(column), dict)]
            if rows and metric.get("nullCount") is not None and hist:
                frac = float(metric["nullCount"]) / max(rows, 1.0)
                base = _median(float(h["nullCount"]) / max(_row_count(o) or 1.0, 1.0)
                               for h, o in zip(hist, history) if h.get("nullCount") is not None)
                if base is not None and frac - base > 0.05:
                    out.append(Evidence("null_burst", 0.5 + 0.4 * min(1.0, (frac - base) / 0.3),
                                        f"{frac:.0%} null (usually {base:.0%})", column, "metrics"))
            if rows and metric.get("distinctCount") is not None and hist and column.endswith("_id"):
                ratio = float(metric["distinctCount"]) / max(rows, 1.0)
                base = _median(float(h["distinctCount"]) / max(_row_count(o) or 1.0, 1.0)
                               for h, o in zip(hist, history) if h.get("distinctCount") is not None)
                if base is not None and base > 0.99 and ratio < 0.98:
                    out.append(Evidence("duplicate_rows", 0.7, f"{column} {ratio:.1%} distinct (usually 100%)",
                                        None, "metrics"))

        # Re-delivery: every numeric summary identical to an earlier partition's.
        current = {c: (m.get("min"), m.get("max"), json.dumps(m.get("quantiles"), sort_keys=True))
                   for c, m in _column_metrics(obs).items() if isinstance(m, dict) and m.get("quantiles")}
        if len(current) >= 2:
            for earlier in history:
                other = {c: (m.get("min"), m.get("max"), json.dumps(m.get("quantiles"), sort_keys=True))
                         for c, m in _column_metrics(earlier).items() if isinstance(m, dict) and m.get("quantiles")}
                if other == current and earlier.partition != obs.partition:
                    out.append(Evidence("stale_partition", 0.9,
                                        f"content identical to partition {earlier.partition}", None, "metrics"))
                    break
        version = (obs.facets.get("version") or {}).get("datasetVersion")
        if version and any((h.facets.get("version") or {}).get("datasetVersion") == version for h in history):
            out.append(Evidence("stale_partition", 0.85, "same dataset version as an earlier partition", None,
                                "version"))

    if obs.failed:
        out.append(Evidence("unknown", 0.7, f"run failed: {(obs.error or '')[:160]}", None, "run"))
    return out


# --------------------------------------------------------------------------- store access
def _partition_of(payload: Mapping[str, Any]) -> str | None:
    start = payload.get("nominalStartTime")
    return str(start)[:10] if start else None


class _Loader:
    """Bulk reads of facets, partitions and run states for a set of datasets."""

    def __init__(self, store: LineageStore):
        self.store = store

    def observations(self, dataset_ids: Sequence[int]) -> dict[int, list[Observation]]:
        by_key: dict[tuple[int, str | None, int | None], Observation] = {}
        wanted = list(dataset_ids)
        with self.store.read() as conn:
            edges = conn.execute(
                select(t.io_edges.c.dataset_id, t.io_edges.c.run_id, t.io_edges.c.direction, t.io_edges.c.event_time)
                .where(t.io_edges.c.dataset_id.in_(wanted), t.io_edges.c.run_id.is_not(None))
            ).all()
            run_ids = sorted({r.run_id for r in edges})
            partitions: dict[int, str | None] = {}
            states: dict[int, list[tuple[datetime, str | None]]] = defaultdict(list)
            errors: dict[int, str] = {}
            for chunk in _chunks(run_ids, 500):
                for row in conn.execute(
                    select(t.run_facets.c.run_id, t.run_facets.c.facet_name, t.run_facets.c.payload)
                    .where(t.run_facets.c.run_id.in_(chunk),
                           t.run_facets.c.facet_name.in_(["nominalTime", "errorMessage"]))
                ):
                    payload = json.loads(row.payload)
                    if row.facet_name == "nominalTime":
                        partitions[row.run_id] = _partition_of(payload)
                    else:
                        errors[row.run_id] = str(payload.get("message", ""))
                for row in conn.execute(
                    select(t.run_states.c.run_id, t.run_states.c.event_type, t.run_states.c.event_time)
                    .where(t.run_states.c.run_id.in_(chunk))
                ):
                    states[row.run_id].append((row.event_time, row.event_type))
            # Producer runs define observations; consumer and check runs of the same partition add to them.
            producers: dict[tuple[int, int], Observation] = {}
            consumers: dict[tuple[int, int], tuple[int, str]] = {}
            for row in edges:
                partition = partitions.get(row.run_id)
                if row.direction != "out":
                    if partition is not None:
                        consumers[(row.dataset_id, row.run_id)] = (row.dataset_id, partition)
                    continue
                key = (row.dataset_id, partition, None if partition else row.run_id)
                obs = by_key.get(key)
                if obs is None:
                    obs = by_key[key] = Observation(row.dataset_id, partition, row.event_time)
                obs.run_ids.add(row.run_id)
                obs.time = max(obs.time, row.event_time)
                producers[(row.dataset_id, row.run_id)] = obs
                final = max(states.get(row.run_id, [(row.event_time, None)]), key=lambda s: s[0])[1]
                if final in ("FAIL", "ABORT"):
                    obs.failed, obs.error = True, errors.get(row.run_id)
            for chunk in _chunks(run_ids, 500):
                for row in conn.execute(
                    select(t.dataset_facets.c.dataset_id, t.dataset_facets.c.run_id, t.dataset_facets.c.facet_name,
                           t.dataset_facets.c.scope, t.dataset_facets.c.payload)
                    .where(t.dataset_facets.c.run_id.in_(chunk), t.dataset_facets.c.dataset_id.in_(wanted),
                           t.dataset_facets.c.facet_name.in_(EVIDENCE_FACETS))
                    .order_by(t.dataset_facets.c.event_time, t.dataset_facets.c.id)
                ):
                    obs = producers.get((row.dataset_id, row.run_id)) if row.scope != "input" else None
                    if obs is None:
                        ref = consumers.get((row.dataset_id, row.run_id))
                        obs = by_key.get((ref[0], ref[1], None)) if ref else None
                        if obs is None or row.facet_name not in ("dataQualityAssertions", "dataQualityMetrics"):
                            continue
                    payload = json.loads(row.payload)
                    if row.facet_name == "dataQualityAssertions":
                        merged = obs.facets.setdefault("dataQualityAssertions", {"assertions": []})["assertions"]
                        for a in payload.get("assertions") or []:
                            if a not in merged:
                                merged.append(a)
                    elif row.facet_name == "dataQualityMetrics" and row.scope == "input":
                        obs.facets.setdefault("dataQualityMetrics", payload)
                    else:
                        obs.facets[row.facet_name] = payload
        result: dict[int, list[Observation]] = defaultdict(list)
        for obs in by_key.values():
            result[obs.dataset_id].append(obs)
        for series in result.values():
            series.sort(key=lambda o: (o.partition or "", o.time))
        return result


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --------------------------------------------------------------------------- the engine
@dataclass
class _Node:
    dataset_id: int
    distance: int
    obs: Observation | None
    evidence: list[Evidence]


def _pick(series: Sequence[Observation], partition: str | None, before: datetime | None) -> tuple[
        Observation | None, list[Observation]]:
    """The observation for the symptom's partition (or the latest before it) and its own history."""
    if not series:
        return None, []
    chosen: Observation | None = None
    if partition is not None:
        for obs in series:
            if obs.partition == partition:
                chosen = obs
    if chosen is None:
        if any(o.partition for o in series) and partition is not None:
            return None, []
        earlier = [o for o in series if before is None or o.time <= before]
        chosen = max(earlier, key=lambda o: o.time) if earlier else None
    if chosen is None:
        return None, []
    history = [o for o in series if o is not chosen and (
        (o.partition or "") < (chosen.partition or "") if chosen.partition else o.time < chosen.time)]
    clean = [o for o in history[-HISTORY * 2:] if not _self_evident(o)]
    return chosen, clean[-HISTORY:]


def _self_evident(obs: Observation) -> bool:
    """Partitions that failed their own assertions or drifted are no baseline for others."""
    assertions = (obs.facets.get("dataQualityAssertions") or {}).get("assertions") or []
    drifted = (obs.facets.get("drift") or {}).get("drifted_columns") or []
    return obs.failed or any(isinstance(a, dict) and not a.get("success", True) for a in assertions) or bool(drifted)


def _best_kind(evidence: Sequence[Evidence]) -> tuple[str, float]:
    votes: dict[str, float] = defaultdict(float)
    for e in evidence:
        votes[e.kind] = max(votes[e.kind], e.strength) + 0.05 * (votes[e.kind] > 0)
    specific = {k: v for k, v in votes.items() if k != "unknown"}
    pool = specific or votes
    kind = max(pool, key=pool.get)
    return kind, min(pool[kind], 1.0)


def analyze(
    store: LineageStore,
    dataset: str,
    *,
    namespace: str | None = None,
    partition: str | None = None,
    run_id: str | None = None,
    column: str | None = None,
    max_candidates: int = 5,
    label_columns: Iterable[str] = DEFAULT_LABEL_COLUMNS,
) -> RCAResult:
    """Rank the likely root causes of a symptom on ``dataset`` (in ``partition``, or ``run_id``)."""
    started = time.perf_counter()
    labels = frozenset(label_columns)
    symptom_node = resolve(store, dataset, namespace, "dataset")
    symptom_id = symptom_node[1]
    graph = store.graph()
    with graph.snapshot():
        distances, _ = graph.traverse(symptom_node, upstream=True)
        jobs_graph = graph.jobs_graph.copy(as_view=False) if len(graph.jobs_graph) < 5000 else graph.jobs_graph
        columns_graph = graph.columns_graph
    ancestors = {node[1]: d for node, d in distances.items() if node[0] == "dataset"}
    ancestors[symptom_id] = 0
    names = graph.names([("dataset", i) for i in ancestors])
    series = _Loader(store).observations(list(ancestors))

    if run_id is not None and partition is None:
        partition = _partition_for_run(store, run_id)
    symptom_obs, symptom_hist = _pick(series.get(symptom_id, []), partition, None)
    if symptom_obs is None and partition is None:
        raise RCAError(f"no runs of {dataset} are recorded; pass --partition or --run of a recorded run")
    if symptom_obs is None:
        # The asset never materialized for this partition (e.g. a blocking check upstream stopped it):
        # that absence is the symptom, and the upstream walk still applies.
        if not any(o.partition == partition for i in ancestors if i != symptom_id for o in series.get(i, [])):
            raise RCAError(f"nothing upstream of {dataset} is recorded for partition {partition}; "
                           f"check the partition key or `obs lineage history {dataset}`")
        symptom_evidence = [Evidence("unknown", 0.5, f"not materialized for partition {partition}", None, "freshness")]
        symptom_time = None
    else:
        partition = symptom_obs.partition or partition
        symptom_evidence = gather_evidence(symptom_obs, symptom_hist, labels)
        symptom_time = symptom_obs.time
    symptom_columns = {e.column for e in symptom_evidence if e.column}
    if column:
        symptom_columns = {column}

    nodes: dict[int, _Node] = {}
    series_hist: dict[int, list[Observation]] = {}
    for dataset_id, distance in ancestors.items():
        obs, hist = ((symptom_obs, symptom_hist) if dataset_id == symptom_id
                     else _pick(series.get(dataset_id, []), partition, symptom_time))
        series_hist[dataset_id] = hist
        evidence = (symptom_evidence if dataset_id == symptom_id
                    else gather_evidence(obs, hist, labels) if obs is not None else [])
        nodes[dataset_id] = _Node(dataset_id, distance, obs, evidence)

    # Volume moving together everywhere (a quiet Sunday) is seasonality, not a fault at one dataset.
    ratios = [e.value for n in nodes.values() for e in n.evidence if e.source == "volume" and e.value is not None]
    all_ratios = []
    for n in nodes.values():
        if n.obs is not None:
            hist = [r for r in (_row_count(h) for h in series_hist.get(n.dataset_id, [])) if r]
            rows = _row_count(n.obs)
            if rows and len(hist) >= 3:
                all_ratios.append(math.log(max(rows, 1.0)) - statistics.median(math.log(r) for r in hist))
    if ratios and len(all_ratios) >= 3:
        common = statistics.median(all_ratios)
        for n in nodes.values():
            n.evidence = [e for e in n.evidence if e.source != "volume" or e.value is None
                          or abs(e.value - common) > 0.25]

    symptom_evidence = nodes[symptom_id].evidence  # after the seasonal filter above
    if not column:
        symptom_columns = {e.column for e in symptom_evidence if e.column}

    # Which upstream columns can influence the symptom's columns (column lineage closure).
    relevant: set[tuple[int, str]] = set()
    for col in symptom_columns:
        start = (symptom_id, col)
        if start in columns_graph:
            relevant |= nx.ancestors(columns_graph, start)
        relevant.add(start)

    def feeds(src: tuple[int, str | None], dst: tuple[int, str | None]) -> bool:
        if src[1] is None or dst[1] is None:
            return True  # dataset-level anomalies (lost rows, re-delivery) reach every column
        return (src in columns_graph and dst in columns_graph and nx.has_path(columns_graph, src, dst))

    dataset_graph = _dataset_graph(jobs_graph, set(nodes))
    anomalous = {i for i, n in nodes.items() if n.evidence}
    candidates: list[Candidate] = []
    for dataset_id in anomalous:
        node = nodes[dataset_id]
        by_column: dict[str | None, list[Evidence]] = defaultdict(list)
        for e in node.evidence:
            by_column[e.column].append(e)
        # Dataset-level evidence applies to the whole dataset: merge it under the strongest column.
        for col, evidence in by_column.items():
            generic = all(e.kind == "unknown" and e.source == "assertion" for e in evidence)
            if col is None and generic and len(by_column) > 1:
                continue  # a whole-suite check failing beside the specific failures it summarises
            kind, strength = _best_kind(evidence)
            upstream_anomalies = [
                (p, pe) for p in anomalous if p != dataset_id and p in dataset_graph
                and dataset_id in dataset_graph and nx.has_path(dataset_graph, p, dataset_id)
                for pe in nodes[p].evidence
                if feeds((p, pe.column), (dataset_id, col))
            ]
            echo_of = None
            score = strength
            if upstream_anomalies:
                parent, pe = max(upstream_anomalies, key=lambda x: x[1].strength)
                echo_of = names[("dataset", parent)][1] + (f".{pe.column}" if pe.column else "")
                score *= 0.25
            on_path = (not symptom_columns or col is None or (dataset_id, col) in relevant)
            if not on_path:
                score *= 0.4
            score += 0.01 * node.distance  # between equals, the earlier (more upstream) node explains more
            path = _dataset_path(dataset_graph, dataset_id, symptom_id, names)
            column_path = _column_path(columns_graph, dataset_id, col, symptom_id, symptom_columns, names)
            candidates.append(Candidate(
                asset=names[("dataset", dataset_id)][1],
                namespace=names[("dataset", dataset_id)][0],
                column=col,
                partition=node.obs.partition if node.obs else None,
                kind=kind,
                score=round(min(score, 1.0), 4),
                evidence=[e.as_dict() for e in sorted(evidence, key=lambda e: -e.strength)],
                path=path,
                column_path=column_path,
                echo_of=echo_of,
            ))
    candidates.sort(key=lambda c: -c.score)
    roots = [c for c in candidates if c.echo_of is None]
    upstream_roots = [c for c in roots if c.asset != names[("dataset", symptom_id)][1]]
    if not upstream_roots and not roots:
        message = "no upstream cause found: no ancestor in this partition shows an anomaly"
        if candidates:
            message += " (the symptom's own anomalies are listed)"
    elif not upstream_roots:
        message = "no upstream cause found: the anomaly starts at the symptom's own dataset"
    else:
        message = f"{len(upstream_roots)} upstream root cause candidate(s)"
    symptom = {
        "dataset": names[("dataset", symptom_id)][1],
        "namespace": names[("dataset", symptom_id)][0],
        "partition": partition,
        "run_id": run_id,
        "columns": sorted(symptom_columns),
        "evidence": [e.as_dict() for e in nodes[symptom_id].evidence],
        "summary": _summary(names[("dataset", symptom_id)][1], symptom_evidence),
    }
    failing = sorted(
        ({"asset": names[("dataset", i)][1], "distance": n.distance} for i, n in nodes.items()
         if any(e.source in ("assertion", "drift") for e in n.evidence)),
        key=lambda x: -x["distance"],
    )
    return RCAResult(symptom, candidates[:max_candidates], message, (time.perf_counter() - started) * 1000, failing)


def _summary(dataset: str, evidence: Sequence[Evidence]) -> str:
    if not evidence:
        return dataset
    top = max(evidence, key=lambda e: (e.strength, e.source in ("metrics", "drift")))
    return f"{dataset}{'.' + top.column if top.column else ''} {_display_detail([top.as_dict()])}"


def _dataset_graph(jobs_graph: nx.DiGraph, dataset_ids: set[int]) -> nx.DiGraph:
    """Dataset → dataset edges (through jobs) among the given datasets."""
    g = nx.DiGraph()
    g.add_nodes_from(dataset_ids)
    for d in dataset_ids:
        node = ("dataset", d)
        if node not in jobs_graph:
            continue
        for job in jobs_graph.succ[node]:
            for out in jobs_graph.succ[job]:
                if out[0] == "dataset" and out[1] in dataset_ids and out[1] != d:
                    g.add_edge(d, out[1])
    return g


def _dataset_path(g: nx.DiGraph, src: int, dst: int, names: Mapping) -> list[str]:
    try:
        ids = nx.shortest_path(g, src, dst)
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        ids = [src]
    return [names[("dataset", i)][1] for i in ids]


def _column_path(columns_graph: nx.DiGraph, src: int, column: str | None, dst: int, dst_columns: set[str],
                 names: Mapping) -> list[str]:
    if column is None or (src, column) not in columns_graph:
        return []
    best: list | None = None
    targets = [(dst, c) for c in dst_columns] or [n for n in columns_graph if n[0] == dst]
    for target in targets:
        if target in columns_graph and nx.has_path(columns_graph, (src, column), target):
            p = nx.shortest_path(columns_graph, (src, column), target)
            best = p if best is None or len(p) < len(best) else best
    return [f"{names.get(('dataset', d), ('', str(d)))[1]}.{c}" for d, c in best] if best else []


def _partition_for_run(store: LineageStore, run_id: str) -> str | None:
    with store.read() as conn:
        row = conn.execute(
            select(t.run_facets.c.payload)
            .join(t.runs, t.runs.c.id == t.run_facets.c.run_id)
            .where(t.runs.c.run_uuid == run_id, t.run_facets.c.facet_name == "nominalTime")
        ).first()
    return _partition_of(json.loads(row.payload)) if row else None


def analyze_latest(store: LineageStore, **kwargs: Any) -> RCAResult:
    """Analyze the most recent failure recorded in the store."""
    found = latest_failure(store)
    if found is None:
        raise RCAError("no failed assertion, drift or failed run is recorded; nothing to analyze")
    namespace, name, partition = found
    return analyze(store, name, namespace=namespace, partition=partition, **kwargs)


def latest_failure(store: LineageStore) -> tuple[str, str, str | None] | None:
    """(namespace, name, partition) of the most recent dataset with a failed assertion, drift or failed run."""
    with store.read() as conn:
        rows = conn.execute(
            select(t.dataset_facets.c.dataset_id, t.dataset_facets.c.run_id, t.dataset_facets.c.facet_name,
                   t.dataset_facets.c.payload)
            .where(t.dataset_facets.c.facet_name.in_(["dataQualityAssertions", "drift"]))
            .order_by(t.dataset_facets.c.event_time.desc(), t.dataset_facets.c.id.desc())
            .limit(2000)
        ).all()
        for row in rows:
            payload = json.loads(row.payload)
            bad = (any(isinstance(a, dict) and not a.get("success", True) for a in payload.get("assertions", []))
                   if row.facet_name == "dataQualityAssertions" else bool(payload.get("drifted_columns")))
            if bad:
                ds = conn.execute(select(t.datasets.c.namespace, t.datasets.c.name)
                                  .where(t.datasets.c.id == row.dataset_id)).one()
                nominal = conn.execute(
                    select(t.run_facets.c.payload).where(t.run_facets.c.run_id == row.run_id,
                                                         t.run_facets.c.facet_name == "nominalTime")
                ).first()
                return ds.namespace, ds.name, _partition_of(json.loads(nominal.payload)) if nominal else None
    return None

"""Prometheus metrics read from the lineage store at scrape time.

:class:`ObservabilityCollector` is a prometheus-client custom collector: each scrape runs a few
bounded queries (the latest producing run per dataset, at most ``max_datasets`` datasets, and
counts over the recent ``window``, default 24 h) and yields:

* ``obs_check_outcomes_total{dataset,outcome}``: assertions that passed / failed in the window
  (a gauge: a windowed count, not a monotonic counter; do not ``rate()`` it)
* ``obs_check_failed{dataset,assertion}``: failed assertions per assertion type, latest run
  (merged with the check runs reported since it started)
* ``obs_drift_score{dataset,column}``: per-column drift statistic of the latest run (``statistic``,
  else ``psi``, ``jsDistance``, ...); at most ``max_columns`` columns per dataset, drifted first
* ``obs_drift_share{dataset}``: share of drifted columns, latest run
* ``obs_dataset_row_count{dataset}``: ``outputStatistics.rowCount`` of the latest run (else the
  last one reported, e.g. when the latest run failed)
* ``obs_materialization_duration_seconds{dataset}``: first START to last COMPLETE/FAIL/ABORT of
  the latest run
* ``obs_dataset_freshness_seconds{dataset}``: now - the last COMPLETE of a producing run
* ``obs_runs_failed_total{dataset}``: producing runs that failed in the window (a gauge)
* ``obs_asset_health_score{dataset}``: :mod:`lineage.health` score, 0-100
* ``obs_pipeline_health_score{pipeline}``: mean of its datasets' scores
* ``obs_outbox_backlog`` / ``obs_outbox_oldest_age_seconds``: pending events in the local outbox
  and the age of the oldest (only when the outbox file exists; it is never created here)
* ``obs_lineage_spool_files``: hand-over files waiting in the shared spool (when ``$OBS_LINEAGE_SPOOL`` is set)
* ``obs_rca_requests_total`` / ``obs_rca_candidates_found_total``: ``/api/v1/rca`` requests and
  the candidates they returned (process-wide counters, :data:`RCA_REQUESTS`, :data:`RCA_CANDIDATES`)

Labels are bounded: ``dataset`` is the dataset name (``namespace/name`` when two namespaces
share a name), ``assertion`` the assertion type (at most ``max_columns`` per dataset),
``column`` only on drift scores, ``pipeline`` the job namespace (or ``pipeline_of(...)``).

The HTTP API serves this at ``GET /metrics`` (see :func:`metrics_registry`), without the bearer
token even when one is configured, since Prometheus scrapers usually send none; the server binds
127.0.0.1 by default. Expose it beyond the host only behind a proxy if the dataset names are
sensitive.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import and_, func, select

from lineage.analysis import health
from lineage.store import tables as t
from lineage.store import LineageStore

DEFAULT_WINDOW = timedelta(hours=24)
DEFAULT_MAX_DATASETS = 500
DEFAULT_MAX_COLUMNS = 50
_MAX_FACET_ROWS = 50_000
_CHUNK = 500
_TERMINAL = ("COMPLETE", "FAIL", "ABORT")
_FAILED = ("FAIL", "ABORT")
_LATEST_FACETS = ("outputStatistics", "dataQualityAssertions", "dataQualityMetrics", "drift")
_DRIFT_SCORE_KEYS = ("statistic", "psi", "jsDistance", "js_distance", "wassersteinNormalized",
                     "wasserstein_norm", "ks_stat")

# Process-wide counters, incremented by the /api/v1/rca route.
RCA_REQUESTS = Counter("obs_rca_requests", "Root-cause analysis requests served", registry=None)
RCA_CANDIDATES = Counter("obs_rca_candidates_found", "Root-cause candidates returned", registry=None)

# name -> (help, label names); the collector's own families (the RCA counters come on top).
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "obs_check_outcomes_total": ("Data-quality assertions by outcome in the window", ("dataset", "outcome")),
    "obs_check_failed": ("Failed assertions per assertion type in the latest run", ("dataset", "assertion")),
    "obs_drift_score": ("Per-column drift statistic of the latest run", ("dataset", "column")),
    "obs_drift_share": ("Share of drifted columns in the latest run", ("dataset",)),
    "obs_dataset_row_count": ("Row count of the latest materialization", ("dataset",)),
    "obs_materialization_duration_seconds": ("START to end of the latest run", ("dataset",)),
    "obs_dataset_freshness_seconds": ("Seconds since the last COMPLETE materialization", ("dataset",)),
    "obs_runs_failed_total": ("Producing runs that failed in the window", ("dataset",)),
    "obs_asset_health_score": ("Composite dataset health score 0-100 (lineage.health)", ("dataset",)),
    "obs_pipeline_health_score": ("Mean health score of the pipeline's datasets", ("pipeline",)),
    "obs_outbox_backlog": ("Pending events in the local lineage outbox", ()),
    "obs_outbox_oldest_age_seconds": ("Age of the oldest pending outbox event", ()),
    "obs_lineage_spool_files": ("Hand-over files from workers waiting in the shared lineage spool", ()),
}
RCA_METRIC_NAMES = ("obs_rca_requests_total", "obs_rca_candidates_found_total")


def metric_names() -> set[str]:
    """Every sample name a scrape of :func:`metrics_registry` can contain (for dashboards/tests)."""
    names = set(FAMILIES) | set(RCA_METRIC_NAMES)
    return names | {n.replace("_total", "_created") for n in RCA_METRIC_NAMES}


@dataclass
class DatasetSnapshot:
    """What the collector knows about one dataset at scrape time."""

    dataset_id: int
    namespace: str
    name: str
    label: str
    pipeline: str
    run_id: int
    job_namespace: str
    job_name: str
    start: datetime | None = None
    end: datetime | None = None
    assertions: dict[tuple[str, str | None], bool] = field(default_factory=dict)
    drift: dict[str, Any] | None = None
    row_count: float | None = None
    last_complete: datetime | None = None
    window_passed: int = 0
    window_failed: int = 0
    runs_total: int = 0
    runs_failed: int = 0

    def health_inputs(self, now: datetime) -> health.HealthInputs:
        passed = sum(1 for ok in self.assertions.values() if ok)
        age = (now - self.last_complete).total_seconds() if self.last_complete else None
        return health.HealthInputs(
            checks_passed=passed,
            checks_total=len(self.assertions),
            drift_share=drift_share(self.drift) if self.drift is not None else None,
            freshness_age_s=age,
            runs_failed=self.runs_failed,
            runs_total=self.runs_total,
        )


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def drift_share(facet: dict[str, Any]) -> float:
    """``shareDrifted`` / ``share_drifted``, else drifted / all columns; clipped to [0, 1]."""
    for key in ("shareDrifted", "share_drifted"):
        value = _finite(facet.get(key))
        if value is not None:
            return min(1.0, max(0.0, value))
    columns = facet.get("columns") if isinstance(facet.get("columns"), dict) else {}
    drifted = facet.get("drifted_columns")
    if columns:
        count = len(drifted) if isinstance(drifted, list) else sum(
            1 for c in columns.values() if isinstance(c, dict) and c.get("drifted"))
        return min(1.0, count / len(columns))
    return 0.0


def drift_scores(facet: dict[str, Any], limit: int = DEFAULT_MAX_COLUMNS) -> dict[str, float]:
    """Per-column score (first finite of ``statistic``, ``psi``, ...), the ``limit`` highest."""
    scores: dict[str, tuple[bool, float]] = {}
    columns = facet.get("columns")
    if not isinstance(columns, dict):
        return {}
    for column, col in columns.items():
        if not isinstance(col, dict):
            continue
        score = next((v for v in (_finite(col.get(k)) for k in _DRIFT_SCORE_KEYS) if v is not None), None)
        if score is not None:
            scores[str(column)] = (bool(col.get("drifted")), score)
    # Drifted columns first, then the strongest statistic, then the name (stable across scrapes).
    ranked = sorted(scores.items(), key=lambda kv: (not kv[1][0], -kv[1][1], kv[0]))[:limit]
    return {column: score for column, (_, score) in ranked}


def _naive_utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class ObservabilityCollector(Collector):
    """Reads the store on every ``collect()``; see the module docstring for the metrics.

    ``store`` is a :class:`LineageStore` or a zero-argument callable returning one (the API opens
    its store at startup). ``outbox_path``: ``None`` for the default local outbox
    (``$OBS_OUTBOX_PATH`` / ``$DAGSTER_HOME/lineage_outbox.db``), a path, or ``False`` for none;
    a missing file yields no outbox metrics (and is not created). ``expected_intervals`` maps a
    dataset name to its expected materialization interval in seconds (default
    ``expected_interval``, else :func:`lineage.health.default_expected_interval`).
    """

    def __init__(
        self,
        store: LineageStore | Callable[[], LineageStore],
        *,
        window: timedelta = DEFAULT_WINDOW,
        max_datasets: int = DEFAULT_MAX_DATASETS,
        max_columns: int = DEFAULT_MAX_COLUMNS,
        expected_interval: float | None = None,
        expected_intervals: dict[str, float] | None = None,
        pipeline_of: Callable[[DatasetSnapshot], str] | None = None,
        outbox_path: str | Path | None | bool = None,
        clock: Callable[[], datetime] = _naive_utc_now,
    ) -> None:
        self._store = store
        self.window = window
        self.max_datasets = max_datasets
        self.max_columns = max_columns
        self.expected_interval = expected_interval
        self.expected_intervals = dict(expected_intervals or {})
        self.pipeline_of = pipeline_of
        self.outbox_path = outbox_path
        self.clock = clock

    @property
    def store(self) -> LineageStore:
        return self._store if isinstance(self._store, LineageStore) else self._store()

    # ------------------------------------------------------------------ prometheus API
    def describe(self) -> Iterable[Metric]:
        # Registering must not query the database.
        return [GaugeMetricFamily(name, doc, labels=list(labels) or None) for name, (doc, labels) in FAMILIES.items()]

    def collect(self) -> Iterable[Metric]:
        now = self.clock()
        snapshots = self.snapshots(now)
        fam = {name: GaugeMetricFamily(name, doc, labels=list(labels) or None)
               for name, (doc, labels) in FAMILIES.items() if labels}
        by_pipeline: dict[str, list[float]] = defaultdict(list)
        for s in snapshots:
            ds = [s.label]
            fam["obs_check_outcomes_total"].add_metric(ds + ["passed"], s.window_passed)
            fam["obs_check_outcomes_total"].add_metric(ds + ["failed"], s.window_failed)
            failed_by_type: dict[str, int] = {}
            for (assertion, _column), ok in s.assertions.items():
                if assertion in failed_by_type or len(failed_by_type) < self.max_columns:
                    failed_by_type[assertion] = failed_by_type.get(assertion, 0) + (0 if ok else 1)
            for assertion, count in sorted(failed_by_type.items()):
                fam["obs_check_failed"].add_metric(ds + [assertion], count)
            if s.drift is not None:
                fam["obs_drift_share"].add_metric(ds, drift_share(s.drift))
                for column, score in drift_scores(s.drift, self.max_columns).items():
                    fam["obs_drift_score"].add_metric(ds + [column], score)
            if s.row_count is not None:
                fam["obs_dataset_row_count"].add_metric(ds, s.row_count)
            if s.start is not None and s.end is not None and s.end >= s.start:
                fam["obs_materialization_duration_seconds"].add_metric(ds, (s.end - s.start).total_seconds())
            if s.last_complete is not None:
                fam["obs_dataset_freshness_seconds"].add_metric(
                    ds, max(0.0, (now - s.last_complete).total_seconds()))
            fam["obs_runs_failed_total"].add_metric(ds, s.runs_failed)
            score = health.dataset_health(s.health_inputs(now), self._interval(s))
            fam["obs_asset_health_score"].add_metric(ds, score)
            by_pipeline[s.pipeline].append(score)
        for pipeline, scores in sorted(by_pipeline.items()):
            fam["obs_pipeline_health_score"].add_metric([pipeline], health.pipeline_health(scores))
        yield from fam.values()
        yield from self._outbox_metrics()
        yield from self._spool_metrics()

    # ------------------------------------------------------------------ helpers
    def _interval(self, s: DatasetSnapshot) -> float:
        explicit = self.expected_intervals.get(s.name, self.expected_intervals.get(s.label))
        if explicit:
            return float(explicit)
        return float(self.expected_interval or health.default_expected_interval())

    def _outbox_metrics(self) -> Iterator[Metric]:
        if self.outbox_path is False:
            return
        from lineage.emission.outbox import Outbox, default_outbox_path

        path = Path(self.outbox_path) if self.outbox_path else default_outbox_path()
        if not path.is_file():
            return
        try:
            status = Outbox(path).status()
        except Exception:  # an unreadable outbox must not break the scrape
            return
        backlog = GaugeMetricFamily("obs_outbox_backlog", FAMILIES["obs_outbox_backlog"][0])
        backlog.add_metric([], status.pending)
        yield backlog
        oldest = GaugeMetricFamily("obs_outbox_oldest_age_seconds", FAMILIES["obs_outbox_oldest_age_seconds"][0])
        oldest.add_metric([], status.oldest_pending_age_s or 0.0)
        yield oldest

    def _spool_metrics(self) -> Iterator[Metric]:
        from lineage.emission.spool import Spool

        spool = Spool.from_env()
        if spool is None:
            return
        try:
            files = spool.backlog()
        except Exception:  # shared storage unreachable: no sample rather than a broken scrape
            return
        gauge = GaugeMetricFamily("obs_lineage_spool_files", FAMILIES["obs_lineage_spool_files"][0])
        gauge.add_metric([], files)
        yield gauge

    def snapshots(self, now: datetime | None = None) -> list[DatasetSnapshot]:
        """One :class:`DatasetSnapshot` per produced dataset (the ``max_datasets`` most recent)."""
        now = now or self.clock()
        since = now - self.window
        io, ds, jobs, rs, df = t.io_edges, t.datasets, t.jobs, t.run_states, t.dataset_facets
        with self.store.read() as conn:
            latest = (
                select(io.c.dataset_id, func.max(io.c.id).label("edge_id"))
                .where(io.c.direction == "out", io.c.run_id.is_not(None))
                .group_by(io.c.dataset_id)
                .subquery()
            )
            rows = conn.execute(
                select(ds.c.id, ds.c.namespace, ds.c.name, io.c.run_id, jobs.c.namespace.label("job_ns"),
                       jobs.c.name.label("job_name"))
                .select_from(latest.join(io, io.c.id == latest.c.edge_id)
                             .join(ds, ds.c.id == io.c.dataset_id).join(jobs, jobs.c.id == io.c.job_id))
                .order_by(io.c.event_time.desc(), io.c.id.desc())
                .limit(self.max_datasets)
            ).all()
            if not rows:
                return []
            name_count: dict[str, int] = defaultdict(int)
            for r in rows:
                name_count[r.name] += 1
            snaps: dict[int, DatasetSnapshot] = {}
            for r in rows:
                label = r.name if name_count[r.name] == 1 else f"{r.namespace}/{r.name}"
                snap = DatasetSnapshot(r.id, r.namespace, r.name, label, r.job_ns, r.run_id, r.job_ns, r.job_name)
                if self.pipeline_of is not None:
                    snap.pipeline = str(self.pipeline_of(snap))
                snaps[r.id] = snap
            ids = list(snaps)
            by_run: dict[int, list[DatasetSnapshot]] = defaultdict(list)
            for s in snaps.values():
                by_run[s.run_id].append(s)
            run_ids = list(by_run)

            # Start / end of the latest runs.
            for chunk in _chunks(run_ids):
                for r in conn.execute(select(rs.c.run_id, rs.c.event_type, rs.c.event_time)
                                      .where(rs.c.run_id.in_(chunk))):
                    for s in by_run[r.run_id]:
                        if r.event_type == "START" and (s.start is None or r.event_time < s.start):
                            s.start = r.event_time
                        elif r.event_type in _TERMINAL and (s.end is None or r.event_time > s.end):
                            s.end = r.event_time

            # Facets of the latest runs (later events override earlier ones).
            for chunk in _chunks(run_ids):
                for r in conn.execute(
                    select(df.c.dataset_id, df.c.run_id, df.c.facet_name, df.c.payload)
                    .where(df.c.run_id.in_(chunk), df.c.scope != "input", df.c.facet_name.in_(_LATEST_FACETS))
                    .order_by(df.c.event_time, df.c.id)
                ):
                    s = snaps.get(r.dataset_id)
                    if s is None or s.run_id != r.run_id:
                        continue
                    self._apply_facet(s, r.facet_name, _load(r.payload))

            # Check runs after the latest materialization report assertions as input facets.
            starts = [s.start for s in snaps.values() if s.start is not None]
            if starts:
                for chunk in _chunks(ids):
                    for r in conn.execute(
                        select(df.c.dataset_id, df.c.payload, df.c.event_time)
                        .where(df.c.dataset_id.in_(chunk), df.c.scope == "input",
                               df.c.facet_name == "dataQualityAssertions", df.c.event_time >= min(starts))
                        .order_by(df.c.event_time.desc(), df.c.id.desc())
                        .limit(_MAX_FACET_ROWS)
                    ).all()[::-1]:
                        s = snaps[r.dataset_id]
                        if s.start is not None and r.event_time >= s.start:
                            _merge_assertions(s.assertions, _load(r.payload))

            # Assertion outcomes in the window: the last facet per (dataset, run, scope).
            for chunk in _chunks(ids):
                last: dict[tuple[int, int | None, str], dict[str, Any]] = {}
                for r in conn.execute(
                    select(df.c.dataset_id, df.c.run_id, df.c.scope, df.c.payload)
                    .where(df.c.dataset_id.in_(chunk), df.c.facet_name == "dataQualityAssertions",
                           df.c.event_time >= since)
                    .order_by(df.c.event_time.desc(), df.c.id.desc())
                    .limit(_MAX_FACET_ROWS)
                ).all()[::-1]:
                    last[(r.dataset_id, r.run_id, r.scope)] = _load(r.payload)
                for (dataset_id, _, _), payload in last.items():
                    for a in payload.get("assertions") or []:
                        if isinstance(a, dict):
                            if a.get("success", True):
                                snaps[dataset_id].window_passed += 1
                            else:
                                snaps[dataset_id].window_failed += 1

            # Producing runs in the window, and how many failed.
            for chunk in _chunks(ids):
                states: dict[tuple[int, int], bool] = {}
                for r in conn.execute(
                    select(io.c.dataset_id, rs.c.run_id, rs.c.event_type).distinct()
                    .select_from(io.join(rs, rs.c.run_id == io.c.run_id))
                    .where(io.c.dataset_id.in_(chunk), io.c.direction == "out", rs.c.event_time >= since)
                ):
                    key = (r.dataset_id, r.run_id)
                    states[key] = states.get(key, False) or r.event_type in _FAILED
                for (dataset_id, _), failed in states.items():
                    snaps[dataset_id].runs_total += 1
                    snaps[dataset_id].runs_failed += int(failed)

            # A latest run without statistics (e.g. a failed one): the last reported row count.
            missing = [s.dataset_id for s in snaps.values() if s.row_count is None]
            for chunk in _chunks(missing):
                last_stats = (
                    select(func.max(df.c.id).label("id"))
                    .where(df.c.dataset_id.in_(chunk), df.c.facet_name == "outputStatistics", df.c.scope == "output")
                    .group_by(df.c.dataset_id)
                    .subquery()
                )
                for r in conn.execute(select(df.c.dataset_id, df.c.payload).where(df.c.id.in_(select(last_stats.c.id)))):
                    snaps[r.dataset_id].row_count = _finite(_load(r.payload).get("rowCount"))

            # Last COMPLETE of any producing run.
            for chunk in _chunks(ids):
                for r in conn.execute(
                    select(io.c.dataset_id, func.max(t.events.c.event_time).label("at"))
                    .select_from(io.join(t.events, and_(t.events.c.id == io.c.event_id,
                                                        t.events.c.event_type == "COMPLETE")))
                    .where(io.c.dataset_id.in_(chunk), io.c.direction == "out")
                    .group_by(io.c.dataset_id)
                ):
                    snaps[r.dataset_id].last_complete = r.at
        return list(snaps.values())

    @staticmethod
    def _apply_facet(s: DatasetSnapshot, name: str, payload: dict[str, Any]) -> None:
        if name == "dataQualityAssertions":
            _merge_assertions(s.assertions, payload)
        elif name == "drift":
            s.drift = payload
        elif name == "outputStatistics":
            rows = _finite(payload.get("rowCount"))
            if rows is not None:
                s.row_count = rows
        elif name == "dataQualityMetrics" and s.row_count is None:
            rows = _finite(payload.get("rowCount"))
            if rows is not None:
                s.row_count = rows


def _load(payload: str) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _merge_assertions(into: dict[tuple[str, str | None], bool], payload: dict[str, Any]) -> None:
    for a in payload.get("assertions") or []:
        if isinstance(a, dict) and a.get("assertion"):
            column = a.get("column")
            into[(str(a["assertion"]), str(column) if column else None)] = bool(a.get("success", True))


def metrics_registry(store: LineageStore | Callable[[], LineageStore], **options: Any) -> CollectorRegistry:
    """A registry with an :class:`ObservabilityCollector` for ``store`` and the RCA counters."""
    registry = CollectorRegistry()
    registry.register(ObservabilityCollector(store, **options))
    registry.register(RCA_REQUESTS)
    registry.register(RCA_CANDIDATES)
    return registry

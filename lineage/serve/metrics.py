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
* ``obs_outbox_backlog{worker}`` / ``obs_outbox_oldest_age_seconds{worker}`` / ``obs_outbox_dead_letters{worker}``:
  pending events in each worker's outbox, the age of the oldest and the rejected ones, and
  ``obs_lineage_spool_files{worker}`` the hand-over files in the shared spool as that worker sees it: the last
  report of each worker (:mod:`lineage.emission.outbox_report`, table ``lineage_worker_reports``) received in
  ``REPORT_WINDOW``, at most ``MAX_WORKERS``; ``obs_outbox_report_age_seconds{worker,source}`` is that report's
  age. Fallback when ``obs serve`` shares a host with a worker: an outbox file here (``outbox_path``) and
  ``$OBS_LINEAGE_SPOOL`` are read directly (read-only, never created) when no report of that worker is younger
  than ``LOCAL_AFTER_S``; ``source`` says which (``report`` or ``local``, age 0)
* ``obs_incidents_open{severity}``: open or acknowledged incidents (every severity, 0 included);
  ``obs_incident_time_to_detect_seconds`` / ``obs_incident_time_to_resolve_seconds``: histograms
  over the stored incidents (new failures are folded into incidents at each scrape)
* ``obs_model_performance{dataset,partition,metric,kind}`` / ``obs_model_estimation_error{dataset,partition,metric}``:
  estimated (no labels), bounds, evaluation and realized model performance of the newest evaluated batch
  (:mod:`lineage.serve.model_metrics`, from the ``modelPerformance`` facet)
* ``obs_explanation_*``, ``obs_metric_regression*``, ``obs_metric_anomaly*``, ``obs_monitoring_history_partitions``,
  ``obs_segments_failing``: SHAP explanation drift, regressions, volume / freshness anomalies and failing segments
  of the newest evaluations (:mod:`lineage.serve.monitoring_metrics`, from the monitoring facets)
* ``obs_lineage_events_with_warnings`` / ``obs_lineage_event_warnings``: stored events with schema
  warnings (lenient ingest) and the warnings themselves
* ``obs_rca_requests_total`` / ``obs_rca_candidates_found_total``: ``/api/v1/rca`` requests and
  the candidates they returned (process-wide counters, :data:`RCA_REQUESTS`, :data:`RCA_CANDIDATES`)
* ``obs_ingest_events_total{producer,outcome}``: events received by the ingest endpoint, accepted or rejected
  (a process-wide counter with a bounded ``producer`` label, :mod:`lineage.serve.ingest_metrics`)

Labels are bounded: ``dataset`` is the dataset name (``namespace/name`` when two namespaces
share a name), ``assertion`` the assertion type (at most ``max_columns`` per dataset),
``column`` only on drift scores, ``pipeline`` the job namespace (or ``pipeline_of(...)``).

The HTTP API serves this at ``GET /metrics`` (see :func:`metrics_registry`), without the bearer
token even when one is configured, since Prometheus scrapers usually send none; the server binds
127.0.0.1 by default. Expose it beyond the host only behind a proxy if the dataset names are
sensitive.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection

from lineage.analysis import health
from lineage.config import MAX_NAME_CHARS
from lineage.facets import AssertionsFacet, DriftDatasetFacet, MetricsFacet, OutputStatisticsFacet
from lineage.store import LineageStore
from lineage.serve import ingest_metrics
from lineage.store import reads

DEFAULT_WINDOW = timedelta(hours=24)
DEFAULT_MAX_DATASETS = 500
_log = logging.getLogger(__name__)
DEFAULT_MAX_COLUMNS = 50
_MAX_FACET_ROWS = 50_000
_TERMINAL = ("COMPLETE", "FAIL", "ABORT")
_FAILED = ("FAIL", "ABORT")
_LATEST_FACETS = ("outputStatistics", "dataQualityAssertions", "dataQualityMetrics", "drift")

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
    "obs_outbox_backlog": ("Pending events in the worker's lineage outbox (its last report)", ("worker",)),
    "obs_outbox_oldest_age_seconds": ("Age of the worker's oldest pending outbox event when it reported",
                                      ("worker",)),
    "obs_outbox_dead_letters": ("Outbox events the backend rejected, kept for replay by the worker", ("worker",)),
    "obs_lineage_spool_files": ("Hand-over files waiting in the shared lineage spool, as the worker sees it",
                                ("worker",)),
    "obs_outbox_report_age_seconds": ("Seconds since the worker's last outbox report (source=local: read here, 0)",
                                      ("worker", "source")),
    "obs_incidents_open": ("Open or acknowledged incidents by severity (lineage.analysis.incidents)", ("severity",)),
    "obs_lineage_events_with_warnings": ("Stored events with at least one schema warning", ()),
    "obs_lineage_event_warnings": ("Schema warnings recorded on stored events", ()),
}
RCA_METRIC_NAMES = ("obs_rca_requests_total", "obs_rca_candidates_found_total")
# Histograms of incident timing: failure stored -> incident opened, incident opened -> resolved.
INCIDENT_HISTOGRAMS = {
    "obs_incident_time_to_detect_seconds": "From the failing event's time to the incident opening",
    "obs_incident_time_to_resolve_seconds": "From the incident opening to its resolution",
}
INCIDENT_BUCKETS = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0, 7 * 86400.0)
# Worker outbox reports: families that exist only when a worker reported (or a local outbox is read).
OUTBOX_FAMILIES = ("obs_outbox_backlog", "obs_outbox_oldest_age_seconds", "obs_outbox_dead_letters",
                   "obs_lineage_spool_files", "obs_outbox_report_age_seconds")
REPORT_WINDOW = timedelta(days=7)  # a worker silent for longer drops out of /metrics
MAX_WORKERS = 100  # bounded `worker` label: the most recent reporters
LOCAL_AFTER_S = 120.0  # a same-host outbox is read directly when its worker's report is older than this


def metric_names() -> set[str]:
    """Every sample name a scrape of :func:`metrics_registry` can contain (for dashboards/tests)."""
    from lineage.serve import model_metrics, monitoring_metrics

    names = set(FAMILIES) | set(RCA_METRIC_NAMES) | set(ingest_metrics.METRIC_NAMES) | set(model_metrics.FAMILIES)
    names |= set(monitoring_metrics.FAMILIES)
    names |= {h + suffix for h in INCIDENT_HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}
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
    drift: DriftDatasetFacet | None = None
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


def drift_share(facet: DriftDatasetFacet) -> float:
    """``shareDrifted`` (the parser derives it from the columns when absent), clipped to [0, 1]."""
    return min(1.0, max(0.0, facet.shareDrifted))


def drift_scores(facet: DriftDatasetFacet, limit: int = DEFAULT_MAX_COLUMNS) -> dict[str, float]:
    """Per-column score (first known of ``statistic``, ``psi``, ``jsDistance``, ``wassersteinNormalized``),
    the ``limit`` highest."""
    scores: dict[str, tuple[bool, float]] = {}
    for column, col in facet.columns.items():
        score = next((v for v in (col.statistic, col.psi, col.jsDistance, col.wassersteinNormalized)
                      if v is not None), None)
        if score is not None and len(str(column)) <= MAX_NAME_CHARS:  # a label in every scrape: bounded
            scores[str(column)] = (col.drifted, score)
    # Drifted columns first, then the strongest statistic, then the name (stable across scrapes).
    ranked = sorted(scores.items(), key=lambda kv: (not kv[1][0], -kv[1][1], kv[0]))[:limit]
    return {column: score for column, (_, score) in ranked}


def _naive_utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _load(payload: str) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _merge_assertions(into: dict[tuple[str, str | None], bool], payload: str) -> None:
    facet = AssertionsFacet.from_payload(_load(payload))
    for a in facet.assertions if facet else ():
        into[(a.assertion, a.column or None)] = a.success


def _row_count(facet: OutputStatisticsFacet | MetricsFacet | None) -> float | None:
    return float(facet.rowCount) if facet is not None and facet.rowCount is not None else None


# --------------------------------------------------------------------------- snapshots, one read each
def _bounded_label(text: str) -> str:
    """A label fit for every scrape: names stored before ingest capped their length are cut, with a hash of
    the whole name so two long names never share a series."""
    if len(text) <= MAX_NAME_CHARS:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{text[:MAX_NAME_CHARS - 14]}…#{digest}"


def _new_snapshots(rows: list[Any], pipeline_of: Callable[[DatasetSnapshot], str] | None) -> dict[int, DatasetSnapshot]:
    """One snapshot per dataset; the label is ``namespace/name`` only when two namespaces share a name."""
    name_count: dict[str, int] = defaultdict(int)
    for r in rows:
        name_count[r.name] += 1
    snaps: dict[int, DatasetSnapshot] = {}
    for r in rows:
        label = _bounded_label(r.name if name_count[r.name] == 1 else f"{r.namespace}/{r.name}")
        snap = DatasetSnapshot(r.id, r.namespace, r.name, label, r.job_ns, r.run_id, r.job_ns, r.job_name)
        if pipeline_of is not None:
            snap.pipeline = str(pipeline_of(snap))
        snaps[r.id] = snap
    return snaps


def _add_run_bounds(conn: Connection, by_run: dict[int, list[DatasetSnapshot]]) -> None:
    """First START and last terminal event of each latest run."""
    for r in reads.metrics_run_bounds(conn, list(by_run)):
        for s in by_run[r.run_id]:
            if r.event_type == "START" and (s.start is None or r.event_time < s.start):
                s.start = r.event_time
            elif r.event_type in _TERMINAL and (s.end is None or r.event_time > s.end):
                s.end = r.event_time


def _add_latest_facets(conn: Connection, snaps: dict[int, DatasetSnapshot], run_ids: list[int]) -> None:
    """Facets of the latest runs (later events override earlier ones)."""
    for r in reads.metrics_run_facets(conn, run_ids, _LATEST_FACETS):
        s = snaps.get(r.dataset_id)
        if s is None or s.run_id != r.run_id:
            continue
        if r.facet_name == "dataQualityAssertions":
            _merge_assertions(s.assertions, r.payload)
        elif r.facet_name == "drift":
            s.drift = DriftDatasetFacet.from_payload(_load(r.payload))
        elif r.facet_name == "outputStatistics":
            rows = _row_count(OutputStatisticsFacet.from_payload(_load(r.payload)))
            s.row_count = rows if rows is not None else s.row_count
        elif r.facet_name == "dataQualityMetrics" and s.row_count is None:
            s.row_count = _row_count(MetricsFacet.from_payload(_load(r.payload)))


def _add_check_runs(conn: Connection, snaps: dict[int, DatasetSnapshot]) -> None:
    """Check runs after the latest materialization report assertions as input facets."""
    starts = [s.start for s in snaps.values() if s.start is not None]
    if not starts:
        return
    for r in reads.metrics_input_assertions(conn, list(snaps), min(starts), _MAX_FACET_ROWS):
        s = snaps[r.dataset_id]
        if s.start is not None and r.event_time >= s.start:
            _merge_assertions(s.assertions, r.payload)


def _add_window_outcomes(conn: Connection, snaps: dict[int, DatasetSnapshot], since: datetime) -> None:
    """Assertion outcomes in the window: the last facet per (dataset, run, scope)."""
    last: dict[tuple[int, int | None, str], str] = {}
    for r in reads.metrics_window_assertions(conn, list(snaps), since, _MAX_FACET_ROWS):
        last[(r.dataset_id, r.run_id, r.scope)] = r.payload
    for (dataset_id, _, _), payload in last.items():
        facet = AssertionsFacet.from_payload(_load(payload))
        for a in facet.assertions if facet else ():
            if a.success:
                snaps[dataset_id].window_passed += 1
            else:
                snaps[dataset_id].window_failed += 1


def _add_window_runs(conn: Connection, snaps: dict[int, DatasetSnapshot], since: datetime) -> None:
    """Producing runs in the window, and how many failed."""
    failed: dict[tuple[int, int], bool] = {}
    for r in reads.metrics_window_run_states(conn, list(snaps), since):
        key = (r.dataset_id, r.run_id)
        failed[key] = failed.get(key, False) or r.event_type in _FAILED
    for (dataset_id, _), run_failed in failed.items():
        snaps[dataset_id].runs_total += 1
        snaps[dataset_id].runs_failed += int(run_failed)


def _add_fallback_row_counts(conn: Connection, snaps: dict[int, DatasetSnapshot]) -> None:
    """A latest run without statistics (e.g. a failed one): the last reported row count."""
    missing = [s.dataset_id for s in snaps.values() if s.row_count is None]
    for r in reads.metrics_last_output_statistics(conn, missing):
        snaps[r.dataset_id].row_count = _row_count(OutputStatisticsFacet.from_payload(_load(r.payload)))


def _add_last_complete(conn: Connection, snaps: dict[int, DatasetSnapshot]) -> None:
    for r in reads.metrics_last_complete(conn, list(snaps)):
        snaps[r.dataset_id].last_complete = r.at


# --------------------------------------------------------------------------- samples
def _families() -> dict[str, GaugeMetricFamily]:
    return {name: GaugeMetricFamily(name, doc, labels=list(labels) or None)
            for name, (doc, labels) in FAMILIES.items() if labels and name not in OUTBOX_FAMILIES}


def _add_check_samples(fam: dict[str, GaugeMetricFamily], s: DatasetSnapshot, max_columns: int) -> None:
    ds = [s.label]
    fam["obs_check_outcomes_total"].add_metric(ds + ["passed"], s.window_passed)
    fam["obs_check_outcomes_total"].add_metric(ds + ["failed"], s.window_failed)
    failed_by_type: dict[str, int] = {}
    for (assertion, _column), ok in s.assertions.items():
        if len(assertion) > MAX_NAME_CHARS:
            continue  # a label in every scrape: bounded like names
        if assertion in failed_by_type or len(failed_by_type) < max_columns:
            failed_by_type[assertion] = failed_by_type.get(assertion, 0) + (0 if ok else 1)
    for assertion, count in sorted(failed_by_type.items()):
        fam["obs_check_failed"].add_metric(ds + [assertion], count)


def _add_run_samples(fam: dict[str, GaugeMetricFamily], s: DatasetSnapshot, now: datetime, max_columns: int) -> None:
    ds = [s.label]
    if s.drift is not None:
        fam["obs_drift_share"].add_metric(ds, drift_share(s.drift))
        for column, score in drift_scores(s.drift, max_columns).items():
            fam["obs_drift_score"].add_metric(ds + [column], score)
    if s.row_count is not None:
        fam["obs_dataset_row_count"].add_metric(ds, s.row_count)
    if s.start is not None and s.end is not None and s.end >= s.start:
        fam["obs_materialization_duration_seconds"].add_metric(ds, (s.end - s.start).total_seconds())
    if s.last_complete is not None:
        fam["obs_dataset_freshness_seconds"].add_metric(ds, max(0.0, (now - s.last_complete).total_seconds()))
    fam["obs_runs_failed_total"].add_metric(ds, s.runs_failed)


def _histogram(name: str, values: list[float]) -> HistogramMetricFamily:
    buckets = [(str(le), float(sum(v <= le for v in values))) for le in INCIDENT_BUCKETS]
    return HistogramMetricFamily(name, INCIDENT_HISTOGRAMS[name], buckets=[*buckets, ("+Inf", float(len(values)))],
                                 sum_value=float(sum(values)))


def _single_gauge(name: str, value: float) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, FAMILIES[name][0])
    gauge.add_metric([], value)
    return gauge


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
        from lineage.serve.model_metrics import FAMILIES as MODEL_FAMILIES
        from lineage.serve.monitoring_metrics import FAMILIES as MONITORING_FAMILIES

        gauges = [GaugeMetricFamily(name, doc, labels=list(labels) or None)
                  for name, (doc, labels) in {**FAMILIES, **MODEL_FAMILIES, **MONITORING_FAMILIES}.items()]
        return [*gauges, *(HistogramMetricFamily(name, doc) for name, doc in INCIDENT_HISTOGRAMS.items())]

    def collect(self) -> Iterable[Metric]:
        now = self.clock()
        fam = _families()
        by_pipeline: dict[str, list[float]] = defaultdict(list)
        for s in self.snapshots(now):
            _add_check_samples(fam, s, self.max_columns)
            _add_run_samples(fam, s, now, self.max_columns)
            score = health.dataset_health(s.health_inputs(now), self._interval(s))
            fam["obs_asset_health_score"].add_metric([s.label], score)
            by_pipeline[s.pipeline].append(score)
        for pipeline, scores in sorted(by_pipeline.items()):
            fam["obs_pipeline_health_score"].add_metric([pipeline], health.pipeline_health(scores))
        yield from self._incident_metrics(fam)
        yield from fam.values()
        yield from self._warning_metrics()
        yield from self._model_metrics()
        yield from self._outbox_metrics(now)

    def snapshots(self, now: datetime | None = None) -> list[DatasetSnapshot]:
        """One :class:`DatasetSnapshot` per produced dataset (the ``max_datasets`` most recent)."""
        now = now or self.clock()
        since = now - self.window
        with self.store.read() as conn:
            snaps = _new_snapshots(reads.metrics_latest_outputs(conn, self.max_datasets), self.pipeline_of)
            if not snaps:
                return []
            by_run: dict[int, list[DatasetSnapshot]] = defaultdict(list)
            for s in snaps.values():
                by_run[s.run_id].append(s)
            _add_run_bounds(conn, by_run)
            _add_latest_facets(conn, snaps, list(by_run))
            _add_check_runs(conn, snaps)
            _add_window_outcomes(conn, snaps, since)
            _add_window_runs(conn, snaps, since)
            _add_fallback_row_counts(conn, snaps)
            _add_last_complete(conn, snaps)
        return list(snaps.values())

    # ------------------------------------------------------------------ helpers
    def _interval(self, s: DatasetSnapshot) -> float:
        explicit = self.expected_intervals.get(s.name, self.expected_intervals.get(s.label))
        if explicit:
            return float(explicit)
        return float(self.expected_interval or health.default_expected_interval())

    def _incident_metrics(self, fam: dict[str, GaugeMetricFamily]) -> Iterator[Metric]:
        from lineage.analysis import incidents

        # Folding new failures in here keeps alerts current when nobody reads the incidents API; a store this
        # process may not write (read-only user, busy) still gets the incidents already stored.
        try:
            incidents.sync(self.store)
        except Exception as exc:
            _log.warning("incident sync skipped during a scrape (%s); reporting stored incidents", type(exc).__name__)
        found = incidents.stats(self.store)
        for severity, count in found.open_by_severity.items():
            fam["obs_incidents_open"].add_metric([severity], count)
        yield _histogram("obs_incident_time_to_detect_seconds", found.detect_seconds)
        yield _histogram("obs_incident_time_to_resolve_seconds", found.resolve_seconds)

    def _model_metrics(self) -> Iterator[Metric]:
        from lineage.serve import model_metrics, monitoring_metrics

        with self.store.read() as conn:
            yield from list(model_metrics.model_metrics(conn, self.max_datasets))
            yield from list(monitoring_metrics.monitoring_metrics(conn, self.max_datasets))

    def _warning_metrics(self) -> Iterator[Metric]:
        from lineage.store.warning_tables import warning_totals

        with self.store.read() as conn:
            events, warnings = warning_totals(conn)
        yield _single_gauge("obs_lineage_events_with_warnings", events)
        yield _single_gauge("obs_lineage_event_warnings", warnings)

    def _outbox_metrics(self, now: datetime) -> Iterator[Metric]:
        """The last report of each worker, a same-host outbox read directly in its place when none is recent."""
        from lineage.store import worker_reports

        with self.store.read() as conn:
            rows = worker_reports.latest(conn, now - REPORT_WINDOW, MAX_WORKERS)
        workers = {r.worker: _WorkerOutbox(r.pending, r.dead, r.oldest_pending_age_s, r.spool_files,
                                           max(0.0, (now - r.received_at).total_seconds()), "report") for r in rows}
        local = self._local_outbox()
        if local is not None and (local[0] not in workers or workers[local[0]].age_s > LOCAL_AFTER_S):
            workers[local[0]] = local[1]
        if not workers:
            return
        fam = {name: GaugeMetricFamily(name, FAMILIES[name][0], labels=list(FAMILIES[name][1]))
               for name in OUTBOX_FAMILIES}
        for worker, w in sorted(workers.items()):
            _add_worker_samples(fam, _bounded_label(worker), w)
        yield from (f for f in fam.values() if f.samples)

    def _local_outbox(self) -> tuple[str, _WorkerOutbox] | None:
        """This host's outbox file and spool, read-only (a missing file is not created)."""
        if self.outbox_path is False:
            return None
        from lineage.emission import outbox_report
        from lineage.emission.outbox import default_outbox_path
        from lineage.emission.spool import Spool

        path = Path(self.outbox_path) if self.outbox_path else default_outbox_path()
        try:
            counts = outbox_report.read_counts(path)
        except Exception:  # an unreadable outbox must not break the scrape
            counts = None
        spool = Spool.from_env()
        try:
            spool_files = spool.backlog() if spool is not None else None
        except Exception:  # shared storage unreachable: no sample rather than a broken scrape
            spool_files = None
        if counts is None and spool_files is None:
            return None
        counts = counts or {}
        return outbox_report.worker_id(path), _WorkerOutbox(
            counts.get("pending"), counts.get("dead"), counts.get("oldest_pending_age_s"), spool_files, 0.0, "local")


@dataclass(frozen=True)
class _WorkerOutbox:
    pending: int | None
    dead: int | None
    oldest_pending_age_s: float | None
    spool_files: int | None
    age_s: float
    source: str  # report | local


def _add_worker_samples(fam: dict[str, GaugeMetricFamily], worker: str, w: _WorkerOutbox) -> None:
    if w.pending is not None:
        fam["obs_outbox_backlog"].add_metric([worker], w.pending)
        fam["obs_outbox_oldest_age_seconds"].add_metric([worker], w.oldest_pending_age_s or 0.0)
    if w.dead is not None:
        fam["obs_outbox_dead_letters"].add_metric([worker], w.dead)
    if w.spool_files is not None:
        fam["obs_lineage_spool_files"].add_metric([worker], w.spool_files)
    fam["obs_outbox_report_age_seconds"].add_metric([worker, w.source], w.age_s)


def metrics_registry(store: LineageStore | Callable[[], LineageStore], **options: Any) -> CollectorRegistry:
    """A registry with an :class:`ObservabilityCollector` for ``store`` and the RCA counters."""
    registry = CollectorRegistry()
    registry.register(ObservabilityCollector(store, **options))
    registry.register(RCA_REQUESTS)
    registry.register(RCA_CANDIDATES)
    registry.register(ingest_metrics.INGEST_EVENTS)
    return registry

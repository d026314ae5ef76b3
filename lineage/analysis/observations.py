"""What the store knows of each dataset version, read through the typed facets.

A :class:`DatasetSnapshot` is one version of one dataset: the facets of the run(s) that wrote it in
one partition (unpartitioned datasets: one snapshot per producing run), plus the verdicts of tests
other runs reported on it. Tests run by a consumer (a dbt test, a GX validation action, an asset
check in its own step) are attached to the version they tested: the consumer's partition when it
has one, else the version named by the input's ``version`` facet, else the latest version written
at or before the test ran. Datasets nobody wrote (sources) get a snapshot per test run.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from lineage.facets import (
    Assertion,
    AssertionsFacet,
    DriftDatasetFacet,
    ErrorMessageFacet,
    MetricsFacet,
    OutputStatisticsFacet,
    SchemaFacet,
    TestRunFacet,
    VersionFacet,
    partition_key,
)
from lineage.store import reads

# Facets evidence is drawn from; others (column lineage, documentation...) are not read here.
DATASET_FACETS = ("dataQualityAssertions", "dataQualityMetrics", "drift", "outputStatistics", "schema", "version")
PARTITION_FACETS = ("tags", "nominalTime")  # what a run's partition key is read from
RUN_FACETS = (*PARTITION_FACETS, "errorMessage", "test")
FAILED_STATES = ("FAIL", "ABORT")
SnapshotKey = tuple[int, str | None, int | None]  # (dataset id, partition, run id when unpartitioned)
# Parsed facets kept by their JSON text: most payloads repeat (one schema per dataset across partitions, one
# nominalTime per partition, passing suites), and parsing through the openlineage attrs classes is most of a load.
PARSED_KEPT = 8192
F = TypeVar("F")


@dataclass
class DatasetSnapshot:
    """One dataset version: its producing runs' facets, and tests of it reported by any run."""

    dataset_id: int
    partition: str | None
    time: datetime
    run_ids: set[int] = field(default_factory=set)
    assertions: list[Assertion] = field(default_factory=list)
    metrics: MetricsFacet | None = None
    drift: DriftDatasetFacet | None = None
    schema: SchemaFacet | None = None
    row_count: float | None = None  # outputStatistics.rowCount, else dataQualityMetrics.rowCount
    version: str | None = None
    failed: bool = False
    error: str | None = None
    produced: bool = True  # False: only tests of it are recorded (a source nobody wrote)
    tested_by: dict[int, list[Assertion]] = field(default_factory=dict)  # run id → verdicts it reported

    @property
    def failed_assertions(self) -> list[Assertion]:
        return [a for a in self.assertions if not a.success]

    @property
    def column_types(self) -> dict[str, str]:
        return self.schema.types if self.schema else {}

    @property
    def column_metrics(self) -> dict[str, Any]:
        return dict(self.metrics.columnMetrics) if self.metrics else {}

    @property
    def self_evident(self) -> bool:
        """Failed its own tests, drifted or failed: no baseline for later versions."""
        return self.failed or bool(self.failed_assertions) or bool(self.drift and self.drift.drifted_columns)

    def add_assertions(self, assertions: Iterable[Assertion]) -> None:
        seen = {(a.assertion, a.column, a.name, a.success) for a in self.assertions}
        for a in assertions:
            key = (a.assertion, a.column, a.name, a.success)
            if key not in seen:
                seen.add(key)
                self.assertions.append(a)


@dataclass
class _Runs:
    """Per run: partition, final state, error, failed tests of a ``test`` facet."""

    partition: dict[int, str | None] = field(default_factory=dict)
    failed: dict[int, bool] = field(default_factory=dict)
    error: dict[int, str] = field(default_factory=dict)
    tests: dict[int, TestRunFacet] = field(default_factory=dict)


def load_snapshots(conn: Any, dataset_ids: Sequence[int]) -> dict[int, list[DatasetSnapshot]]:
    """Every recorded version of the datasets, per dataset, in partition then time order."""
    edges = reads.rca_io_edges(conn, dataset_ids)
    facet_groups = _facet_rows(conn, {e.run_id for e in edges}, dataset_ids)
    runs = _read_runs(conn, edges, facet_groups)
    snapshots, producers = _producer_snapshots(edges, runs)
    consumed = {(e.dataset_id, e.run_id): e.event_time for e in edges if (e.dataset_id, e.run_id) not in producers}
    by_dataset: dict[int, list[DatasetSnapshot]] = defaultdict(list)
    for snap in snapshots.values():
        by_dataset[snap.dataset_id].append(snap)
    for rows in facet_groups:
        _apply(rows, producers, consumed, runs, snapshots, by_dataset)
    _attach_test_facets(consumed, runs, snapshots, by_dataset)
    for series in by_dataset.values():
        series.sort(key=lambda s: (s.partition or "", s.time))
    return dict(by_dataset)


def _read_runs(conn: Any, edges: Sequence[Any], facet_groups: Sequence[list[Any]]) -> _Runs:
    """What the snapshots use of each run, read only where used: the partition, state and error of
    the runs writing a version or reporting facets on one; of the runs only reading one (most of them,
    downstream consumers), a failed ``test`` facet, then the partition of those that have one."""
    runs = _Runs()
    producing = {e.run_id for e in edges if e.direction == "out"}
    reporting = producing | {rows[0].run_id for rows in facet_groups}
    reading = {e.run_id for e in edges} - reporting
    _read_run_facets(conn, runs, reporting, RUN_FACETS, partitions=True)
    _read_run_facets(conn, runs, reading, (TestRunFacet.KEY,), partitions=False)
    _read_run_facets(conn, runs, set(runs.tests) & reading, PARTITION_FACETS, partitions=True)
    last: dict[int, tuple[datetime, str | None]] = {}
    for row in reads.rca_run_states(conn, sorted(producing)):  # a version fails with the run writing it
        if row.run_id not in last or row.event_time >= last[row.run_id][0]:
            last[row.run_id] = (row.event_time, row.event_type)
    runs.failed = {run_id: state in FAILED_STATES for run_id, (_, state) in last.items()}
    return runs


def _read_run_facets(conn: Any, runs: _Runs, run_ids: set[int], names: Sequence[str], partitions: bool) -> None:
    """Fill in the error and failed tests (and with ``partitions``, the partition) the named run facets give."""
    if not run_ids:
        return
    facets: dict[int, dict[str, Any]] = defaultdict(dict)
    for run_id, name, payload in reads.rca_run_facets(conn, sorted(run_ids), names):
        facets[run_id][name] = payload  # JSON text; the last one of a name wins
    for run_id in run_ids:
        own = facets.get(run_id, {})
        if partitions:
            runs.partition[run_id] = _partition(own.get("tags"), own.get("nominalTime"))
        error = _parsed(ErrorMessageFacet, own.get("errorMessage"))
        if error is not None:
            runs.error[run_id] = error.headline
        tests = _parsed(TestRunFacet, own.get(TestRunFacet.KEY))
        if tests is not None and tests.failed:
            runs.tests[run_id] = tests


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


@lru_cache(maxsize=PARSED_KEPT)
def _partition(tags: str | None, nominal: str | None) -> str | None:
    return partition_key({k: _json(v) for k, v in (("tags", tags), ("nominalTime", nominal)) if v is not None})


_parsed_facets: dict[tuple[type, str], Any] = {}


def _parsed(cls: type[F], text: str | None) -> F | None:
    """``cls.from_payload`` of the JSON text, parsed once per distinct text (the facets are not modified)."""
    if text is None:
        return None
    key = (cls, text)
    try:
        return _parsed_facets[key]
    except KeyError:
        pass
    facet = cls.from_payload(_json(text))  # type: ignore[attr-defined]
    if len(_parsed_facets) >= PARSED_KEPT:
        _parsed_facets.clear()
    _parsed_facets[key] = facet
    return facet


def _producer_snapshots(edges: Sequence[Any], runs: _Runs) -> tuple[dict[SnapshotKey, DatasetSnapshot],
                                                                    dict[tuple[int, int], DatasetSnapshot]]:
    """Output edges define versions: one per (dataset, partition), or per run when unpartitioned."""
    snapshots: dict[SnapshotKey, DatasetSnapshot] = {}
    producers: dict[tuple[int, int], DatasetSnapshot] = {}
    for e in edges:
        if e.direction != "out":
            continue
        partition = runs.partition.get(e.run_id)
        key = (e.dataset_id, partition, None if partition else e.run_id)
        snap = snapshots.get(key)
        if snap is None:
            snap = snapshots[key] = DatasetSnapshot(e.dataset_id, partition, e.event_time)
        snap.run_ids.add(e.run_id)
        snap.time = max(snap.time, e.event_time)
        producers[(e.dataset_id, e.run_id)] = snap
        if runs.failed.get(e.run_id):
            snap.failed, snap.error = True, runs.error.get(e.run_id)
    return snapshots, producers


def _facet_rows(conn: Any, run_ids: set[int], dataset_ids: Sequence[int]) -> list[list[Any]]:
    """The facet rows per (dataset, run), in the order the runs reported them."""
    rows = reads.rca_dataset_facets(conn, list(run_ids), dataset_ids, DATASET_FACETS)
    grouped: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for row in rows:
        grouped[(row.dataset_id, row.run_id)].append(row)
    return list(grouped.values())


def _apply(rows: list[Any], producers: Mapping[tuple[int, int], DatasetSnapshot],
           consumed: Mapping[tuple[int, int], datetime], runs: _Runs,
           snapshots: dict[SnapshotKey, DatasetSnapshot], by_dataset: dict[int, list[DatasetSnapshot]]) -> None:
    """Facets of one (dataset, run): the version it wrote, or tests of the version it read."""
    dataset_id, run_id = rows[0].dataset_id, rows[0].run_id
    own = producers.get((dataset_id, run_id))
    if own is not None:
        for row in rows:
            if row.scope != "input":
                _set_facet(own, row.facet_name, row.payload)
    verdicts = [a for row in rows if row.facet_name == AssertionsFacet.KEY and (own is None or row.scope == "input")
                for a in (_parsed(AssertionsFacet, row.payload) or _NO_ASSERTIONS).assertions]
    metrics = next((_parsed(MetricsFacet, r.payload) for r in rows
                    if r.facet_name == MetricsFacet.KEY and r.scope == "input"), None)
    if not verdicts and metrics is None:
        return
    versions = [_parsed(VersionFacet, r.payload) for r in rows if r.facet_name == VersionFacet.KEY]
    when = consumed.get((dataset_id, run_id), rows[0].event_time)
    tested = own or _tested_version(dataset_id, run_id, when, versions, runs, snapshots, by_dataset)
    tested.add_assertions(verdicts)
    if verdicts and own is None:
        tested.tested_by.setdefault(run_id, []).extend(verdicts)
    if tested.metrics is None and metrics is not None:
        tested.metrics = metrics
        tested.row_count = tested.row_count if tested.row_count is not None else _rows(metrics.rowCount)


def _tested_version(dataset_id: int, run_id: int, when: datetime, versions: Sequence[VersionFacet | None],
                    runs: _Runs, snapshots: dict[SnapshotKey, DatasetSnapshot],
                    by_dataset: dict[int, list[DatasetSnapshot]]) -> DatasetSnapshot:
    partition = runs.partition.get(run_id)
    series = by_dataset[dataset_id]
    if partition is not None:
        found = next((s for s in series if s.partition == partition), None)
    else:
        named = {v.datasetVersion for v in versions if v is not None}
        found = next((s for s in reversed(series) if s.version in named), None) if named else None
        if found is None:
            earlier = [s for s in series if s.produced and s.time <= when]
            found = max(earlier, key=lambda s: s.time) if earlier else None
    if found is None:
        key = (dataset_id, partition, None if partition else run_id)
        found = snapshots.get(key)
        if found is None:
            found = snapshots[key] = DatasetSnapshot(dataset_id, partition, when, produced=False)
            series.append(found)
    return found


def _attach_test_facets(consumed: Mapping[tuple[int, int], datetime], runs: _Runs,
                        snapshots: dict[SnapshotKey, DatasetSnapshot],
                        by_dataset: dict[int, list[DatasetSnapshot]]) -> None:
    """Failed tests of a run's ``test`` facet count against every dataset the run read."""
    for (dataset_id, run_id), when in consumed.items():
        tests = runs.tests.get(run_id)
        if tests is None:
            continue
        snap = _tested_version(dataset_id, run_id, when, (), runs, snapshots, by_dataset)
        verdicts = [Assertion(assertion=t.type or t.name, success=False, name=t.name, params=None)
                    for t in tests.failed]
        snap.add_assertions(verdicts)
        snap.tested_by.setdefault(run_id, []).extend(verdicts)


def _set_facet(snap: DatasetSnapshot, name: str, payload: str) -> None:
    if name == AssertionsFacet.KEY:
        snap.add_assertions((_parsed(AssertionsFacet, payload) or _NO_ASSERTIONS).assertions)
    elif name == MetricsFacet.KEY:
        snap.metrics = _parsed(MetricsFacet, payload) or snap.metrics
        if snap.row_count is None and snap.metrics is not None:
            snap.row_count = _rows(snap.metrics.rowCount)
    elif name == DriftDatasetFacet.KEY:
        snap.drift = _parsed(DriftDatasetFacet, payload) or snap.drift
    elif name == SchemaFacet.KEY:
        snap.schema = _parsed(SchemaFacet, payload) or snap.schema
    elif name == OutputStatisticsFacet.KEY:
        stats = _parsed(OutputStatisticsFacet, payload)
        if stats is not None and stats.rowCount is not None:
            snap.row_count = float(stats.rowCount)
    elif name == VersionFacet.KEY:
        version = _parsed(VersionFacet, payload)
        snap.version = version.datasetVersion if version else snap.version


_NO_ASSERTIONS = AssertionsFacet(assertions=[])


def _rows(value: int | None) -> float | None:
    return float(value) if value is not None else None

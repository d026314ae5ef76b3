"""Incidents: the failures one fault causes, grouped into one record with a lifecycle.

:func:`sync` reads what was stored since its last call (failed assertions, drift, failed runs, and
passing assertions) from any producer. Each failing dataset-partition (or run, for producers without
partitions) goes through root-cause analysis; failures whose top root cause is the same
``namespace|dataset|column|kind`` share one incident while it is not resolved — the whole echo chain
of one fault in one partition, and the same cause on the next partitions. An incident resolves on
its own once every affected dataset-partition passes its checks again; people acknowledge and
resolve by hand through :func:`acknowledge` / :func:`resolve`.

Severity combines the checks' own severity with the blast radius (models or predictions downstream
of the cause): see :data:`SEVERITY_RULES`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from lineage.store import LineageStore, utcnow
from lineage.store import reads
from lineage.store import tables as t

SEVERITIES = ("low", "medium", "high", "critical")
# (worst check severity, has models/predictions downstream) -> incident severity.
SEVERITY_RULES = {
    ("error", True): "critical",
    ("error", False): "high",
    ("warn", True): "high",
    ("warn", False): "medium",
}
OPEN_STATUSES = ("open", "acknowledged")
CURSOR_FACETS, CURSOR_STATES = "dataset_facets", "run_states"
SCAN_BATCH = 5000  # derived rows read per query while syncing
# AssertionsFacet.KEY, DriftDatasetFacet.KEY (a test checks), named here: a sync that finds nothing new then
# never imports lineage.facets (its ~30 attrs facet classes, attrs too: ~0.05 s of each `obs incidents list`).
SIGNAL_FACETS = ("dataQualityAssertions", "drift")


class IncidentError(LookupError):
    """No such incident, or a transition that does not apply (resolving a resolved incident)."""


class IncidentNotFound(IncidentError):
    """No incident has this id."""


class IncidentConflict(IncidentError):
    """The transition does not apply to the incident's current status."""


@dataclass
class Signal:
    """What one stored facet or run state says about one dataset in one partition (or run)."""

    dataset_id: int
    partition: str | None
    run_uuid: str | None
    time: datetime
    failed_checks: list[str] = field(default_factory=list)
    passed_checks: list[str] = field(default_factory=list)
    severity: str = "warn"

    @property
    def scope(self) -> tuple[int, str]:
        """Partitioned data fails and recovers per partition; other data as a whole (its latest run)."""
        return self.dataset_id, self.partition or ""


@dataclass
class Change:
    """One thing :func:`sync` did to an incident (what alerting sends on)."""

    incident_id: int
    kind: str  # opened | escalated | resolved | updated
    incident: dict[str, Any]


# --------------------------------------------------------------------------- reading signals
def _partitions(conn: Connection, run_ids: Iterable[int]) -> dict[int, tuple[str | None, str]]:
    """run id -> (partition key, run uuid)."""
    ids = sorted({r for r in run_ids if r is not None})
    if not ids:
        return {}
    from lineage.facets import partition_key

    facets: dict[int, dict[str, Any]] = defaultdict(dict)
    for row in reads.rca_run_facets(conn, ids, ["tags", "nominalTime"]):
        facets[row.run_id][row.facet_name] = _json(row.payload)
    uuids = {row.id: row.run_uuid for row in reads.rca_runs(conn, ids)}
    return {r: (partition_key(facets.get(r, {})), uuids.get(r, "")) for r in ids}


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None  # one unreadable stored value never stops a sync


def _facet_signal(row: Any, where: tuple[str | None, str]) -> Signal | None:
    from lineage.facets import AssertionsFacet, DriftDatasetFacet

    partition, run_uuid = where
    signal = Signal(row.dataset_id, partition, run_uuid, row.event_time)
    if row.facet_name == AssertionsFacet.KEY:
        facet = AssertionsFacet.from_payload(_json(row.payload))
        if facet is None:
            return None
        signal.failed_checks = [_check_name(a) for a in facet.failed]
        signal.passed_checks = [_check_name(a) for a in facet.assertions if a.success]
        signal.severity = _worst_check_severity(a.severity for a in facet.failed)
        return signal
    drift = DriftDatasetFacet.from_payload(_json(row.payload))
    if drift is None:
        return None
    drifted = set(drift.drifted_columns)
    signal.failed_checks = [f"drift on {c}" for c in sorted(drifted)]
    signal.passed_checks = [f"drift on {c}" for c in sorted(drift.columns) if c not in drifted]
    return signal


def _check_name(assertion: Any) -> str:
    return assertion.assertion + (f" on {assertion.column}" if assertion.column else "")


def _worst_check_severity(severities: Iterable[str | None]) -> str:
    """dbt and most producers mark blocking tests 'error'; GX 'critical'; anything else is a warning."""
    return "error" if any(str(s or "").lower() in ("error", "critical", "high") for s in severities) else "warn"


def read_signals(store: LineageStore, after: Mapping[str, int]) -> tuple[list[Signal], dict[str, int]]:
    """Signals stored after the cursor, in storage order, and the new cursor."""
    cursor = dict(after)
    with store.read() as conn:
        facet_rows = reads.incident_quality_facets_after(
            conn, cursor.get(CURSOR_FACETS, 0), list(SIGNAL_FACETS), SCAN_BATCH)
        failed_runs = reads.incident_run_states_after(
            conn, cursor.get(CURSOR_STATES, 0), ["FAIL", "ABORT", "COMPLETE"], SCAN_BATCH)
        outputs = _outputs(conn, [r.run_id for r in failed_runs])
        where = _partitions(conn, [r.run_id for r in facet_rows] + [r.run_id for r in failed_runs])
    signals = [s for r in facet_rows if (s := _facet_signal(r, where.get(r.run_id, (None, "")))) is not None]
    for r in failed_runs:
        partition, run_uuid = where.get(r.run_id, (None, ""))
        failed = r.event_type != "COMPLETE"
        signals += [Signal(d, partition, run_uuid, r.event_time, ["run failed"] if failed else [],
                           [] if failed else ["run failed"], severity="error")
                    for d in outputs.get(r.run_id, [])]
    if facet_rows:
        cursor[CURSOR_FACETS] = facet_rows[-1].id
    if failed_runs:
        cursor[CURSOR_STATES] = failed_runs[-1].id
    signals.sort(key=lambda s: s.time)
    return signals, cursor


def _outputs(conn: Connection, run_ids: Sequence[int]) -> dict[int, list[int]]:
    found: dict[int, set[int]] = defaultdict(set)
    for row in reads.incident_run_outputs(conn, run_ids):
        found[row.run_id].add(row.dataset_id)
    return {k: sorted(v) for k, v in found.items()}


# --------------------------------------------------------------------------- diagnosis
@dataclass
class Diagnosis:
    """The top root cause of one failing dataset-partition, as RCA ranks it."""

    cause_key: str
    cause: dict[str, Any]
    causes: list[dict[str, Any]]
    models_downstream: bool


def diagnose(store: LineageStore, namespace: str, name: str, signal: Signal) -> Diagnosis:
    from lineage.analysis.rca import RCAError, analyze
    from lineage.graph.queries import LineageQueryError, impact

    try:
        result = analyze(store, name, namespace=namespace, partition=signal.partition,
                         run_id=None if signal.partition else signal.run_uuid)
        roots = [c for c in result.as_dict()["candidates"] if c.get("echo_of") is None]
    except (RCAError, LineageQueryError):
        roots = []
    keep = ("namespace", "asset", "column", "kind", "score", "partition", "path", "column_path", "evidence")
    causes = [{k: c.get(k) for k in keep} for c in roots[:5]]
    top = causes[0] if causes else {"namespace": namespace, "asset": name, "column": None, "kind": "unknown",
                                    "score": 0.0, "partition": signal.partition, "path": [name], "column_path": [],
                                    "evidence": []}
    try:
        counts = impact(store, top["asset"], namespace=top["namespace"])["counts"]
        models = bool(counts.get("models") or counts.get("predictions"))
    except LineageQueryError:
        models = False
    key = "|".join(str(top.get(k) or "") for k in ("namespace", "asset", "column", "kind"))
    return Diagnosis(key, top, causes, models)


def _title(cause: Mapping[str, Any]) -> str:
    where = cause["asset"] + (f".{cause['column']}" if cause.get("column") else "")
    return f"{cause['kind']} at {where}" if cause.get("kind") != "unknown" else f"failures at {where}"


# --------------------------------------------------------------------------- state
def _row_dict(row: Any) -> dict[str, Any]:
    payload = _json(row.payload) or {}
    iso = (lambda v: v.isoformat() + "Z" if v else None)
    return {
        "id": row.id, "status": row.status, "severity": row.severity, "title": row.title,
        "cause": payload.get("cause"), "causes": payload.get("causes", []), "affected": payload.get("affected", []),
        "partitions": sorted({a["partition"] for a in payload.get("affected", []) if a.get("partition")}),
        "first_seen": iso(row.first_seen), "last_seen": iso(row.last_seen), "detected_at": iso(row.detected_at),
        "acknowledged_at": iso(row.acknowledged_at), "resolved_at": iso(row.resolved_at),
        "resolution": row.resolution,
    }


def _log(conn: Connection, incident_id: int, kind: str, detail: Mapping[str, Any], when: datetime | None = None) -> None:
    conn.execute(t.incident_events.insert().values(incident_id=incident_id, time=when or utcnow(), kind=kind,
                                                 detail=json.dumps(detail, sort_keys=True, default=str)))


def _load_cursor(conn: Connection) -> dict[str, int]:
    return {r.name: int(r.value) for r in conn.execute(select(t.incident_cursor.c.name, t.incident_cursor.c.value))}


def _save_cursor(conn: Connection, cursor: Mapping[str, int]) -> None:
    for name, value in cursor.items():
        updated = conn.execute(t.incident_cursor.update().where(t.incident_cursor.c.name == name).values(value=value))
        if not updated.rowcount:
            conn.execute(t.incident_cursor.insert().values(name=name, value=value))


class _Ledger:
    """The open incidents of one sync, read once, written back at the end in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        rows = conn.execute(select(t.incidents).where(t.incidents.c.status.in_(OPEN_STATUSES))).all()
        self.rows: dict[int, dict[str, Any]] = {r.id: dict(r._mapping) for r in rows}
        self.payloads = {i: _json(r["payload"]) or {} for i, r in self.rows.items()}
        self.changes: dict[int, str] = {}

    def open_for(self, cause_key: str) -> int | None:
        return next((i for i, r in self.rows.items()
                     if r["cause_key"] == cause_key and r["status"] in OPEN_STATUSES), None)

    def create(self, diagnosis: Diagnosis, when: datetime) -> int:
        now = utcnow()
        values = dict(cause_key=diagnosis.cause_key, status="open", severity="low", title=_title(diagnosis.cause),
                      first_seen=when, last_seen=when, detected_at=now, payload="{}")
        incident_id = self.conn.execute(t.incidents.insert().values(**values)).inserted_primary_key[0]
        self.rows[incident_id] = {"id": incident_id, **values, "acknowledged_at": None, "resolved_at": None,
                                  "resolution": None}
        self.payloads[incident_id] = {"cause": diagnosis.cause, "causes": diagnosis.causes, "affected": [],
                                      "models_downstream": diagnosis.models_downstream}
        _log(self.conn, incident_id, "opened", {"cause": diagnosis.cause_key}, when)
        self.changes[incident_id] = "opened"
        return incident_id

    def add_failure(self, incident_id: int, signal: Signal, names: Mapping[int, tuple[str, str]]) -> None:
        payload, row = self.payloads[incident_id], self.rows[incident_id]
        item = _item(payload, signal, names)
        for check in signal.failed_checks:
            item["checks"][check] = "failing"
        item["severity"] = max(item.get("severity", "warn"), signal.severity, key=("warn", "error").index)
        item["last_seen"] = signal.time.isoformat() + "Z"
        row["last_seen"] = max(row["last_seen"], signal.time)
        before = row["severity"]
        row["severity"] = _severity(payload)
        if SEVERITIES.index(row["severity"]) > SEVERITIES.index(before) and before != "low":
            _log(self.conn, incident_id, "escalated", {"from": before, "to": row["severity"]}, signal.time)
            self.changes.setdefault(incident_id, "escalated")
        _log(self.conn, incident_id, "failure", {"dataset": item["dataset"], "partition": signal.partition,
                                                  "checks": signal.failed_checks}, signal.time)
        self.changes.setdefault(incident_id, "updated")

    def widen(self, incident_id: int, diagnosis: Diagnosis) -> None:
        """Keep the cause as seen from the farthest symptom: its path shows how far the fault travelled."""
        payload = self.payloads[incident_id]
        span = (lambda c: (len(c.get("column_path") or []), len(c.get("path") or [])))
        if span(diagnosis.cause) > span(payload["cause"]):
            payload["cause"], payload["causes"] = diagnosis.cause, diagnosis.causes
        payload["models_downstream"] = payload.get("models_downstream") or diagnosis.models_downstream

    def add_pass(self, signal: Signal) -> None:
        for incident_id, payload in self.payloads.items():
            if self.rows[incident_id]["status"] not in OPEN_STATUSES:
                continue
            for item in payload.get("affected", []):
                if (item["dataset_id"], item["scope"]) != (signal.dataset_id, signal.scope[1]):
                    continue
                cleared = [c for c in signal.passed_checks if item["checks"].get(c) == "failing"]
                for check in cleared:
                    item["checks"][check] = "passing"
                if cleared:
                    _log(self.conn, incident_id, "passed", {"dataset": item["dataset"], "partition": signal.partition,
                                                             "checks": cleared}, signal.time)
            if payload.get("affected") and all(
                    state == "passing" for item in payload["affected"] for state in item["checks"].values()):
                self._resolve(incident_id, "auto", signal.time)

    def _resolve(self, incident_id: int, how: str, when: datetime) -> None:
        row = self.rows[incident_id]
        row.update(status="resolved", resolved_at=utcnow(), resolution=how)
        _log(self.conn, incident_id, "resolved", {"by": how}, when)
        self.changes[incident_id] = "resolved"

    def flush(self) -> list[Change]:
        out = []
        for incident_id, kind in sorted(self.changes.items()):
            row = self.rows[incident_id]
            row["payload"] = json.dumps(self.payloads[incident_id], sort_keys=True, default=str)
            self.conn.execute(t.incidents.update().where(t.incidents.c.id == incident_id).values(
                {k: v for k, v in row.items() if k != "id"}))
            out.append(Change(incident_id, kind, _row_dict(_Row(row))))
        return out


class _Row:
    """Attribute access over a dict, so a pending row reads like a database row."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)


def _item(payload: dict[str, Any], signal: Signal, names: Mapping[int, tuple[str, str]]) -> dict[str, Any]:
    scope = signal.scope[1]
    for item in payload.setdefault("affected", []):
        if (item["dataset_id"], item["scope"]) == (signal.dataset_id, scope):
            return item
    namespace, name = names[signal.dataset_id]
    item = {"dataset_id": signal.dataset_id, "namespace": namespace, "dataset": name, "scope": scope,
            "partition": signal.partition, "run_id": signal.run_uuid, "checks": {},
            "first_seen": signal.time.isoformat() + "Z"}
    payload["affected"].append(item)
    payload["affected"].sort(key=lambda i: (i["partition"] or "", i["dataset"]))
    return item


def _severity(payload: Mapping[str, Any]) -> str:
    failing = [i for i in payload.get("affected", []) if "failing" in i["checks"].values()] or payload.get("affected", [])
    worst = "error" if any(i.get("severity") == "error" for i in failing) else "warn"
    return SEVERITY_RULES[(worst, bool(payload.get("models_downstream")))]


# --------------------------------------------------------------------------- sync and the lifecycle
def sync(store: LineageStore) -> list[Change]:
    """Fold everything stored since the last sync into incidents; what changed, one entry per incident."""
    changes: dict[int, Change] = {}
    with store.read() as conn:
        cursor = _load_cursor(conn)
    while True:
        signals, new_cursor = read_signals(store, cursor)
        if new_cursor == cursor:
            break
        diagnoses = _diagnose_all(store, signals)
        with store.write() as conn:
            ledger = _Ledger(conn)
            for signal in signals:
                if signal.passed_checks:
                    ledger.add_pass(signal)
                if signal.failed_checks:
                    _route(ledger, signal, diagnoses)
            for change in ledger.flush():
                kept = changes.get(change.incident_id)
                kind = kept.kind if kept and kept.kind in ("opened", "escalated") and change.kind != "resolved" else change.kind
                changes[change.incident_id] = Change(change.incident_id, kind, change.incident)
            _save_cursor(conn, new_cursor)
        cursor = new_cursor
    return [changes[k] for k in sorted(changes)]


def _route(ledger: _Ledger, signal: Signal, diagnoses: Mapping[tuple[int, str], tuple[Diagnosis, Any]]) -> None:
    diagnosis, names = diagnoses[signal.scope]
    incident_id = ledger.open_for(diagnosis.cause_key)
    if incident_id is None:
        incident_id = ledger.create(diagnosis, signal.time)
    ledger.widen(incident_id, diagnosis)
    ledger.add_failure(incident_id, signal, names)


def _diagnose_all(store: LineageStore, signals: Sequence[Signal]) -> dict[tuple[int, str], tuple[Diagnosis, Any]]:
    """One RCA per failing dataset-partition (its latest failing signal)."""
    failing = {s.scope: s for s in signals if s.failed_checks}
    names = _dataset_names(store, {s.dataset_id for s in failing.values()})
    return {scope: (diagnose(store, *names[s.dataset_id], s), names) for scope, s in failing.items()}


def _dataset_names(store: LineageStore, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    with store.read() as conn:
        return reads.dataset_names(conn, ids)


def list_incidents(store: LineageStore, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Newest first; ``status`` one of open, acknowledged, resolved (or None for all)."""
    query = select(t.incidents).order_by(t.incidents.c.last_seen.desc(), t.incidents.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(t.incidents.c.status == status)
    with store.read() as conn:
        return [_row_dict(r) for r in conn.execute(query)]


def get_incident(store: LineageStore, incident_id: int) -> dict[str, Any]:
    with store.read() as conn:
        row = conn.execute(select(t.incidents).where(t.incidents.c.id == incident_id)).first()
        if row is None:
            raise IncidentNotFound(f"no incident {incident_id}; `obs incidents list` shows the stored ones")
        timeline = conn.execute(select(t.incident_events).where(t.incident_events.c.incident_id == incident_id)
                                .order_by(t.incident_events.c.time, t.incident_events.c.id)).all()
    return {**_row_dict(row), "timeline": [
        {"time": e.time.isoformat() + "Z", "kind": e.kind, **(_json(e.detail) or {})} for e in timeline]}


def acknowledge(store: LineageStore, incident_id: int, *, by: str | None = None) -> dict[str, Any]:
    return _transition(store, incident_id, "acknowledged", by)


def resolve(store: LineageStore, incident_id: int, *, by: str | None = None) -> dict[str, Any]:
    return _transition(store, incident_id, "resolved", by)


def _transition(store: LineageStore, incident_id: int, status: str, by: str | None) -> dict[str, Any]:
    current = get_incident(store, incident_id)["status"]
    if current == "resolved" or current == status:
        raise IncidentConflict(f"incident {incident_id} is already {current}")
    now = utcnow()
    values: dict[str, Any] = {"status": status}
    values.update({"acknowledged_at": now} if status == "acknowledged" else {"resolved_at": now, "resolution": "manual"})
    with store.write() as conn:
        conn.execute(t.incidents.update().where(t.incidents.c.id == incident_id).values(**values))
        _log(conn, incident_id, status, {"by": by or "user"}, now)
    return get_incident(store, incident_id)


@dataclass
class IncidentStats:
    """What metrics show of incidents: open ones by severity, and how fast they were found and fixed."""

    open_by_severity: dict[str, int]
    detect_seconds: list[float]  # failure stored → incident opened
    resolve_seconds: list[float]  # incident opened → resolved


def stats(store: LineageStore) -> IncidentStats:
    c = t.incidents.c
    with store.read() as conn:
        rows = conn.execute(select(c.status, c.severity, c.first_seen, c.detected_at, c.resolved_at)).all()
    opened = defaultdict(int)
    for r in rows:
        if r.status in OPEN_STATUSES:
            opened[r.severity] += 1
    return IncidentStats(
        {s: opened.get(s, 0) for s in SEVERITIES},
        [max(0.0, (r.detected_at - r.first_seen).total_seconds()) for r in rows],
        [max(0.0, (r.resolved_at - r.detected_at).total_seconds()) for r in rows if r.resolved_at],
    )

"""OpenLineage events for any Dagster asset, built from what the run left in Dagster's event log.

No code runs inside the user's assets: per finished run, each asset step becomes START + COMPLETE (or FAIL,
with the real error and stack trace) of one OpenLineage run. Inputs come from the asset graph; schema,
column lineage and row count from the standard ``dagster/*`` materialization metadata; assertions and the
drift facet from the run's check evaluations (``obs/assertions`` / ``obs/drift`` metadata of the toolkit's
checks add per-column detail). Check evaluations of assets not materialized in the run become check runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from openlineage.client import event_v2

from lineage.emission import events as ev
from lineage.emission import facets as fc
from lineage.emission.events import EmissionSettings
from lineage.facets import ErrorMessageFacet

ASSERTIONS_METADATA = "obs/assertions"
DRIFT_METADATA = "obs/drift"
_TYPES = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_FAILURE,
          dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_CHECK_EVALUATION}


@dataclass(frozen=True)
class AssetGraph:
    """What events need of the definitions: each asset's upstream assets and each step's assets."""

    upstream: Mapping[dg.AssetKey, tuple[dg.AssetKey, ...]]
    step_assets: Mapping[str, tuple[dg.AssetKey, ...]]
    descriptions: Mapping[dg.AssetKey, str] = field(default_factory=dict)

    @classmethod
    def of(cls, defs: dg.Definitions) -> AssetGraph:
        upstream, descriptions, steps = {}, {}, {}
        for spec in defs.resolve_all_asset_specs():
            upstream[spec.key] = tuple(d.asset_key for d in spec.deps)
            if spec.description:
                descriptions[spec.key] = spec.description
        for assets_def in defs.assets or ():
            if isinstance(assets_def, dg.AssetsDefinition) and assets_def.is_executable:
                steps.setdefault(assets_def.node_def.name, ())
                steps[assets_def.node_def.name] += tuple(assets_def.keys)
        return cls(upstream=upstream, step_assets=steps, descriptions=descriptions)


@dataclass
class _Step:
    started: float | None = None
    materializations: list[dg.AssetMaterialization] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    failure: Any = None


def _iso(ts: float | None) -> str | None:
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).isoformat() if ts else None


def _value(md: Mapping[str, Any], key: str) -> Any:
    """The plain value of a metadata entry (schema, column lineage, JSON, number)."""
    raw = md.get(key)
    if isinstance(raw, dg.TableSchemaMetadataValue):
        return raw.schema
    if isinstance(raw, dg.TableColumnLineageMetadataValue):
        return raw.column_lineage
    return raw.value if isinstance(raw, dg.MetadataValue) else raw


def _assertions(evaluation) -> list[dict]:
    listed = _value(evaluation.metadata or {}, ASSERTIONS_METADATA)
    severity = evaluation.severity.value.lower() if evaluation.severity else "error"
    out = [{"assertion": evaluation.check_name, "success": bool(evaluation.passed), "column": None,
            "severity": severity}]
    if isinstance(listed, list):
        out += [a for a in listed if isinstance(a, Mapping) and a.get("assertion")]
    return out


class RunEvents:
    """The OpenLineage events of one finished Dagster run."""

    def __init__(self, graph: AssetGraph, settings: EmissionSettings, run, entries: Iterable,
                 skip: frozenset[dg.AssetKey] = frozenset()):
        self.graph, self.settings, self.run, self.skip = graph, settings, run, skip
        self.partition = run.tags.get("dagster/partition")
        self.steps: dict[str, _Step] = {}
        self.evaluations: list = []
        for entry in entries:
            self._add(entry)

    def _add(self, entry) -> None:
        kind = entry.dagster_event_type
        if kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            self.evaluations.append(entry.asset_check_evaluation)
            return
        step = self.steps.setdefault(entry.step_key or "", _Step())
        if kind == dg.DagsterEventType.STEP_START:
            step.started = entry.timestamp
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            step.failure = entry.dagster_event.step_failure_data.error
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            step.materializations.append(entry.asset_materialization)
            step.times.append(entry.timestamp)

    def _name(self, key: dg.AssetKey) -> str:
        return self.settings.dataset_name(list(key.path))

    def _common(self, step_key: str, key: dg.AssetKey, partition: str | None) -> dict[str, Any]:
        s = self.settings
        return dict(
            run_id=ev.step_run_id(self.run.run_id, step_key, key.to_user_string(), partition),
            job_namespace=s.job_namespace, job_name=self._name(key), producer=s.producer,
            job_facets_=ev.job_facets(description=self.graph.descriptions.get(key)),
            run_facets={"parent": ev.parent_facet(self.run.run_id, s.job_namespace, self.run.job_name),
                        **ev.partition_run_facets(partition)},
        )

    def _inputs(self, key: dg.AssetKey) -> list[event_v2.InputDataset]:
        return [event_v2.InputDataset(namespace=self.settings.dataset_namespace, name=self._name(k))
                for k in self.graph.upstream.get(key, ())]

    def _checks_of(self, key: dg.AssetKey, partition: str | None) -> list:
        return [e for e in self.evaluations if e.asset_key == key and (e.partition or self.partition) == partition]

    def _output(self, m: dg.AssetMaterialization) -> event_v2.OutputDataset:
        md, s, facets, output_facets = m.metadata or {}, self.settings, {}, {}
        schema = _value(md, "dagster/column_schema")
        if isinstance(schema, dg.TableSchema):
            facets["schema"] = fc.schema_facet((c.name, c.type) for c in schema.columns)
        lineage = _value(md, "dagster/column_lineage")
        if isinstance(lineage, dg.TableColumnLineage):
            deps = {col: [(s.dataset_namespace, self._name(d.asset_key), d.column_name) for d in col_deps]
                    for col, col_deps in lineage.deps_by_column.items()}
            if facet := fc.column_lineage_facet(deps):
                facets["columnLineage"] = facet
        checks = self._checks_of(m.asset_key, m.partition)
        if facet := fc.assertions_facet(a for e in checks for a in _assertions(e)):
            facets["dataQualityAssertions"] = facet
        for e in checks:
            drift = _value(e.metadata or {}, DRIFT_METADATA)
            if isinstance(drift, Mapping):
                facets["drift"] = fc.DriftDatasetFacet.from_fact(drift)
        facets["version"] = ev.dataset_version(f"{self.run.run_id}/{m.partition or ''}".rstrip("/"))
        rows = _value(md, "dagster/row_count")
        if stats := fc.output_statistics(int(rows) if isinstance(rows, (int, float)) else None):
            output_facets["outputStatistics"] = stats
        return event_v2.OutputDataset(namespace=s.dataset_namespace, name=self._name(m.asset_key), facets=facets,
                                      outputFacets=output_facets)

    def _step_events(self, step_key: str, step: _Step) -> list[event_v2.RunEvent]:
        out = []
        for m, at in zip(step.materializations, step.times):
            if m.asset_key in self.skip:
                continue
            common = self._common(step_key, m.asset_key, m.partition)
            bare = event_v2.OutputDataset(namespace=self.settings.dataset_namespace, name=self._name(m.asset_key))
            out.append(ev.run_event(event_v2.RunState.START, event_time=_iso(step.started or at),
                                    inputs=self._inputs(m.asset_key), outputs=[bare], **common))
            out.append(ev.run_event(event_v2.RunState.COMPLETE, event_time=_iso(at),
                                    inputs=self._inputs(m.asset_key), outputs=[self._output(m)], **common))
        if step.failure is not None:
            done = {m.asset_key for m in step.materializations}
            for key in self.graph.step_assets.get(step_key, ()):
                if key not in done and key not in self.skip:
                    out += self._failure(step_key, step, key)
        return out

    def _failure(self, step_key: str, step: _Step, key: dg.AssetKey) -> list[event_v2.RunEvent]:
        error = step.failure
        while error.cause is not None:  # Dagster wraps the user's exception: report the user's own
            error = error.cause
        common = self._common(step_key, key, self.partition)
        message = (f"{error.cls_name}: {error.message}" if error.cls_name else error.message).strip()[:2000]
        facet = ErrorMessageFacet(message=message, programmingLanguage="PYTHON", stackTrace="".join(error.stack or []))
        bare = [event_v2.OutputDataset(namespace=self.settings.dataset_namespace, name=self._name(key))]
        common["run_facets"] = {**common["run_facets"], "errorMessage": facet}
        start = {**common, "run_facets": {k: v for k, v in common["run_facets"].items() if k != "errorMessage"}}
        return [ev.run_event(event_v2.RunState.START, event_time=_iso(step.started), inputs=self._inputs(key),
                             outputs=bare, **start),
                ev.run_event(event_v2.RunState.FAIL, inputs=self._inputs(key), outputs=bare, **common)]

    def _check_runs(self) -> list[event_v2.RunEvent]:
        """Evaluations of assets this run did not materialize (checks run on their own)."""
        from observability_pipelines.observe.openlineage import check_run_events

        written = {(m.asset_key, m.partition) for s in self.steps.values() for m in s.materializations}
        out = []
        for e in self.evaluations:
            partition = e.partition or self.partition
            if (e.asset_key, partition) in written or e.asset_key in self.skip:
                continue
            out += check_run_events(self.settings, dagster_run_id=self.run.run_id, dagster_job=self.run.job_name,
                                    step_key=f"{'__'.join(e.asset_key.path)}_{e.check_name}", asset_key=e.asset_key,
                                    check_name=e.check_name, assertions=_assertions(e), partition=partition)
        return out

    def events(self) -> list[event_v2.RunEvent]:
        out: list[event_v2.RunEvent] = []
        for step_key, step in self.steps.items():
            out += self._step_events(step_key, step)
        return out + self._check_runs()


def run_entries(instance: dg.DagsterInstance, run_id: str, types: Sequence = tuple(_TYPES)):
    """The run's event-log entries of ``types``, page by page (``get_records_for_run``: no @public
    run-scoped query exists in Dagster 1.13)."""
    cursor = None
    while True:
        page = instance.get_records_for_run(run_id, cursor=cursor, of_type=set(types), limit=1000)
        for record in page.records:
            yield record.event_log_entry
        if not page.has_more:
            return
        cursor = page.cursor

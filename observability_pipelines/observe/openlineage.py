"""OpenLineage for observed assets: an ``Observer`` that emits START / COMPLETE / FAIL run events,
the ``OpenLineageResource`` (Dagster resource) that holds the emission settings, and a wrapper for
``@dg.asset_check`` functions that run in their own step.

Attach it like any observer::

    observed_asset(name=..., observers=[OpenLineageObserver(), ...])
    dg.Definitions(..., resources={"openlineage": OpenLineageResource()})

Events go to the local durable outbox first (``$OBS_OUTBOX_PATH`` or
``$DAGSTER_HOME/lineage_outbox.db``), then one delivery attempt bounded by ``budget_seconds``
is made; the ``outbox_flush_sensor`` and ``obs outbox flush`` deliver the rest, in order. A START is
stored at once but delivered with its COMPLETE / FAIL (one backend transaction for a short step) or
``START_DELIVERY_DELAY_S`` after it, whichever comes first. Where
events go is openlineage-python's own configuration (``openlineage.yml`` /
``OPENLINEAGE__TRANSPORT__*`` / ``OPENLINEAGE_URL``); without any, the embedded lineage store
(``$OBS_LINEAGE_URL`` over HTTP, else its database directly). See ``lineage.emission``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg
import pandas as pd
from openlineage.client import event_v2
from openlineage.client.facet_v2 import dataset_type_dataset, processing_engine_run
from pydantic import Field

from lineage.emission import events as ev
from lineage.emission import facets as fc
from lineage.emission.emitter import LineageEmitter, LineageNotRecorded
from lineage.emission.events import EmissionSettings
from lineage.gcpause import gc_paused
from observability_pipelines.observe.artifacts import ModelArtifact
from observability_pipelines.observe.asset import Observation, Observer

log = logging.getLogger(__name__)

RESOURCE_KEY = "openlineage"
START_DELIVERY_DELAY_S = 1.0  # a step's START reaches the backend with its end, or this long after it started
_STATE = "_openlineage"
_emitters: dict[tuple, LineageEmitter] = {}
_emitters_lock = threading.Lock()


class OpenLineageResource(dg.ConfigurableResource):
    """Emission settings; unset fields come from the environment when the run starts.

    ``OBS_OL_NAMESPACE`` (job namespace, default ``dagster``), ``OBS_OL_DATASET_NAMESPACE``
    (default ``dagster://observability_pipelines``), ``OBS_OL_NUMERIC_AGGREGATES`` (``0`` drops
    min/max/sum/quantiles), ``OBS_OUTBOX_PATH``. The backend itself is openlineage-python's config.
    """

    enabled: bool = Field(default=True, description="Emit events at all.")
    job_namespace: str | None = Field(default=None, description="Job namespace (else $OBS_OL_NAMESPACE).")
    dataset_namespace: str | None = Field(
        default=None, description="Dataset namespace (else $OBS_OL_DATASET_NAMESPACE)."
    )
    outbox_path: str | None = Field(default=None, description="Outbox SQLite file (else $OBS_OUTBOX_PATH).")
    spool: str | None = Field(
        default=None,
        description="Shared folder or URL (s3://...) where a worker hands over events it could not deliver, for "
        "the daemon's outbox_flush_sensor to deliver (else $OBS_LINEAGE_SPOOL; unset: events wait in the "
        "local outbox). Set it when steps run on machines that go away (Celery, k8s).",
    )
    budget_seconds: float = Field(
        default=2.0, ge=0.0, le=30.0, description="Max time a step spends delivering (the outbox keeps the rest)."
    )
    input_metrics: bool = Field(default=True, description="dataQualityMetrics facets on inputs.")
    numeric_aggregates: bool | None = Field(
        default=None, description="min/max/sum/quantiles of numeric columns (else $OBS_OL_NUMERIC_AGGREGATES, on)."
    )
    content_hash: bool = Field(default=True, description="datasetVersion from a content hash of the output.")
    private_columns: list[str] | None = Field(
        default=None, description="Columns that get counts only, no value aggregates (e.g. a contract's sensitive "
        "columns; added to $OBS_OL_PRIVATE_COLUMNS). See lineage.emission.privacy.",
    )

    def settings(self) -> EmissionSettings:
        return EmissionSettings.from_env(
            job_namespace=self.job_namespace,
            dataset_namespace=self.dataset_namespace,
            numeric_aggregates=self.numeric_aggregates,
            input_metrics=self.input_metrics,
            content_hash=self.content_hash,
            private_columns=tuple(self.private_columns or ()),
        )

    def emitter(self) -> LineageEmitter:
        """One emitter per process and outbox (it caches the backend connection)."""
        from lineage.emission.outbox import default_outbox_path

        from lineage.emission.spool import SPOOL_ENV

        path = str(self.outbox_path or default_outbox_path())
        spool = self.spool or os.environ.get(SPOOL_ENV) or None
        key = (path, float(self.budget_seconds), spool)
        with _emitters_lock:
            emitter = _emitters.get(key)
            if emitter is None:
                emitter = _emitters[key] = LineageEmitter(outbox_path=path, budget_s=self.budget_seconds, spool=spool)
            return emitter

    def emit(self, *events: Any, defer_s: float | None = None) -> Any:
        """Store and try to deliver (``defer_s``: see ``LineageEmitter.emit``); returns the delivery
        attempt's ``FlushResult`` (None: no attempt)."""
        if not self.enabled:
            return None
        try:
            return self.emitter().emit(*events, defer_s=defer_s)
        except LineageNotRecorded:
            raise  # neither stored nor delivered: fail the step rather than lose lineage silently
        except Exception as exc:  # a bug in emission: report, never fail the asset for lineage
            log.error("could not record lineage events: %s", exc)
            return None


def reset_emitters() -> None:
    """Forget cached emitters (tests switch backends through the environment)."""
    with _emitters_lock:
        for emitter in _emitters.values():
            emitter.close()
        _emitters.clear()


# --------------------------------------------------------------------------- helpers on the Dagster context
def _step_key(context: Any) -> str:
    """The step's op name: the step key of every (top-level, unmapped) asset or check step; public API,
    unlike the step execution context. The asset key in the run id keeps multi-asset steps apart."""
    return context.op_def.name


def _asset_path(key: dg.AssetKey) -> list[str]:
    return list(key.path)


def _source_url(metadata: Mapping[str, Any]) -> str | None:
    refs = metadata.get("dagster/code_references")
    for ref in getattr(refs, "code_references", None) or []:
        if getattr(ref, "url", None):
            return str(ref.url)
        if getattr(ref, "file_path", None):
            line = getattr(ref, "line_number", None)
            return f"file://{ref.file_path}" + (f"#L{line}" if line else "")
    return None


def _engine_facet() -> processing_engine_run.ProcessingEngineRunFacet:
    from openlineage.client.constants import __version__ as ol_version

    return processing_engine_run.ProcessingEngineRunFacet(
        version=dg.__version__, name="Dagster", openlineageAdapterVersion=ol_version
    )


class OpenLineageObserver(Observer):
    """Emits OpenLineage START, COMPLETE and FAIL events for each materialization of the asset."""

    emits_lineage = True

    def __init__(self, resource_key: str = RESOURCE_KEY) -> None:
        self.resource_key = resource_key
        self.required_resource_keys = frozenset({resource_key})

    def _resource(self, obs: Observation) -> OpenLineageResource:
        return getattr(obs.context.resources, self.resource_key)

    # ------------------------------------------------------------------ building blocks
    def _base(self, obs: Observation, resource: OpenLineageResource) -> dict[str, Any]:
        state = obs.facts.get(_STATE)
        if state is not None:
            return state
        settings = resource.settings()
        context = obs.context
        key = context.assets_def.key if context.has_assets_def else dg.AssetKey(obs.asset)
        assets_def = context.assets_def
        run_id = ev.step_run_id(context.run.run_id, _step_key(context), key.to_user_string(), obs.partition,
                                context.retry_number)
        inputs: list[tuple[str, str | None]] = []  # (dataset name, input name or None)
        seen = set()
        for input_name, in_key in assets_def.keys_by_input_name.items():
            inputs.append((settings.dataset_name(_asset_path(in_key)), input_name))
            seen.add(in_key)
        for dep in sorted(assets_def.asset_deps.get(key, ()), key=lambda k: k.to_user_string()):
            if dep not in seen and dep != key:
                inputs.append((settings.dataset_name(_asset_path(dep)), None))
        metadata = assets_def.metadata_by_key.get(key, {})
        state = {
            "settings": settings,
            "key": key,
            "run_id": run_id,
            "job_name": settings.dataset_name(_asset_path(key)),
            "output_name": settings.dataset_name(_asset_path(key)),
            "inputs": inputs,
            "code_version": assets_def.code_versions_by_key.get(key),
            "job_facets": ev.job_facets(
                description=assets_def.descriptions_by_key.get(key),
                source_url=_source_url(metadata),
                owners=assets_def.owners_by_key.get(key, ()),
            ),
            "run_facets": {
                "parent": ev.parent_facet(context.run.run_id, settings.job_namespace, context.job_name),
                **ev.partition_run_facets(obs.partition),
                "processing_engine": _engine_facet(),
            },
        }
        obs.facts[_STATE] = state
        return state

    def _event(self, state: dict[str, Any], event_type: event_v2.RunState, *, run_facets=None, inputs=(),
               outputs=()) -> event_v2.RunEvent:
        settings: EmissionSettings = state["settings"]
        return ev.run_event(
            event_type,
            run_id=state["run_id"],
            job_namespace=settings.job_namespace,
            job_name=state["job_name"],
            producer=settings.producer,
            run_facets={**state["run_facets"], **(run_facets or {})},
            job_facets_=state["job_facets"],
            inputs=inputs,
            outputs=outputs,
        )

    def _inputs(self, obs: Observation, state: dict[str, Any], with_metrics: bool) -> list[event_v2.InputDataset]:
        settings: EmissionSettings = state["settings"]
        out = []
        for name, input_name in state["inputs"]:
            facets: dict[str, Any] = {}
            input_facets: dict[str, Any] = {}
            value = obs.inputs.get(input_name) if input_name else None
            if isinstance(value, ModelArtifact):
                facets["version"] = ev.dataset_version(value.version)
            elif with_metrics and settings.input_metrics and value is not None:
                metrics = fc.data_quality_metrics(value, **settings.metric_options())
                if metrics is not None:
                    input_facets["dataQualityMetrics"] = metrics
            out.append(event_v2.InputDataset(namespace=settings.dataset_namespace, name=name, facets=facets,
                                             inputFacets=input_facets))
        return out

    def _output(self, obs: Observation, state: dict[str, Any]) -> event_v2.OutputDataset:
        settings: EmissionSettings = state["settings"]
        md = obs.metadata
        facets: dict[str, Any] = {}
        output_facets: dict[str, Any] = {}
        schema = md.get("dagster/column_schema")
        schema = getattr(schema, "schema", schema)
        if isinstance(schema, dg.TableSchema):
            facets["schema"] = fc.schema_facet((c.name, c.type) for c in schema.columns)
        if facet := self._column_lineage(md, state):
            facets["columnLineage"] = facet
        frame = obs.value if isinstance(obs.value, pd.DataFrame) else None
        # one isna pass for the metrics and the fingerprint (which counts nulls above FULL_HASH_MAX_ROWS)
        shared = frame is not None and (settings.input_metrics or len(frame) > fc.FULL_HASH_MAX_ROWS)
        nulls = fc.null_counts(frame) if shared else None
        version = self._version(obs, state, nulls)
        if version:
            facets["version"] = ev.dataset_version(version)
        if dataset_type := _dataset_type(obs):
            facets["datasetType"] = dataset_type_dataset.DatasetTypeDatasetFacet(datasetType=dataset_type)
        assertions = list(obs.facts.get("assertions") or [])
        named = {(str(a.get("assertion")), a.get("column")) for a in assertions if isinstance(a, Mapping)}
        for result in obs.check_results:
            if (result.check_name, None) not in named:
                assertions.append({
                    "assertion": result.check_name, "success": bool(result.passed), "column": None,
                    "severity": result.severity.value.lower() if result.severity else "error",
                })
        if facet := fc.assertions_facet(assertions):
            facets["dataQualityAssertions"] = facet
        drift = obs.facts.get("drift")
        if isinstance(drift, Mapping):
            facets["drift"] = fc.DriftDatasetFacet.from_fact(drift)
        rows = md.get("dagster/row_count")
        rows = getattr(rows, "value", rows)
        if rows is None and isinstance(obs.value, pd.DataFrame):
            rows = len(obs.value)
        if stats := fc.output_statistics(int(rows) if rows is not None else None):
            output_facets["outputStatistics"] = stats
        # The written version's own column metrics: a dataset nobody reads yet (a final table) has no
        # consumer reporting them on its inputs, and RCA needs its quantiles (scale vs shift, nulls).
        if settings.input_metrics and frame is not None:
            if metrics := fc.data_quality_metrics(frame, nulls=nulls, **settings.metric_options()):
                output_facets["dataQualityMetrics"] = metrics
        return event_v2.OutputDataset(namespace=settings.dataset_namespace, name=state["output_name"],
                                      facets=facets, outputFacets=output_facets)

    @staticmethod
    def _column_lineage(md: Mapping[str, Any], state: dict[str, Any]) -> Any:
        """The output's ``columnLineage`` facet. Beyond the store's per-event limits the lineage goes in parts:
        the first here, the others (``state["lineage_parts"]``) in RUNNING events of the same run sent just
        before the COMPLETE (``_complete``)."""
        settings: EmissionSettings = state["settings"]
        lineage = md.get("dagster/column_lineage")
        lineage = getattr(lineage, "column_lineage", lineage)
        if not isinstance(lineage, dg.TableColumnLineage):
            return None
        names: dict[dg.AssetKey, str] = {}  # one name per upstream asset (not per edge: 10k-edge tables)

        def named(key: dg.AssetKey) -> str:
            if key not in names:
                names[key] = settings.dataset_name(_asset_path(key))
            return names[key]

        deps = {
            column: [(settings.dataset_namespace, named(d.asset_key), d.column_name) for d in column_deps]
            for column, column_deps in lineage.deps_by_column.items()
        }
        first, *state["lineage_parts"] = fc.column_lineage_parts(deps)
        return fc.column_lineage_facet(first)

    @staticmethod
    def _version(obs: Observation, state: dict[str, Any], nulls: Any = None) -> str | None:
        value = obs.value
        code = state.get("code_version")
        if isinstance(value, ModelArtifact):
            data = value.version
        elif isinstance(value, pd.DataFrame) and state["settings"].content_hash:
            data = fc.content_hash(value, nulls=nulls)
        else:
            data = f"{obs.context.run.run_id}/{obs.partition or ''}".rstrip("/")
        return f"{code}:{data}" if code else data

    # ------------------------------------------------------------------ hooks
    def _report(self, obs: Observation, what: str, build: Callable[[dict[str, Any]], Any],
                defer_s: float | None = None) -> None:
        """Build one event from the step's state and emit it; a build error is logged, never raised
        (lineage must not fail, or mask the outcome of, the materialization)."""
        resource = self._resource(obs)
        if not resource.enabled:
            return
        # building and sending allocate many small acyclic objects (see gcpause); a START waiting for its
        # delivery goes with this event rather than alone while this one is built
        with gc_paused(), self._held(resource, defer_s):
            try:
                events = build(self._base(obs, resource))
            except Exception as exc:
                obs.context.log.warning(f"OpenLineage {what} not built: {exc}")
                return
            result = resource.emit(*(events if isinstance(events, list) else [events]), defer_s=defer_s)
        if getattr(result, "dead", 0):  # refused by the backend (e.g. beyond the store's limits): say so here
            obs.context.log.warning(
                f"OpenLineage {what}: {result.dead} lineage event(s) refused by the backend, kept as 'dead' in the "
                f"outbox {resource.emitter().outbox.path} (see `obs outbox status`; the reason is logged)")

    @staticmethod
    def _held(resource: OpenLineageResource, defer_s: float | None) -> Any:
        if defer_s is not None or not resource.enabled:
            return contextlib.nullcontext()
        try:
            return resource.emitter().deferred_held()
        except Exception:  # no emitter (bad settings): emit reports it
            return contextlib.nullcontext()

    @staticmethod
    def _bare_output(state: dict[str, Any]) -> event_v2.OutputDataset:
        return event_v2.OutputDataset(namespace=state["settings"].dataset_namespace, name=state["output_name"])

    def on_start(self, obs: Observation) -> None:
        # Stored now; delivered with the COMPLETE / FAIL (one backend transaction) or START_DELIVERY_DELAY_S later.
        self._report(obs, "START", lambda state: self._event(
            state, event_v2.RunState.START, inputs=self._inputs(obs, state, with_metrics=False),
            outputs=[self._bare_output(state)]), defer_s=START_DELIVERY_DELAY_S)

    def on_success(self, obs: Observation) -> None:
        self._report(obs, "COMPLETE", lambda state: self._complete(obs, state))

    def _complete(self, obs: Observation, state: dict[str, Any]) -> list[event_v2.RunEvent]:
        """The COMPLETE event, preceded by a RUNNING event for each further part of a column lineage too
        large for one event (all in one outbox transaction and, as far as the backend takes, one batch)."""
        inputs, output = self._inputs(obs, state, with_metrics=True), self._output(obs, state)
        parts = [
            self._event(state, event_v2.RunState.RUNNING, outputs=[event_v2.OutputDataset(
                namespace=output.namespace, name=output.name, facets={"columnLineage": fc.column_lineage_facet(part)})])
            for part in state.pop("lineage_parts", [])
        ]
        return [*parts, self._event(state, event_v2.RunState.COMPLETE, inputs=inputs, outputs=[output])]

    def on_failure(self, obs: Observation, error: BaseException) -> None:
        self._report(obs, "FAIL", lambda state: self._event(
            state, event_v2.RunState.FAIL, run_facets={"errorMessage": ev.error_facet(error)},
            inputs=self._inputs(obs, state, with_metrics=False), outputs=[self._bare_output(state)]))


# --------------------------------------------------------------------------- asset checks in their own step
def check_events(
    resource: OpenLineageResource,
    *,
    dagster_run_id: str,
    dagster_job: str,
    step_key: str,
    asset_key: dg.AssetKey,
    check_name: str,
    results: list[dg.AssetCheckResult] | None,
    error: BaseException | None = None,
    partition: str | None = None,
    dataset_facets: Mapping[str, Any] | None = None,
) -> list[event_v2.RunEvent]:
    """START + COMPLETE (or FAIL) of a check job reading the checked dataset, whose input facet
    ``dataQualityAssertions`` carries the check outcomes (and ``dataset_facets``, e.g. a typed
    ``modelPerformance`` facet, the dataset facets of the version it checked)."""
    assertions = [
        {
            "assertion": r.check_name or check_name, "success": bool(r.passed), "column": None,
            "severity": r.severity.value.lower() if r.severity else "error",
        }
        for r in results or []
    ]
    return check_run_events(resource.settings(), dagster_run_id=dagster_run_id, dagster_job=dagster_job,
                            step_key=step_key, asset_key=asset_key, check_name=check_name,
                            assertions=assertions, error=error, partition=partition, dataset_facets=dataset_facets)


def check_run_events(
    settings: EmissionSettings,
    *,
    dagster_run_id: str,
    dagster_job: str,
    step_key: str,
    asset_key: dg.AssetKey,
    check_name: str,
    assertions: list[Mapping[str, Any]],
    error: BaseException | None = None,
    partition: str | None = None,
    dataset_facets: Mapping[str, Any] | None = None,
) -> list[event_v2.RunEvent]:
    """The events of one check evaluation, from its assertions (``check_events`` for in-process results)."""
    dataset = settings.dataset_name(_asset_path(asset_key))
    job_name = f"{dataset}:{check_name}"
    run_id = ev.step_run_id(dagster_run_id, step_key, job_name, partition)
    run_facets = {
        "parent": ev.parent_facet(dagster_run_id, settings.job_namespace, dagster_job),
        **ev.partition_run_facets(partition),
        "processing_engine": _engine_facet(),
    }
    job_facets = ev.job_facets(description=f"Asset check {check_name} of {dataset}", job_type="ASSET_CHECK")
    common = dict(run_id=run_id, job_namespace=settings.job_namespace, job_name=job_name,
                  producer=settings.producer, job_facets_=job_facets)
    start = ev.run_event(event_v2.RunState.START, run_facets=run_facets,
                         inputs=[event_v2.InputDataset(namespace=settings.dataset_namespace, name=dataset)], **common)
    if error is not None:
        end = ev.run_event(event_v2.RunState.FAIL, run_facets={**run_facets, "errorMessage": ev.error_facet(error)},
                           inputs=[event_v2.InputDataset(namespace=settings.dataset_namespace, name=dataset)], **common)
        return [start, end]
    facet = fc.assertions_facet(assertions)
    end = ev.run_event(
        event_v2.RunState.COMPLETE, run_facets=run_facets, **common,
        inputs=[event_v2.InputDataset(
            namespace=settings.dataset_namespace, name=dataset, facets=dict(dataset_facets or {}),
            inputFacets={"dataQualityAssertions": facet} if facet else {},
        )],
    )
    return [start, end]


def lineage_asset_check(fn: Callable[..., Any] | None = None, *, resource_key: str = RESOURCE_KEY):
    """Wrap an ``@dg.asset_check`` function so its evaluation is reported as OpenLineage events.

    Put it *under* the Dagster decorator and require the resource::

        @dg.asset_check(asset="orders", required_resource_keys={"openlineage"})
        @lineage_asset_check
        def ids_unique(context, orders): ...
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(context, *args, **kwargs):
            error: BaseException | None = None
            result: Any = None
            try:
                result = func(context, *args, **kwargs)
                return result
            except BaseException as exc:
                error = exc
                raise
            finally:
                _report_check(context, resource_key, func.__name__, result, error)

        return wrapper

    return decorate(fn) if fn is not None else decorate


def _report_check(context: Any, resource_key: str, default_name: str, result: Any, error: BaseException | None,
                  facets: Callable[[dg.AssetCheckResult], Mapping[str, Any]] | None = None) -> None:
    try:
        resource = getattr(context.resources, resource_key)
        if not resource.enabled:
            return
        results = [result] if isinstance(result, dg.AssetCheckResult) else [
            r for r in (result or []) if isinstance(r, dg.AssetCheckResult)
        ] if isinstance(result, (list, tuple)) else []
        spec = next(iter(context.check_specs), None) if hasattr(context, "check_specs") else None
        asset_key = (results[0].asset_key if results and results[0].asset_key else None) or (
            spec.asset_key if spec else dg.AssetKey(default_name)
        )
        check_name = (results[0].check_name if results and results[0].check_name else None) or (
            spec.name if spec else default_name
        )
        op_context = getattr(context, "op_execution_context", context)
        partition = op_context.partition_key if getattr(op_context, "has_partition_key", False) else None
        events = check_events(
            resource, dagster_run_id=op_context.run.run_id, dagster_job=op_context.job_name,
            step_key=_step_key(op_context), asset_key=asset_key, check_name=check_name,
            results=results, error=error, partition=partition,
            dataset_facets=facets(results[0]) if facets is not None and results and error is None else None,
        )
        resource.emit(*events)
    except LineageNotRecorded as lost:
        if error is None:
            raise  # lineage would be lost: fail the check step (never mask the check's own error)
        log.error("OpenLineage events for asset check %s lost: %s", default_name, lost)
    except Exception as exc:  # reporting must never mask the check's own outcome
        log.warning("OpenLineage events for asset check %s not emitted: %s", default_name, exc)


def reported_asset_check(
    *,
    resource_key: str = RESOURCE_KEY,
    facets: Callable[[dg.AssetCheckResult], Mapping[str, Any]] | None = None,
    **check_kwargs: Any,
):
    """``@dg.asset_check`` whose evaluations are also emitted as OpenLineage events.

    The function may or may not take ``context``; the check gets the emission resource either way.
    ``facets(result)`` gives typed dataset facets (``{key: facet}``) of the checked version to send with
    the evaluation, e.g. a ``modelPerformance`` facet built from the result's metadata.
    """
    import inspect
    import warnings

    def decorate(func: Callable[..., Any]) -> dg.AssetChecksDefinition:
        params = list(inspect.signature(func).parameters.values())
        takes_context = bool(params) and params[0].name == "context"
        # Unannotated: a sibling missing for the partition arrives as None and is reported, not type-failed.
        inputs = [p.replace(annotation=inspect.Parameter.empty) for p in (params[1:] if takes_context else params)]

        def wrapper(context, **kwargs):
            result: Any = None
            error: BaseException | None = None
            try:
                missing = [name for name, value in kwargs.items() if value is None]
                if missing:
                    # A sibling not materialized for this partition (yet): nothing to compare, say so.
                    result = dg.AssetCheckResult(
                        passed=True,
                        description=f"Not evaluated: {', '.join(missing)} not materialized for this partition.",
                        metadata={"evaluated": dg.MetadataValue.int(0)},
                    )
                    return result
                result = func(context, **kwargs) if takes_context else func(**kwargs)
                return result
            except BaseException as exc:
                error = exc
                raise
            finally:
                _report_check(context, resource_key, func.__name__, result, error, facets)

        wrapper.__name__ = func.__name__
        wrapper.__doc__ = func.__doc__
        wrapper.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD), *inputs]
        )
        keys = set(check_kwargs.pop("required_resource_keys", set())) | {resource_key}
        if check_kwargs.get("partitions_def") is not None:
            check_kwargs["additional_ins"] = {
                name: dg.AssetIn(key=ai.key, metadata={**(ai.metadata or {}), "allow_missing_partitions": True},
                                 partition_mapping=ai.partition_mapping)
                for name, ai in (check_kwargs.get("additional_ins") or {}).items()
            }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.PreviewWarning)
            return dg.asset_check(required_resource_keys=keys, **check_kwargs)(wrapper)

    return decorate


DATASET_TYPE_METADATA = "obs/dataset_type"


def _dataset_type(obs: Observation) -> str | None:
    """MODEL for model artifacts; else the asset's ``obs/dataset_type`` metadata (e.g. PREDICTION), so
    consumers (impact, incident severity) recognise models and predictions by facet, not by name."""
    if isinstance(obs.value, ModelArtifact):
        return "MODEL"
    try:
        declared = obs.context.assets_def.metadata_by_key.get(obs.context.asset_key, {})
    except Exception:  # no single asset in this context (multi-asset): nothing declared
        return None
    value = declared.get(DATASET_TYPE_METADATA)
    value = getattr(value, "value", value)
    return str(value).upper() if value else None

"""``with_observability``: the toolkit added to an existing Dagster project in one call.

    defs = with_observability(dg.Definitions(assets=[...]), expectations_dir="expectations")

returns the same definitions plus, for every materializable asset: a GE suite check when
``<expectations_dir>/<asset>.json`` exists, a drift check when the asset is partitioned (or only the
``drift`` selection), OpenLineage events for every materialization and check evaluation (``lineage_sensor``),
the RCA/incident and outbox sensors, and step spans of the plain assets' runs when tracing is configured
(``integrate/step_spans.py``). Checks read the asset's value through the asset's own IO manager.
Assets written with ``observed_asset`` keep their own checks and events and get nothing twice.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path

import dagster as dg

from observability_pipelines.observe.asset import INLINE, LINEAGE_METADATA
from observability_pipelines.observe.openlineage import OpenLineageResource

EXPECTATIONS_ENV = "OBS_EXPECTATIONS_DIR"


def _materializable(defs: dg.Definitions) -> Iterator[tuple[dg.AssetsDefinition, dg.AssetKey]]:
    for assets_def in defs.assets or ():
        if isinstance(assets_def, dg.AssetsDefinition) and assets_def.is_materializable:
            for key in sorted(assets_def.keys, key=lambda k: k.to_user_string()):
                yield assets_def, key


def _inline(assets_def: dg.AssetsDefinition, key: dg.AssetKey) -> bool:
    value = assets_def.metadata_by_key.get(key, {}).get(LINEAGE_METADATA)
    return getattr(value, "value", value) == INLINE


def suite_name(key: dg.AssetKey) -> str:
    """The suite file of an asset: ``<asset>.json`` (a multi-part key's parts joined by ``__``)."""
    return "__".join(key.path)


def _existing_checks(defs: dg.Definitions) -> set[dg.AssetCheckKey]:
    return {k for c in defs.asset_checks or () for k in getattr(c, "check_keys", ())}


def observability_checks(defs: dg.Definitions, *, expectations_dir: str | Path | None,
                         drift: bool | Collection[str], drift_window: int,
                         drift_columns: Mapping[str, Sequence[str]]) -> list[dg.AssetChecksDefinition]:
    from observability_pipelines.checks.asset_checks import drift_check, ge_suite_checks

    root = Path(expectations_dir) if expectations_dir else None
    taken = _existing_checks(defs)
    checks = []
    for assets_def, key in _materializable(defs):
        if _inline(assets_def, key):
            continue  # observed_asset: its observers already check it
        partitions_def = assets_def.partitions_def
        suite = suite_name(key)
        if root is not None and (root / f"{suite}.json").is_file() and \
                dg.AssetCheckKey(key, f"ge_{suite}_errors") not in taken:
            checks.append(ge_suite_checks(key, suite, directory=root, partitions_def=partitions_def))
        wanted = drift is True or (not isinstance(drift, bool) and key.to_user_string() in drift)
        if wanted and partitions_def is not None and dg.AssetCheckKey(key, "drift") not in taken:
            checks.append(drift_check(key, partitions_def, window=drift_window,
                                      columns=drift_columns.get(key.to_user_string()),
                                      io_manager_key=assets_def.get_io_manager_key_for_asset_key(key)))
    return checks


def _sensors(defs: dg.Definitions, lineage: bool, incidents: bool,
             openlineage: OpenLineageResource | None) -> list[dg.SensorDefinition]:
    from observability_pipelines.automation.lineage_sensor import build_lineage_sensor
    from observability_pipelines.automation.outbox_sensor import outbox_flush_sensor
    from observability_pipelines.automation.rca_sensor import rca_sensor
    from observability_pipelines.automation.trace_sensor import trace_sensors
    from observability_pipelines.integrate.step_spans import step_span_sensors
    from observability_pipelines.observe.dagster_events import AssetGraph

    have = {s.name for s in defs.sensors or ()}
    sensors = []
    if lineage and "lineage_sensor" not in have:
        skip = [key for assets_def, key in _materializable(defs) if _inline(assets_def, key)]
        sensors.append(build_lineage_sensor(AssetGraph.of(defs), skip=skip, resource=openlineage))
    if "outbox_flush_sensor" not in have:
        sensors.append(outbox_flush_sensor)
    if incidents and "rca_sensor" not in have:
        sensors.append(rca_sensor)
    sensors += [sensor for sensor in trace_sensors if sensor.name not in have]  # run spans, when tracing is on
    # step spans of plain assets (observed assets record theirs while they run)
    observed_steps = {assets_def.op.name for assets_def, key in _materializable(defs) if _inline(assets_def, key)}
    sensors += [sensor for sensor in step_span_sensors(observed_steps) if sensor.name not in have]
    return sensors


def with_observability(
    defs: dg.Definitions,
    *,
    expectations_dir: str | Path | None = None,
    drift: bool | Collection[str] = True,
    drift_window: int = 7,
    drift_columns: Mapping[str, Sequence[str]] | None = None,
    lineage: bool = True,
    incidents: bool = True,
    openlineage: OpenLineageResource | None = None,
) -> dg.Definitions:
    """``defs`` plus GE suite checks, drift checks, OpenLineage events and the RCA/incident/outbox sensors.

    ``expectations_dir``: where ``<asset>.json`` suites (GX Core 1.x JSON) are (default
    ``$OBS_EXPECTATIONS_DIR``; none: no GE checks). ``drift``: ``True`` for every partitioned asset, ``False``
    for none, or the asset names to check. ``drift_columns``: columns per asset (default: numeric, boolean
    and low-cardinality columns, identifiers left out). ``openlineage``: emission settings (default: from
    the environment, like ``OpenLineageResource()``).
    """
    from observability_pipelines.automation.rca_sensor import RCA_REPORT, rca_report

    expectations_dir = expectations_dir or os.environ.get(EXPECTATIONS_ENV) or None
    checks = observability_checks(defs, expectations_dir=expectations_dir, drift=drift, drift_window=drift_window,
                                  drift_columns=dict(drift_columns or {}))
    sensors = _sensors(defs, lineage, incidents, openlineage)
    has_report = any(RCA_REPORT in getattr(a, "keys", {getattr(a, "key", None)}) for a in defs.assets or ())
    extra = dg.Definitions(asset_checks=checks, sensors=sensors,
                           assets=[rca_report] if incidents and not has_report else [])
    return dg.Definitions.merge(defs, extra)

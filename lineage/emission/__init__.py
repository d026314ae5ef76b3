"""OpenLineage emission: event builders, facets (incl. the custom ``drift`` facet), a durable
local outbox and ordered, bounded delivery to any openlineage-python transport or to the
embedded lineage store."""

from lineage.emission.delivery import (
    CallableSink,
    DeliveryError,
    FlushResult,
    LineageHttpSink,
    StoreSink,
    TransportSink,
    flush,
    resolve_sink,
)
from lineage.emission.emitter import LineageEmitter
from lineage.emission.events import EmissionSettings, rehydrate, step_run_id, to_dict
from lineage.emission.facets import DRIFT_SCHEMA_URL, DriftDatasetFacet, data_quality_metrics, drift_schema
from lineage.emission.outbox import Outbox, OutboxStatus, default_outbox_path

__all__ = [
    "DRIFT_SCHEMA_URL",
    "CallableSink",
    "DeliveryError",
    "DriftDatasetFacet",
    "EmissionSettings",
    "FlushResult",
    "LineageEmitter",
    "LineageHttpSink",
    "Outbox",
    "OutboxStatus",
    "StoreSink",
    "TransportSink",
    "data_quality_metrics",
    "default_outbox_path",
    "drift_schema",
    "flush",
    "rehydrate",
    "resolve_sink",
    "step_run_id",
    "to_dict",
]

"""OpenLineage emission: event builders, facets (incl. the custom ``drift`` facet), a durable
local outbox and ordered, bounded delivery through openlineage-python transports, the embedded
lineage store's own among them (``lineage.emission.transports``)."""

from lineage.emission.delivery import DeliveryError, FlushResult, flush, resolve_transport
from lineage.emission.emitter import LineageEmitter
from lineage.emission.events import EmissionSettings, rehydrate, step_run_id, to_dict
from lineage.emission.facets import DRIFT_SCHEMA_URL, DriftDatasetFacet, data_quality_metrics, drift_schema
from lineage.emission.outbox import Outbox, OutboxStatus, default_outbox_path
from lineage.emission.transports import (
    BatchTransport,
    CallableTransport,
    LineageApiTransport,
    LineageStoreTransport,
)

__all__ = [
    "BatchTransport",
    "CallableTransport",
    "LineageApiTransport",
    "LineageStoreTransport",
    "DRIFT_SCHEMA_URL",
    "DeliveryError",
    "DriftDatasetFacet",
    "EmissionSettings",
    "FlushResult",
    "LineageEmitter",
    "Outbox",
    "OutboxStatus",
    "data_quality_metrics",
    "default_outbox_path",
    "drift_schema",
    "flush",
    "rehydrate",
    "resolve_transport",
    "step_run_id",
    "to_dict",
]

"""OpenLineage emission: event builders, facets (incl. the custom ``drift`` facet), a durable
local outbox and ordered, bounded delivery through openlineage-python transports, the embedded
lineage store's own among them (``lineage.emission.transports``)."""

from importlib import import_module
from typing import Any

# Exports load on first use (PEP 562): `obs outbox status` reads the outbox without importing
# pandas (the metrics facets) and the openlineage client (the event builders and transports).
_EXPORTS = {
    "DeliveryError": "delivery", "FlushResult": "delivery", "flush": "delivery", "resolve_transport": "delivery",
    "LineageEmitter": "emitter",
    "EmissionSettings": "events", "rehydrate": "events", "step_run_id": "events", "to_dict": "events",
    "DRIFT_SCHEMA_URL": "facets", "DriftDatasetFacet": "facets", "data_quality_metrics": "facets",
    "drift_schema": "facets",
    "Outbox": "outbox", "OutboxStatus": "outbox", "default_outbox_path": "outbox",
    "BatchTransport": "transports", "CallableTransport": "transports", "LineageApiTransport": "transports",
    "LineageStoreTransport": "transports",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


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

"""``type: obs_callable``: hand each batch to a function ``ingest(events: list[dict])``.

``ingest`` is a callable, or in yaml/env a dotted path (``package.module.function``). Any exception it
raises is transient: the events stay in the outbox and are retried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attr
from openlineage.client.transport import Config, register_transport
from openlineage.client.utils import import_from_string

from lineage.emission.transports.base import BatchTransport, DeliveryError

Ingest = Callable[[list[dict[str, Any]]], Any]


@attr.define
class CallableConfig(Config):
    ingest: Ingest
    max_batch: int = 500

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> CallableConfig:
        ingest = params.get("ingest")
        if isinstance(ingest, str):
            ingest = import_from_string(ingest)
        if not callable(ingest):
            raise ValueError("obs_callable transport needs `ingest`: a callable or its dotted path")
        return cls(ingest=ingest, max_batch=int(params.get("max_batch", 500)))


@register_transport
class CallableTransport(BatchTransport):
    kind = "obs_callable"
    config_class = CallableConfig

    def __init__(self, config: CallableConfig) -> None:
        self._ingest = config.ingest
        self.max_batch = config.max_batch
        self.name = getattr(config.ingest, "__name__", "callable")

    @classmethod
    def of(cls, ingest: Ingest, *, max_batch: int = 500) -> CallableTransport:
        return cls(CallableConfig(ingest=ingest, max_batch=max_batch))

    def send(self, events: Sequence[dict[str, Any]], timeout: float) -> None:
        try:
            self._ingest(list(events))
        except Exception as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc

"""``type: obs_lineage_store``: write events straight into the lineage store database (no server).

Configure it like any openlineage-python transport::

    transport:                      # openlineage.yml
      type: obs_lineage_store
      url: postgresql://user@host/lineage   # optional: else $OBS_LINEAGE_DB, else $DAGSTER_HOME/lineage.db

or ``OPENLINEAGE__TRANSPORT__TYPE=obs_lineage_store`` (and ``OPENLINEAGE__TRANSPORT__URL=...``). The short
name is registered when :mod:`lineage.emission` is imported (our emitter always does); a plain
openlineage-python client elsewhere can name the class instead:
``type: lineage.emission.transports.store.LineageStoreTransport``.
An event the store cannot keep (see ``LineageStore.ingest``) is a permanent failure: it goes ``dead``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attr
from openlineage.client.transport import Config, register_transport

from lineage.emission.transports.base import BatchTransport, DeliveryError


@attr.define
class LineageStoreConfig(Config):
    url: str | None = None  # SQLAlchemy URL of the store; None: $OBS_LINEAGE_DB / the local default
    store: Any = None  # an open LineageStore to write into (not set by the transport factory)

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> LineageStoreConfig:
        return cls(url=params.get("url") or None, store=params.get("store"))


@register_transport
class LineageStoreTransport(BatchTransport):
    kind = "obs_lineage_store"
    config_class = LineageStoreConfig
    max_batch = 500

    def __init__(self, config: LineageStoreConfig) -> None:
        self.config = config
        self._store = config.store
        self._owned = config.store is None  # a store we opened is ours to dispose of
        self.name = "lineage-store"

    @property
    def store(self) -> Any:
        if self._store is None:
            from lineage.store import LineageStore

            self._store = LineageStore.open(self.config.url)
        return self._store

    def send(self, events: Sequence[dict[str, Any]], timeout: float) -> None:
        from lineage.store.validation import EventValidationError

        try:
            result = self.store.ingest(list(events))
        except EventValidationError as exc:  # strict mode (OBS_LINEAGE_STRICT): nothing was written
            index = exc.index if exc.index is not None else (0 if len(events) == 1 else None)
            raise DeliveryError(str(exc), permanent=index is not None, index=index) from exc
        except Exception as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if result.rejected:
            # Lenient mode stored the rest; that one goes dead and the others are resent (duplicates, no-ops).
            first = result.rejected[0]
            raise DeliveryError(f"lineage store refused event #{first['index']}: {first['path']}: {first['message']}",
                                permanent=True, index=first["index"])

    def close(self, timeout: float = -1) -> bool:
        if self._store is not None and self._owned:
            self._store.dispose()
            self._store = None
        return True

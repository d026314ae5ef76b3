"""``type: obs_lineage_api``: the embedded lineage API, ``POST <url>/api/v1/lineage`` with a JSON array.

Unlike openlineage-python's ``http`` transport (one event per request) a batch is one request and one
transaction on the server. ``api_key`` is sent as ``Authorization: Bearer <api_key>``::

    transport:
      type: obs_lineage_api
      url: http://127.0.0.1:5055
      api_key: ...            # the server's OBS_LINEAGE_TOKEN, if it has one
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attr
import httpx  # at import time, not in the first emit's delivery budget (it takes ~1 s to load)
from openlineage.client.transport import Config, register_transport

from lineage.emission.redact import redact
from lineage.emission.transports.base import BatchTransport, DeliveryError, is_permanent_status

INGEST_ENDPOINT = "api/v1/lineage"


@attr.define
class LineageApiConfig(Config):
    url: str
    api_key: str | None = None

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> LineageApiConfig:
        if not params.get("url"):
            raise ValueError("obs_lineage_api transport needs `url` (the lineage API base URL)")
        return cls(url=str(params["url"]), api_key=params.get("api_key") or params.get("apiKey") or None)


@register_transport
class LineageApiTransport(BatchTransport):
    kind = "obs_lineage_api"
    config_class = LineageApiConfig
    max_batch = 200

    def __init__(self, config: LineageApiConfig) -> None:
        # Credentials in the URL become basic auth, so the URL httpx logs and errors quote holds none.
        base = httpx.URL(config.url.rstrip("/"))
        auth = httpx.BasicAuth(base.username, base.password) if base.username or base.password else None
        base = base.copy_with(username=None, password=None)
        self.url = f"{base}/{INGEST_ENDPOINT}"
        self.name = f"lineage-api:{redact(config.url)}"  # shown in status and logs: never a password
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        # Loading the CA bundle costs a good part of the first emit's budget; plain http has no TLS to verify
        # (and redirects, e.g. to https, are not followed).
        self._client = httpx.Client(headers=headers, auth=auth, verify=self.url.startswith("https://"))

    def send(self, events: Sequence[dict[str, Any]], timeout: float) -> None:
        body = list(events) if len(events) > 1 else events[0]
        try:
            resp = self._client.post(self.url, json=body, timeout=httpx.Timeout(max(0.05, timeout)))
        except httpx.HTTPError as exc:
            raise DeliveryError(redact(f"{type(exc).__name__}: {exc}")) from exc
        if resp.status_code == 207:  # a batch stored in part: the refused event goes dead, the rest is resent
            raise _partial_rejection(resp)
        if resp.status_code < 300:
            return
        raise _rejection(resp, len(events))

    def post(self, endpoint: str, body: Any, timeout: float) -> int:
        """POST ``body`` to another endpoint of the same API, with the same credentials; the status code
        (``lineage.emission.outbox_report`` sends worker reports this way). Raises ``httpx.HTTPError``."""
        url = self.url.removesuffix(INGEST_ENDPOINT) + endpoint.lstrip("/")
        return self._client.post(url, json=body, timeout=httpx.Timeout(max(0.05, timeout))).status_code

    def close(self, timeout: float = -1) -> bool:
        self._client.close()
        return True


def _partial_rejection(resp: Any) -> DeliveryError:
    """HTTP 207: the API stored the good events of the batch and names each one it refused by ``index``
    (as the store transport's lenient ingest does); without an index nothing can be marked dead."""
    try:
        first = (resp.json().get("rejected") or [{}])[0]
    except (ValueError, AttributeError):
        first = {}
    index = first.get("index") if isinstance(first.get("index"), int) else None
    detail = f"{first.get('path', '')}: {first.get('message', '')}" if first else resp.text[:500]
    return DeliveryError(f"lineage API refused event #{index}: {detail}", permanent=index is not None, index=index)


def _rejection(resp: Any, batch_size: int) -> DeliveryError:
    """The API names the offending event's ``index``; without it nothing can be marked dead."""
    permanent = is_permanent_status(resp.status_code)
    index = None
    if permanent:
        try:
            index = resp.json().get("index")
        except ValueError:
            index = None
        if index is None and batch_size == 1:
            index = 0
    return DeliveryError(f"HTTP {resp.status_code}: {resp.text[:500]}", permanent=permanent and index is not None,
                         index=index)

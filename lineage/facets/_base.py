"""The facet base classes of openlineage-python (``openlineage.client.generated.base``), declared here.

Importing anything of ``openlineage.client`` runs the client package's ``__init__`` (client, transports,
httpx, requests: ~0.3 s), which a reader of stored facets (`obs rca`, `obs lineage ...`) never needs. These
classes have the client's fields in the client's order, its defaults (``_producer`` = the client's current
producer, ``_schemaURL`` from ``_get_schema()``), validators and ``skip_redact``, so ``Serde.to_json`` of a
facet is byte for byte what the client's class gives (tests/lineage/facets/test_client_parity.py), and the
facets attach to the client's ``event_v2`` classes in emission unchanged.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, ClassVar

import attr

SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/"  # the base facets' schema
FACETS_SPEC = "https://openlineage.io/spec/facets/"  # the standard facets' schemas
_CLIENT_BASE = "openlineage.client.generated.base"


def client_producer() -> str:
    """The producer the client stamps on a facet built without one: its ``PRODUCER`` (changed by
    ``set_producer``) once the client is imported, else its default."""
    base = sys.modules.get(_CLIENT_BASE)
    return getattr(base, "PRODUCER", None) or _client_default_producer()


@functools.cache
def _client_default_producer() -> str:
    # The client's constants module, run on its own: importing it would run the client package's __init__.
    # importlib.metadata would give the version too, but scanning the environment's packages takes ~0.3 s.
    from importlib import util

    spec = util.find_spec("openlineage")
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(location) / "client" / "constants.py"
        if path.is_file():
            namespace: dict[str, Any] = {}
            exec(compile(path.read_text("utf-8"), str(path), "exec"), namespace)  # noqa: S102 - the client's own file
            return str(namespace["DEFAULT_PRODUCER"])
    from openlineage.client.constants import DEFAULT_PRODUCER  # not a plain file (a zipped install): slow, same value

    return DEFAULT_PRODUCER


def check_url(_instance: Any, _attribute: Any, value: str) -> None:
    """The client's URL check of ``_producer``/``_schemaURL`` (urlparse raises on a malformed netloc)."""
    from urllib.parse import urlparse

    urlparse(value)


def check_date_time(_instance: Any, _attribute: Any, value: str | None) -> None:
    """The client's check of a ``date-time`` field: ISO-8601 with a time part (``None`` passes)."""
    if value is None:
        return
    from dateutil import parser  # imported when a timestamp is checked, as the client does

    parser.isoparse(value)
    if "t" not in value.lower():
        raise ValueError(f"Parsed date-time has to contain time: {value}")


class RedactMixin:
    """The client's ``RedactMixin``: fields its secret redaction (e.g. in Airflow) leaves alone."""

    _skip_redact: ClassVar[list[str]] = []

    @property
    def skip_redact(self) -> list[str]:
        return self._skip_redact


@attr.define
class BaseFacet(RedactMixin):
    """All fields of the base facet are prefixed with ``_`` to avoid name conflicts in facets."""

    _producer: str = attr.field(default="", kw_only=True, validator=check_url)  # noqa: N815
    _schemaURL: str = attr.field(default=SPEC + "BaseFacet", init=False, validator=check_url)  # noqa: N815
    _base_skip_redact: ClassVar[list[str]] = ["_producer", "_schemaURL"]
    _additional_skip_redact: ClassVar[list[str]] = []

    def __attrs_post_init__(self) -> None:
        if not self._producer:
            self._producer = client_producer()
        self._schemaURL = self._get_schema()

    @property
    def skip_redact(self) -> list[str]:
        return self._base_skip_redact + self._additional_skip_redact

    @staticmethod
    def _get_schema() -> str:
        return SPEC + "BaseFacet"


@attr.define
class DatasetFacet(BaseFacet):
    """A dataset facet; ``_deleted``: set to true to delete a facet."""

    _deleted: bool | None = attr.field(default=None, kw_only=True)

    @staticmethod
    def _get_schema() -> str:
        return SPEC + "DatasetFacet"


@attr.define
class InputDatasetFacet(BaseFacet):
    @staticmethod
    def _get_schema() -> str:
        return SPEC + "InputDatasetFacet"


@attr.define
class OutputDatasetFacet(BaseFacet):
    @staticmethod
    def _get_schema() -> str:
        return SPEC + "OutputDatasetFacet"


@attr.define
class RunFacet(BaseFacet):
    @staticmethod
    def _get_schema() -> str:
        return SPEC + "RunFacet"

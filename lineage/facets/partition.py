"""The partition key of a run: one encoder (:func:`partition_facets`) and one decoder (:func:`partition_key`).

A run of a partition carries

* ``tags``: ``dagster/partition`` = the exact key (``2026-03-02``, ``2026-03-02-13:00``, ``2026-03-02|eu``),
  and ``dagster/partition/<dimension>`` per dimension of a multi-dimensional key;
* ``nominalTime``: the key's time window when the key (or one dimension of it) is a daily
  ``YYYY-MM-DD`` or hourly ``YYYY-MM-DD-HH:MM`` key — what other OpenLineage consumers read.

The decoder prefers the tag, so every key comes back as it went in. Events without it (stored
before the tag existed, or from other producers: Airflow sends only ``nominalTime``) decode from
the window: a whole-day window starting at midnight → ``YYYY-MM-DD`` (what earlier versions stored),
one hour → ``YYYY-MM-DD-HH:MM``, anything else → the start as ``YYYY-MM-DDTHH:MM:SS``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from lineage.facets.run import NominalTimeFacet, TagsFacet

PARTITION_TAG = "dagster/partition"
DIMENSION_TAG_PREFIX = PARTITION_TAG + "/"
HOURLY_FORMAT = "%Y-%m-%d-%H:%M"
MULTI_SEPARATOR = "|"  # Dagster's MultiPartitionKey joins dimension keys (ordered by dimension name) with "|"


def time_window(key: str) -> tuple[dt.datetime, dt.datetime] | None:
    """The UTC window of a daily or hourly key (or of the first such dimension of a multi key)."""
    for part in key.split(MULTI_SEPARATOR):
        try:
            start = dt.datetime.strptime(part, HOURLY_FORMAT)
            return start, start + dt.timedelta(hours=1)
        except ValueError:
            pass
        try:
            day = dt.date.fromisoformat(part) if len(part) == 10 else None
        except ValueError:
            day = None
        if day is not None:
            start = dt.datetime.combine(day, dt.time())
            return start, start + dt.timedelta(days=1)
    return None


def partition_facets(key: str | None, dimensions: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run facets (``tags``, ``nominalTime``) that encode a partition key; ``{}`` without a key.

    ``dimensions`` (dimension name → key) of a multi-dimensional key; a Dagster ``MultiPartitionKey``
    passed as ``key`` gives them itself (``keys_by_dimension``).
    """
    if not key:
        return {}
    dims = dict(dimensions or getattr(key, "keys_by_dimension", None) or {})
    tags = {PARTITION_TAG: str(key), **{DIMENSION_TAG_PREFIX + str(d): str(v) for d, v in sorted(dims.items())}}
    facets: dict[str, Any] = {TagsFacet.KEY: TagsFacet.build(tags, source="DAGSTER")}
    window = time_window(str(key))
    if window is not None:
        facets[NominalTimeFacet.KEY] = NominalTimeFacet.build(*window)
    return facets


def partition_key(run_facets: Mapping[str, Any]) -> str | None:
    """The partition key of a run from its facets (facet name → payload dict or typed facet)."""
    tags = TagsFacet.from_payload(run_facets.get(TagsFacet.KEY))
    if tags is not None and tags.as_dict().get(PARTITION_TAG):
        return tags.as_dict()[PARTITION_TAG]
    nominal = NominalTimeFacet.from_payload(run_facets.get(NominalTimeFacet.KEY))
    return key_of_window(*nominal.window) if nominal is not None else None


def partition_dimensions(run_facets: Mapping[str, Any]) -> dict[str, str]:
    """Dimension name → key of a multi-dimensional partition (``{}`` otherwise)."""
    tags = TagsFacet.from_payload(run_facets.get(TagsFacet.KEY))
    found = tags.as_dict() if tags is not None else {}
    return {k[len(DIMENSION_TAG_PREFIX):]: v for k, v in found.items() if k.startswith(DIMENSION_TAG_PREFIX)}


def key_of_window(start: dt.datetime, end: dt.datetime | None) -> str:
    midnight = start.time() == dt.time()
    if end is not None and end - start == dt.timedelta(hours=1):
        return start.strftime(HOURLY_FORMAT)
    whole_days = end is None or (end - start) % dt.timedelta(days=1) == dt.timedelta(0)
    if midnight and whole_days:
        return start.date().isoformat()
    return start.strftime("%Y-%m-%dT%H:%M:%S")


_FOREIGN_DATE = re.compile(r"\d{1,4}[/.]\d{1,2}[/.]\d{1,4}")


def check_partition_key(key: str) -> str:
    """``key`` unchanged, or ValueError when it holds a date in another format than the partitions'
    ``YYYY-MM-DD`` (daily) / ``YYYY-MM-DD-HH:MM`` (hourly): such a key can never match a stored one."""
    if not key.strip() or _FOREIGN_DATE.search(key):
        raise ValueError(f"partition {key!r} is not a partition key: use YYYY-MM-DD (daily), "
                         "YYYY-MM-DD-HH:MM (hourly) or the key as Dagster shows it")
    return key

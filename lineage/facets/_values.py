"""Tolerant coercion of JSON values from any producer: a bad value becomes ``None``, never an error.

Numbers are bounded: JSON allows integers of any length (a 401-digit ``rowCount`` is valid JSON and
is stored as sent), so a value beyond the bounds below reads as absent instead of overflowing a
float conversion or the arithmetic of a metric or an RCA score. Ingest warns about such values
(``lineage.store.validation``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Self

import attr

from lineage.config import MAX_COUNT, MAX_MAGNITUDE

# Exceptions a parser turns into "no facet": what malformed JSON shapes raise in attrs constructors.
MALFORMED = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError)



def finite(v: Any) -> float | None:
    """A float within ``±MAX_MAGNITUDE``, else ``None`` (also for NaN, infinity, non-numbers)."""
    if isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond the float range
        return None
    return f if math.isfinite(f) and abs(f) <= MAX_MAGNITUDE else None


def clip01(v: float | None) -> float | None:
    return None if v is None else min(1.0, max(0.0, v))


def integer(v: Any) -> int | None:
    """A whole number within ``±MAX_COUNT`` (an int kept exact, a float only when integral), else ``None``."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if abs(v) <= MAX_COUNT else None
    f = finite(v)
    return int(f) if f is not None and f == int(f) and abs(f) <= MAX_COUNT else None


def text(v: Any) -> str | None:
    if v is None or isinstance(v, (dict, list)):
        return None
    return str(v)


def boolean(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower() == "true"
    return None


def mapping(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


def items(v: Any) -> list[Any]:
    return list(v) if isinstance(v, list) else []


class Parsed:
    """Mixin of the typed facets: ``from_payload`` wraps the class's ``_parse`` so malformed input
    gives ``None`` and the producer of a foreign facet is kept."""

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:  # pragma: no cover - overridden
        raise NotImplementedError

    @classmethod
    def from_payload(cls, payload: Any) -> Self | None:
        """The facet from its JSON dict (as stored or sent), or ``None`` if absent or malformed."""
        if isinstance(payload, cls):
            return payload
        if not isinstance(payload, Mapping):
            return None
        try:
            facet = cls._parse(payload)
        except MALFORMED:
            return None
        producer = payload.get("_producer")
        if facet is not None and isinstance(producer, str) and producer and attr.has(type(facet)):
            try:
                facet._producer = producer  # type: ignore[attr-defined]
            except (AttributeError, TypeError, ValueError):
                pass
        return facet

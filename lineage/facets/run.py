"""Run facets we write and read: ``nominalTime``, ``errorMessage`` and ``tags`` (which carries the
partition key, see :mod:`lineage.facets.partition`)."""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import attr

from lineage.facets._base import FACETS_SPEC, RedactMixin, RunFacet, check_date_time
from lineage.facets._values import Parsed, items, text


MAX_STACK_CHARS = 20_000
MAX_MESSAGE_CHARS = 4_000


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO-8601 timestamp as naive UTC (naive input is taken as UTC); ``None`` if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


@attr.define
class NominalTimeFacet(Parsed, RunFacet):
    """``nominalTime``: the time window a run is for (its schedule time / time partition)."""

    nominalStartTime: str = attr.field(validator=check_date_time)  # noqa: N815
    nominalEndTime: str | None = attr.field(default=None, validator=check_date_time)  # noqa: N815
    _additional_skip_redact: ClassVar[list[str]] = ["nominalStartTime", "nominalEndTime"]
    KEY: ClassVar[str] = "nominalTime"
    _FORMAT: ClassVar[str] = "%Y-%m-%dT%H:%M:%S.000Z"

    @staticmethod
    def _get_schema() -> str:
        return FACETS_SPEC + "1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet"

    @classmethod
    def build(cls, start: dt.datetime, end: dt.datetime | None = None) -> Self:
        return cls(nominalStartTime=start.strftime(cls._FORMAT),
                   nominalEndTime=end.strftime(cls._FORMAT) if end else None)

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        start, end = payload.get("nominalStartTime"), payload.get("nominalEndTime")
        if parse_time(start) is None:
            return None
        return cls(nominalStartTime=start, nominalEndTime=end if parse_time(end) is not None else None)

    @property
    def window(self) -> tuple[dt.datetime, dt.datetime | None]:
        return parse_time(self.nominalStartTime), parse_time(self.nominalEndTime)  # type: ignore[return-value]


@attr.define
class ErrorMessageFacet(Parsed, RunFacet):
    """``errorMessage``: why a run failed."""

    message: str
    programmingLanguage: str  # noqa: N815
    stackTrace: str | None = attr.field(default=None)  # noqa: N815
    _additional_skip_redact: ClassVar[list[str]] = ["programmingLanguage"]
    KEY: ClassVar[str] = "errorMessage"

    @staticmethod
    def _get_schema() -> str:
        return FACETS_SPEC + "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"

    @classmethod
    def build(cls, error: BaseException) -> Self:
        stack = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        if len(stack) > MAX_STACK_CHARS:
            stack = stack[:1000] + "\n...\n" + stack[-(MAX_STACK_CHARS - 1006):]
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return cls(message=message[:MAX_MESSAGE_CHARS], programmingLanguage="PYTHON", stackTrace=stack)

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        message = text(payload.get("message"))
        if not message:
            return None
        return cls(message=message, programmingLanguage=text(payload.get("programmingLanguage")) or "",
                   stackTrace=text(payload.get("stackTrace")))

    @property
    def headline(self) -> str:
        """The message without repeats: producers (dbt) often join the same line several times."""
        return dedupe_message(self.message)


def dedupe_message(message: str) -> str:
    """Collapse a message made of one part repeated (``"x\\nx"``, ``"x x x"``, ``"x; x"``) to that part."""
    lines: list[str] = []
    for line in (s.strip() for s in message.strip().splitlines()):
        if line and line not in lines:
            lines.append(line)
    joined = " ".join(lines)
    for sep in (" ", "; ", ", ", " | ", ""):
        unit = joined + sep
        period = (unit + unit).find(unit, 1)  # the shortest repeating unit of the string
        if 0 < period < len(unit):
            return unit[:period].removesuffix(sep).strip()
    return joined


@attr.define
class Tag(RedactMixin):
    """One ``key → value`` pair of a ``tags`` run facet (the client's ``tags_run.TagsRunFacetFields``)."""

    key: str
    value: str
    source: str | None = attr.field(default=None)


@attr.define
class TagsFacet(Parsed, RunFacet):
    """``tags`` run facet: ``key → value`` pairs (we put the partition key here)."""

    tags: list[Tag] | None = attr.field(factory=list)
    KEY: ClassVar[str] = "tags"

    @staticmethod
    def _get_schema() -> str:
        return FACETS_SPEC + "1-0-0/TagsRunFacet.json#/$defs/TagsRunFacet"

    @classmethod
    def build(cls, tags: Mapping[str, str], source: str | None = None) -> Self:
        return cls(tags=[Tag(key=k, value=v, source=source) for k, v in tags.items()])

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        kept = [Tag(key=str(r["key"]), value=str(r["value"]), source=text(r.get("source")))
                for r in items(payload.get("tags"))
                if isinstance(r, Mapping) and text(r.get("key")) and text(r.get("value")) is not None]
        return cls(tags=kept) if kept else None

    def as_dict(self) -> dict[str, str]:
        return {t.key: t.value for t in self.tags or []}

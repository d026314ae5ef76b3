"""Validate OpenLineage events against the vendored official JSON Schemas.

The core schema only checks that a facet is a *facet* (has `_producer` and `_schemaURL`). The
standard facets each have their own schema file, so facets present in an event are validated a
second time against the file whose facet key and facet kind (run, job, dataset, input, output)
match. Custom facets (e.g. a drift facet) have no schema here and only get the base-facet check.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from lineage.config import DEFAULT_MAX_DEPTH

CORE_SCHEMA_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"

# The base type a facet schema extends (its `allOf[0].$ref` fragment) tells where it may appear.
_FACET_KIND_BY_BASE = {
    "RunFacet": "run",
    "JobFacet": "job",
    "DatasetFacet": "dataset",
    "InputDatasetFacet": "input",
    "OutputDatasetFacet": "output",
}

_FRACTION = re.compile(r"(\.\d{6})\d+")


class EventValidationError(ValueError):
    """An event (or one event of a batch) does not follow the OpenLineage spec."""

    def __init__(self, message: str, *, path: str = "$", index: int | None = None) -> None:
        self.message = message
        self.path = path
        self.index = index
        where = f"event[{index}] " if index is not None else ""
        super().__init__(f"{where}{path}: {message}")

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "path": self.path, "message": self.message}


def parse_event_time(value: str) -> datetime:
    """Parse an OpenLineage timestamp to a naive UTC datetime (how the store keeps every time).

    Naive timestamps (the spec's own examples use them) are taken as UTC; nanosecond fractions
    from JVM producers are truncated to microseconds.
    """
    text = _FRACTION.sub(r"\1", value.strip())
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is past year 9999 in UTC
            raise ValueError(f"{value!r} is out of range once converted to UTC") from None
    return parsed


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parse_event_time(value)
        return True

    @checker.checks("uuid", raises=ValueError)
    def _uuid(value: object) -> bool:
        if not isinstance(value, str):
            return True
        uuid.UUID(value)
        return True

    return checker


def _schema_files() -> Iterator[dict[str, Any]]:
    root = resources.files("lineage.store") / "schemas"
    yield json.loads((root / "OpenLineage.json").read_text(encoding="utf-8"))
    for entry in sorted((root / "facets").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            yield json.loads(entry.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class _FacetSchema:
    key: str
    kind: str
    ref: str  # absolute URI of the facet definition


class EventValidator:
    """Compiled validators for the three event types and every standard facet schema."""

    def __init__(self, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.max_depth = max_depth
        registry: Registry = Registry()
        facets: dict[tuple[str, str], _FacetSchema] = {}
        for schema in _schema_files():
            schema_id = schema["$id"]
            registry = registry.with_resource(
                schema_id, Resource.from_contents(schema, default_specification=DRAFT202012)
            )
            for key, prop in schema.get("properties", {}).items():
                ref = prop.get("$ref", "")
                if not ref.startswith("#/$defs/"):
                    continue
                definition = schema["$defs"][ref.removeprefix("#/$defs/")]
                base = _facet_base(definition)
                if base is None:
                    continue
                kind = _FACET_KIND_BY_BASE[base]
                facets[(kind, key)] = _FacetSchema(key, kind, schema_id + ref)
        self._registry = registry.crawl()
        checker = _format_checker()

        def compile_ref(ref: str) -> Draft202012Validator:
            return Draft202012Validator(
                {"$ref": ref}, registry=self._registry, format_checker=checker
            )

        self._event_validators = {
            name: compile_ref(f"{CORE_SCHEMA_ID}#/$defs/{name}")
            for name in ("RunEvent", "DatasetEvent", "JobEvent")
        }
        self._any_event = compile_ref(CORE_SCHEMA_ID)
        self._facet_validators = {k: compile_ref(v.ref) for k, v in facets.items()}

    @property
    def facet_keys(self) -> dict[str, list[str]]:
        """Standard facet keys per facet kind (what gets a dedicated schema check)."""
        out: dict[str, list[str]] = {}
        for kind, key in sorted(self._facet_validators):
            out.setdefault(kind, []).append(key)
        return out

    def validate(self, event: object, index: int | None = None) -> None:
        """Raise `EventValidationError` with a JSON path and message for the first problem found."""
        if not isinstance(event, Mapping):
            raise EventValidationError(
                f"an event must be a JSON object, got {type(event).__name__}", index=index
            )
        problem = _structure_problem(event, self.max_depth)
        if problem is not None:  # before the schema check: its messages echo values
            message, path = problem
            raise EventValidationError(message, path=path, index=index)
        kind = event_kind(event)
        validator = self._event_validators.get(kind) if kind else self._any_event
        assert validator is not None
        error = _precise(best_match(validator.iter_errors(event)))
        if error is not None:
            raise EventValidationError(_message(error), path=_json_path(error.absolute_path), index=index)
        for path, facet_kind, key, facet in _facets(event):
            facet_validator = self._facet_validators.get((facet_kind, key))
            if facet_validator is None and facet_kind in ("input", "output"):
                # An input/output facet with a key only known as a plain dataset facet.
                facet_validator = self._facet_validators.get(("dataset", key))
            if facet_validator is None:
                continue
            error = _precise(best_match(facet_validator.iter_errors(facet)))
            if error is not None:
                raise EventValidationError(
                    f"invalid '{key}' facet: {_message(error)}",
                    path=_json_path([*path, *error.absolute_path]),
                    index=index,
                )

    def validate_batch(self, events: Sequence[object]) -> None:
        """Validate every event; the error names the index of the first invalid one."""
        for index, event in enumerate(events):
            self.validate(event, index=index)


@lru_cache(maxsize=1)
def default_validator() -> EventValidator:
    """Compiling the registry takes ~100 ms, so every caller in a process shares one validator."""
    return EventValidator()


def event_kind(event: Mapping[str, Any]) -> str | None:
    """RunEvent has a run, DatasetEvent a dataset, JobEvent a job and no run."""
    if "run" in event:
        return "RunEvent"
    if "dataset" in event:
        return "DatasetEvent"
    if "job" in event:
        return "JobEvent"
    return None


def _facet_base(definition: Mapping[str, Any]) -> str | None:
    for part in definition.get("allOf", []):
        ref = part.get("$ref", "")
        if "#/$defs/" in ref:
            base = ref.rsplit("/", 1)[-1]
            if base in _FACET_KIND_BY_BASE:
                return base
    return None


def _facets(event: Mapping[str, Any]) -> Iterable[tuple[list[str | int], str, str, Any]]:
    """(path, facet kind, key, facet) for every facet the event carries."""

    def items(container: Any, path: list[str | int], kind: str) -> Iterable[tuple[list[str | int], str, str, Any]]:
        if isinstance(container, Mapping):
            for key, facet in container.items():
                yield [*path, key], kind, key, facet

    run = event.get("run")
    if isinstance(run, Mapping):
        yield from items(run.get("facets"), ["run", "facets"], "run")
    job = event.get("job")
    if isinstance(job, Mapping):
        yield from items(job.get("facets"), ["job", "facets"], "job")
    dataset = event.get("dataset")
    if isinstance(dataset, Mapping):
        yield from items(dataset.get("facets"), ["dataset", "facets"], "dataset")
    for side, extra_key, extra_kind in (("inputs", "inputFacets", "input"), ("outputs", "outputFacets", "output")):
        datasets = event.get(side)
        if not isinstance(datasets, list):
            continue
        for i, ds in enumerate(datasets):
            if isinstance(ds, Mapping):
                yield from items(ds.get("facets"), [side, i, "facets"], "dataset")
                yield from items(ds.get(extra_key), [side, i, extra_key], extra_kind)


def _structure_problem(value: Any, limit: int) -> tuple[str, str] | None:
    """(message, path) for the first container nested beyond `limit` or the first string (value
    or key) or number the store cannot keep; iterative, so no recursion to exhaust."""
    stack: list[tuple[Any, int, list[str | int]]] = [(value, 1, [])]
    while stack:
        node, depth, path = stack.pop()
        if depth > limit:
            return f"payload is nested deeper than {limit} levels", _json_path(path)
        if isinstance(node, Mapping):
            children: Iterable[tuple[Any, Any]] = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        for key, child in children:
            if isinstance(key, str) and (problem := _text_problem(key)):
                return f"a key {problem}", _json_path(path)
            if isinstance(child, (Mapping, list)):
                stack.append((child, depth + 1, [*path, key]))
            elif isinstance(child, str) and (problem := _text_problem(child)):
                return f"the string {problem}", _json_path([*path, key])
            elif isinstance(child, float) and not math.isfinite(child):
                # e.g. 1e400 parses as infinity: not representable in JSON, so not storable
                return "number out of range: JSON numbers must be finite", _json_path([*path, key])
    return None


def _text_problem(text: str) -> str | None:
    """Why a string cannot be stored: NUL (PostgreSQL text cannot hold it; refused on every
    backend alike) or a lone UTF-16 surrogate such as an unpaired \\ud800 escape (not Unicode)."""
    if "\x00" in text:
        return "contains a NUL character (U+0000), which the lineage store cannot keep"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains an unpaired UTF-16 surrogate (a lone \\ud800-\\udfff escape), which is not valid Unicode"
    return None


def _json_path(parts: Iterable[str | int]) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _precise(error: ValidationError | None) -> ValidationError | None:
    """Descend through anyOf/oneOf wrappers to the sub-error that says what is actually wrong."""
    while error is not None and error.validator in ("anyOf", "oneOf") and error.context:
        deeper = best_match(error.context)
        if deeper is None:
            break
        error = deeper
    return error


def _message(error: ValidationError) -> str:
    message = error.message
    if len(message) > 300:  # jsonschema repeats the whole offending value; keep reasons readable
        message = message[:297] + "..."
    return message

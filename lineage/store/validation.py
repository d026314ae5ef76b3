"""Validate OpenLineage events against the vendored official JSON Schemas.

The core schema only checks that a facet is a *facet* (has `_producer` and `_schemaURL`). The
standard facets each have their own schema file, so facets present in an event are validated a
second time against the file whose facet key and facet kind (run, job, dataset, input, output)
match. Custom facets (e.g. a drift facet) have no schema here and only get the base-facet check.

A facet whose `_schemaURL` names a standard facet file and version
(`.../spec/facets/1-0-1/ColumnLineageDatasetFacet.json`, or a 1.x core definition) is checked
against that version when it is vendored (`schemas/facets/versions/`, from the OpenLineage git
history), else against the newest; a `_schemaURL` naming no version falls back to the facet key.

Two modes. Strict (`validate`, `OBS_LINEAGE_STRICT=1`): the first problem raises. Lenient
(`screen`, the default for ingest): only what cannot be stored is refused (`fatal_problem`: not an
object, no job or dataset name, no run id, no parseable eventTime, unstorable text, too deep);
every other schema problem becomes an `EventWarning` kept beside the stored event. A runId that is
not a UUID is stored under a stable UUIDv5 of it (`stable_run_uuid`); the payload keeps the original.

Screening reads the event's canonical JSON (made once, and kept for the store) before walking it: the
text answers most checks at C speed (no escaped NUL, valid UTF-8, few enough brackets, no facet key,
shorter than any limit). A text check may only say "certainly fine"; anything else runs the walk it
stands in for, so the answers are the walks' answers (tests/lineage/store/test_validation_text.py).
"""

from __future__ import annotations

import json
import math
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from lineage.config import (
    DEFAULT_MAX_DEPTH,
    MAX_COLUMN_EDGES,
    MAX_COUNT,
    MAX_FACET_BYTES,
    MAX_MAGNITUDE,
    MAX_NAME_CHARS,
)
from lineage.store.canonical import canonical_json

if TYPE_CHECKING:  # jsonschema(-rs) is imported where events are validated: read-only commands never load it
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import ValidationError

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
# `.../spec/facets/1-0-1/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet`
_FACET_URL = re.compile(r"/spec/facets/(\d+-\d+-\d+)/(\w+)\.json(?:#/\$defs/(\w+))?")
# Facets of the 1.x core schema: `.../spec/1-0-1/OpenLineage.json#/definitions/SQLJobFacet`
_CORE_FACET_URL = re.compile(r"/spec/(\d+-\d+-\d+)/OpenLineage\.json#/(definitions|\$defs)/(\w+Facet)$")
_ID_VERSION = re.compile(r"/(\d+-\d+-\d+)/(\w+)\.json$")

# UUIDv5 namespace of run ids that are not UUIDs (Airflow's `manual__2025-05-01T14:00:00+00:00`).
RUN_ID_NAMESPACE = uuid.UUID("6f1c7a52-3c1e-5b8e-9a57-4f0b7e1d2c11")
MAX_WARNINGS_PER_EVENT = 50
EVENT_TIME_CACHE = 4096  # distinct eventTime strings kept parsed (a batch's, several times over)
EVENT_TYPE_MAX_LEN = 16  # lineage_events.event_type is String(16)
STRICT_ENV = "OBS_LINEAGE_STRICT"

# Text checks on the canonical JSON (see the module docstring); each is conservative.
_ESCAPED_NUL = "\\u0000"  # json.dumps writes U+0000 as this escape (a literal backslash-u0000 matches too)
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_INNERMOST = re.compile(r"[\[{][^\[\]{}]*[\]}]")
_FACET_KEYS = ('"facets":', '"inputFacets":', '"outputFacets":')
# A canonical lower-case UUID: what uuid.UUID(text) would give back unchanged.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _canonical_or_none(event: Any) -> str | None:
    """`canonical_json(event)`, None when it cannot be made (a NaN, a non-JSON value): the walks decide."""
    try:
        return canonical_json(event)
    except (TypeError, ValueError, RecursionError):
        return None


FacetTexts = dict[int, tuple[Any, str]]  # id(facet) -> (the facet, its canonical JSON)


def canonical_with_facets(event: Any, facets: list[Any]) -> tuple[str | None, FacetTexts]:
    """`_canonical_or_none(event)` and the canonical JSON of each of its `facets` (`_facets(event)`), from one
    serialisation: each facet is dumped once and spliced into the dump of the event without them (the encoder
    is compositional), where the facet sizes and the facet rows would each have dumped them again."""
    if not facets or type(event) is not dict:
        return _canonical_or_none(event), {}
    token = uuid.uuid4().hex  # a placeholder no event can contain by chance
    skeleton: Any = dict(event)
    texts: FacetTexts = {}
    pieces: list[tuple[str, str]] = []
    try:
        for n, (path, _kind, _key, facet) in enumerate(facets):
            node = skeleton
            for part in path[:-1]:  # copy the containers down to the facet (the event is left as is)
                child = node[part]
                if type(child) is not dict and type(child) is not list:
                    return _canonical_or_none(event), {}
                node[part] = node = dict(child) if type(child) is dict else list(child)
            placeholder = f"{token}-{n}"
            node[path[-1]] = placeholder
            text = canonical_json(facet)
            texts[id(facet)] = (facet, text)
            pieces.append((f'"{placeholder}"', text))
        out = canonical_json(skeleton)
    except (TypeError, ValueError, RecursionError):
        return None, {}
    for placeholder, text in pieces:
        out = out.replace(placeholder, text, 1)
    return out, texts


def strict_mode(explicit: bool | None = None) -> bool:
    """All-or-nothing validation (today's 422) when `OBS_LINEAGE_STRICT=1`, else lenient."""
    if explicit is not None:
        return explicit
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def stable_run_uuid(value: object) -> str:
    """A run id as the store keys it: a UUID in canonical form, anything else its UUIDv5."""
    text = str(value).strip()
    if _CANONICAL_UUID.fullmatch(text):  # already canonical: uuid.UUID would return it unchanged
        return text
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return str(uuid.uuid5(RUN_ID_NAMESPACE, text))


def is_uuid(value: object) -> bool:
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        return True
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class EventWarning:
    """One schema problem of a stored event (lenient ingest)."""

    path: str
    message: str
    schema_url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "message": self.message, "schemaURL": self.schema_url}


@dataclass(frozen=True)
class Screened:
    """An event lenient validation accepts, with its warnings."""

    index: int
    event: Mapping[str, Any]
    warnings: tuple[EventWarning, ...]
    payload: str | None = None  # its canonical JSON, made while screening (the store reuses it)
    facet_texts: FacetTexts = field(default_factory=dict)  # its facets' canonical JSON, made with `payload`


@dataclass
class Screening:
    """A batch split into storable events (with warnings) and refused ones (by index)."""

    accepted: list[Screened] = field(default_factory=list)
    rejected: list[EventValidationError] = field(default_factory=list)


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


@lru_cache(maxsize=EVENT_TIME_CACHE)
def parse_event_time(value: str) -> datetime:
    """Parse an OpenLineage timestamp to a naive UTC datetime (how the store keeps every time).

    Naive timestamps (the spec's own examples use them) are taken as UTC; nanosecond fractions
    from JVM producers are truncated to microseconds. Cached: ingest parses each event's time
    three times (required fields, the schema's date-time format, the stored row); datetimes are
    immutable, and a ValueError is not cached.
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


def _is_date_time(value: str) -> bool:
    parse_event_time(value)  # raises ValueError when it is not one
    return True


def _is_uuid(value: str) -> bool:
    if not _CANONICAL_UUID.fullmatch(value):
        uuid.UUID(value)  # raises ValueError when it is not one
    return True


# The formats checked (jsonschema's FormatChecker and the fast check alike); `uri` is not checked.
_FORMAT_CHECKS = {"date-time": _is_date_time, "uuid": _is_uuid}
_UNCHECKED_FORMATS = ("uri",)


def _format_checker() -> FormatChecker:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, check in _FORMAT_CHECKS.items():
        checker.checks(name, raises=ValueError)(_strings_only(check))
    return checker


def _strings_only(check: Any) -> Any:
    def checked(value: object) -> bool:
        return check(value) if isinstance(value, str) else True

    return checked


def _fast_formats() -> dict[str, Any]:
    return {**_FORMAT_CHECKS, **{name: (lambda _value: True) for name in _UNCHECKED_FORMATS}}


def _schema_files() -> Iterator[dict[str, Any]]:
    root = resources.files("lineage.store") / "schemas"
    yield json.loads((root / "OpenLineage.json").read_text(encoding="utf-8"))
    for entry in sorted((root / "facets").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            yield json.loads(entry.read_text(encoding="utf-8"))


def _versioned_schema_files() -> Iterator[dict[str, Any]]:
    """Older releases of the standard facet schemas and the core schemas they reference."""
    root = resources.files("lineage.store") / "schemas" / "facets" / "versions"
    for folder in sorted(root.iterdir(), key=lambda e: e.name):
        if folder.is_dir():
            for entry in sorted(folder.iterdir(), key=lambda e: e.name):
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
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.max_depth = max_depth
        registry: Registry = Registry()
        resources: list[tuple[str, dict[str, Any]]] = []
        facets: dict[tuple[str, str], _FacetSchema] = {}
        # (file stem, version) -> schema $id, for every vendored standard facet file.
        self._facet_files: dict[tuple[str, str], str] = {}
        self._newest_version: dict[str, str] = {}
        self._core_defs: dict[str, tuple[str, set[str]]] = {}  # version -> ($id, definition names)
        for schema in _versioned_schema_files():
            resources.append((schema["$id"], schema))
            registry = registry.with_resource(
                schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012)
            )
            self._note_facet_file(schema["$id"], newest=False)
            self._note_core(schema)
        for schema in _schema_files():
            schema_id = schema["$id"]
            resources.append((schema_id, schema))
            registry = registry.with_resource(
                schema_id, Resource.from_contents(schema, default_specification=DRAFT202012)
            )
            self._note_facet_file(schema_id, newest=True)
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
        self._compile_ref = compile_ref
        self._by_ref: dict[str, Draft202012Validator] = {}
        from lineage.store.fast_schema import FastSchemas

        self._fast = FastSchemas(resources, _fast_formats())

    def _errors(self, validator: Draft202012Validator, instance: object) -> Iterator[ValidationError]:
        """jsonschema's errors, or none at once when the fast check says the instance is valid."""
        if self._fast.is_valid(validator.schema["$ref"], instance):
            return iter(())
        return validator.iter_errors(instance)

    def _note_facet_file(self, schema_id: str, *, newest: bool) -> None:
        match = _ID_VERSION.search(schema_id)
        if match is None or match.group(2) == "OpenLineage":
            return
        version, stem = match.groups()
        self._facet_files[(stem, version)] = schema_id
        if newest:
            self._newest_version[stem] = version

    def _note_core(self, schema: Mapping[str, Any]) -> None:
        match = _ID_VERSION.search(schema["$id"])
        if match is not None and match.group(2) == "OpenLineage":
            names = set(schema.get("definitions", {})) | set(schema.get("$defs", {}))
            self._core_defs[match.group(1)] = (schema["$id"], names)

    def _core_facet(self, url: str) -> tuple[Draft202012Validator | None, str | None] | None:
        """The validator of a facet defined inside a 1.x core schema, None if `url` names none."""
        match = _CORE_FACET_URL.search(url)
        if match is None:
            return None
        version, section, name = match.groups()
        core = self._core_defs.get(version)
        if core is None or name not in core[1]:
            return None, None
        return self._validator_for_ref(f"{core[0]}#/{section}/{name}"), None

    def _validator_for_ref(self, ref: str) -> Draft202012Validator:
        validator = self._by_ref.get(ref)
        if validator is None:
            validator = self._by_ref[ref] = self._compile_ref(ref)
        return validator

    def facet_validator(
        self, kind: str, key: str, facet: object
    ) -> tuple[Draft202012Validator | None, str | None]:
        """(validator, note) for one facet: by the version its `_schemaURL` names, else by key.

        The note says when the named version is not vendored and the newest was used instead.
        """
        url = facet.get("_schemaURL") if isinstance(facet, Mapping) else None
        match = _FACET_URL.search(url) if isinstance(url, str) else None
        if match is None and isinstance(url, str) and (core := self._core_facet(url)) is not None:
            return core
        if match is None:
            # No version named (e.g. the spec examples' `http://test.schema.url`): standard keys
            # are reserved, so a standard key means the newest standard facet.
            return self._by_key(kind, key), None
        version, stem, definition = match.groups()
        newest = self._newest_version.get(stem)
        if newest is None:
            return None, None  # a facet file this spec copy does not know (e.g. GcpLineageJobFacet)
        schema_id = self._facet_files.get((stem, version))
        note = None
        if schema_id is None:
            schema_id = self._facet_files[(stem, newest)]
            note = f"schema version {version} of {stem} is not vendored; checked against {newest}"
        return self._validator_for_ref(f"{schema_id}#/$defs/{definition or stem}"), note

    def _by_key(self, kind: str, key: str) -> Draft202012Validator | None:
        validator = self._facet_validators.get((kind, key))
        if validator is None and kind in ("input", "output"):
            # An input/output facet with a key only known as a plain dataset facet.
            validator = self._facet_validators.get(("dataset", key))
        return validator

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
        problem = _structure_problem(event, self.max_depth) or _limit_problem(event)
        if problem is not None:  # before the schema check: its messages echo values
            message, path = problem
            raise EventValidationError(message, path=path, index=index)
        kind = event_kind(event)
        validator = self._event_validators.get(kind) if kind else self._any_event
        assert validator is not None
        error = _precise(best_match(self._errors(validator, event)))
        if error is not None:
            raise EventValidationError(_message(error), path=_json_path(error.absolute_path), index=index)
        for path, facet_kind, key, facet in _facets(event):
            facet_validator, _ = self.facet_validator(facet_kind, key, facet)
            if facet_validator is None:
                continue
            error = _precise(best_match(self._errors(facet_validator, facet)))
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

    # ------------------------------------------------------------------ lenient
    def screen(self, events: Sequence[object]) -> Screening:
        """Split a batch: storable events with their warnings, refused ones by index."""
        out = Screening()
        for index, event in enumerate(events):
            facets = _facets(event) if _mapping(event) else None  # found once, used thrice
            text, facet_texts = canonical_with_facets(event, facets) if facets is not None else (None, {})
            fatal = self.fatal_problem(event, index=index, facets=facets, text=text, facet_texts=facet_texts)
            if fatal is not None:
                out.rejected.append(fatal)
                continue
            assert isinstance(event, Mapping)
            out.accepted.append(Screened(index, event, tuple(self.problems(event, facets, text)), text, facet_texts))
        return out

    def fatal_problem(
        self, event: object, index: int | None = None, facets: list[Any] | None = None, text: str | None = None,
        facet_texts: FacetTexts | None = None,
    ) -> EventValidationError | None:
        """Why an event cannot be stored at all (None when it can); `facets`: `_facets(event)` if known,
        `text`: `canonical_json(event)` if known (its text checks then spare most walks), `facet_texts`:
        the facets' canonical JSON if known (their sizes)."""
        if not _mapping(event):
            return EventValidationError(f"an event must be a JSON object, got {type(event).__name__}", index=index)
        assert isinstance(event, Mapping)
        clear = text is not None and _structure_clear(text, self.max_depth)
        problem = ((None if clear else _structure_problem(event, self.max_depth)) or _required_problem(event)
                   or _limit_problem(event, facets, None if text is None else len(text), facet_texts))
        if problem is None:
            return None
        message, path = problem
        return EventValidationError(message, path=path, index=index)

    def problems(
        self, event: Mapping[str, Any], facets: list[Any] | None = None, text: str | None = None
    ) -> list[EventWarning]:
        """Every schema problem of a storable event, as warnings (capped per event); `facets`:
        `_facets(event)` if known, `text`: `canonical_json(event)` if known."""
        found: list[EventWarning] = []
        run = event.get("run")
        run_id = run.get("runId") if isinstance(run, Mapping) else None
        if run_id is not None and not is_uuid(run_id):
            found.append(
                EventWarning("$.run.runId", f"runId {str(run_id)!r} is not a UUID; stored as run {stable_run_uuid(run_id)}")
            )
        kind = event_kind(event)
        validator = self._event_validators.get(kind) if kind else self._any_event
        assert validator is not None
        for error in _leaf_errors(self._errors(validator, event)):
            path = _json_path(error.absolute_path)
            if path == "$.run.runId" and error.validator == "format":
                continue  # said above, with the id it is stored under
            found.append(EventWarning(path, _message(error), _str_or_none(event.get("schemaURL"))))
        for path, facet_kind, key, facet in _facets(event) if facets is None else facets:
            facet_validator, note = self.facet_validator(facet_kind, key, facet)
            if facet_validator is None:
                continue
            url = _str_or_none(facet.get("_schemaURL")) if isinstance(facet, Mapping) else None
            for error in _leaf_errors(self._errors(facet_validator, facet)):
                message = f"invalid '{key}' facet: {_message(error)}" + (f" ({note})" if note else "")
                found.append(EventWarning(_json_path([*path, *error.absolute_path]), message, url))
        found.extend(_number_warnings(event, text=text))
        return _dedupe(found)[:MAX_WARNINGS_PER_EVENT]


@lru_cache(maxsize=1)
def default_validator() -> EventValidator:
    """Compiling the registry takes ~100 ms, so every caller in a process shares one validator."""
    return EventValidator()


def _leaf_errors(errors: Iterable[ValidationError]) -> list[ValidationError]:
    out = [e for e in (_precise(error) for error in errors) if e is not None]
    return sorted(out, key=lambda e: (_json_path(e.absolute_path), e.message))


def _dedupe(warnings: list[EventWarning]) -> list[EventWarning]:
    return list(dict.fromkeys(warnings))


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _named(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _mapping(value: object) -> bool:
    # The exact type first: an ABC isinstance check costs several times more, per value.
    return type(value) is dict or isinstance(value, Mapping)


def _required_problem(event: Mapping[str, Any]) -> tuple[str, str] | None:
    """(message, path) for what the store needs to keep an event: Marquez refuses these too."""
    time_value = event.get("eventTime")
    if not isinstance(time_value, str):
        return "the event has no eventTime (an ISO 8601 timestamp is required)", "$.eventTime"
    try:
        parse_event_time(time_value)
    except ValueError as exc:
        return f"eventTime {time_value[:60]!r} is not a valid ISO 8601 date-time: {exc}", "$.eventTime"
    event_type = event.get("eventType")
    if event_type is not None and (not isinstance(event_type, str) or len(event_type) > EVENT_TYPE_MAX_LEN):
        return f"eventType must be a string of at most {EVENT_TYPE_MAX_LEN} characters", "$.eventType"
    kind = event_kind(event)
    if kind in ("RunEvent", "JobEvent"):
        job = event.get("job")
        if not _mapping(job) or not _named(job.get("name")) or not _named(job.get("namespace")):
            return "the event has no job name and namespace (job.namespace and job.name are required)", "$.job"
    if kind == "RunEvent":
        run = event.get("run")
        if not _mapping(run) or not _named(run.get("runId")):
            return "the run has no runId", "$.run"
    if kind == "DatasetEvent":
        problem = _dataset_problem(event.get("dataset"), "$.dataset")
        if problem:
            return problem
    if kind is None:
        return "the event names no job, run or dataset", "$"
    for side in ("inputs", "outputs"):
        datasets = event.get(side)
        if datasets is None:
            continue
        if not isinstance(datasets, list):
            return f"{side} must be a list of datasets", f"$.{side}"
        for i, ds in enumerate(datasets):
            problem = _dataset_problem(ds, f"$.{side}[{i}]")
            if problem:
                return problem
    return None


def _dataset_problem(ds: object, path: str) -> tuple[str, str] | None:
    if not _mapping(ds) or not _named(ds.get("namespace")) or not _named(ds.get("name")):
        return "a dataset needs a namespace and a name", path
    return None


def _limit_problem(
    event: Mapping[str, Any], facets: list[tuple[list[str | int], str, str, Any]] | None = None,
    size: int | None = None, facet_texts: FacetTexts | None = None,
) -> tuple[str, str] | None:
    """(message, path) for an event beyond the per-event limits (``lineage.config``): an overlong
    name, too many column-lineage edges, an oversized facet. `facets`: `_facets(event)` if known;
    `size`: the length of the event's canonical JSON if known (no name or facet is longer); `facet_texts`:
    the facets' canonical JSON if known (as long as their compact JSON: sorting keys moves, adds nothing)."""
    problem = _name_length_problem(event) if size is None or size > MAX_NAME_CHARS else None
    if problem is not None:
        return problem
    edges = 0
    facet_sizes = size is None or size > MAX_FACET_BYTES
    for path, _kind, key, facet in _facets(event) if facets is None else facets:
        if key == "columnLineage" and isinstance(facet, Mapping):
            edges += _column_edges(facet)
            if edges > MAX_COLUMN_EDGES:
                return (f"column lineage has more than {MAX_COLUMN_EDGES} input fields in this event; "
                        "send the columns in several events", _json_path(path))
        if not facet_sizes:
            continue
        known = facet_texts.get(id(facet)) if facet_texts else None
        size = len(known[1]) if known is not None and known[0] is facet else len(
            json.dumps(facet, separators=(",", ":"), ensure_ascii=False))
        if size > MAX_FACET_BYTES:
            return f"the '{key}' facet is {size} bytes as JSON; the limit is {MAX_FACET_BYTES}", _json_path(path)
    return None


def _name_length_problem(event: Mapping[str, Any]) -> tuple[str, str] | None:
    # (entity, side, index): the JSON path is only formatted for the entity at fault.
    named: list[tuple[object, str, int | None]] = [(event.get("job"), "job", None), (event.get("dataset"), "dataset", None)]
    for side in ("inputs", "outputs"):
        datasets = event.get(side)
        named += [(ds, side, i) for i, ds in enumerate(datasets if isinstance(datasets, list) else ())]
    for entity, side, i in named:
        for key in ("namespace", "name") if _mapping(entity) else ():
            value = entity.get(key)  # type: ignore[attr-defined]
            if isinstance(value, str) and len(value) > MAX_NAME_CHARS:
                path = f"$.{side}" if i is None else f"$.{side}[{i}]"
                return f"{key} is {len(value)} characters long; the limit is {MAX_NAME_CHARS}", f"{path}.{key}"
    return None


def _column_edges(facet: Mapping[str, Any]) -> int:
    """Input fields a ``columnLineage`` facet declares (per column, and dataset-wide)."""
    fields = facet.get("fields")
    count = len(facet["dataset"]) if isinstance(facet.get("dataset"), list) else 0
    for column in fields.values() if isinstance(fields, Mapping) else ():
        inputs = column.get("inputFields") if isinstance(column, Mapping) else None
        count += len(inputs) if isinstance(inputs, list) else 0
    return count


def _number_warnings(event: Mapping[str, Any], limit: int = 5, text: str | None = None) -> list[EventWarning]:
    """Numbers beyond the bounds the readers accept: stored as sent, read as absent. `text`: the event's
    canonical JSON if known (without a number that could be out of bounds in it, there is none to walk to)."""
    if text is not None and not _text_may_be_out_of_bounds(text):
        return []
    if not _has_out_of_bounds(event):  # the common case, without building paths
        return []
    found: list[EventWarning] = []
    stack: list[tuple[Any, list[str | int]]] = [(event, [])]
    while stack and len(found) < limit:
        node, path = stack.pop()
        children = node.items() if isinstance(node, Mapping) else enumerate(node)
        for key, child in children:
            if isinstance(child, (Mapping, list)):
                stack.append((child, [*path, key]))
            elif _out_of_bounds(child):
                found.append(EventWarning(_json_path([*path, key]), (
                    f"number out of range (integers beyond ±{MAX_COUNT}, other values beyond ±{MAX_MAGNITUDE:g}): "
                    "stored as sent, read as absent by metrics and root-cause analysis")))
    return found


# Every ASCII digit to "0", every other byte to " ": a run of "0"s is a run of digits.
_DIGIT_RUNS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_COUNT_DIGITS = b"0" * len(str(MAX_COUNT))  # an integer beyond ±MAX_COUNT has at least as many digits


def _text_may_be_out_of_bounds(text: str) -> bool:
    """False when the canonical JSON `text` certainly holds no number `_has_out_of_bounds` finds: such an
    integer is a run of len(str(MAX_COUNT)) digits in it, such a float (finite: canonical JSON refuses the
    others) has an exponent ("1e+100": json writes floats from 1e16 up so). A C scan; a string with a long
    run of digits or an "e+" only sends the event to the walk."""
    assert MAX_MAGNITUDE >= 1e16  # below, floats in fixed notation could be out of bounds
    return "e+" in text or _COUNT_DIGITS in text.encode("utf-8", "surrogatepass").translate(_DIGIT_RUNS)


def _has_out_of_bounds(event: Mapping[str, Any]) -> bool:
    stack: list[Any] = [event]
    while stack:
        node = stack.pop()
        for child in node.values() if type(node) is dict or isinstance(node, Mapping) else node:
            kind = type(child)  # exact types first: an ABC isinstance check per scalar is slow
            if kind is dict or kind is list:
                stack.append(child)
            elif kind is str or kind is bool or child is None:
                continue
            elif kind is int:
                if abs(child) > MAX_COUNT:
                    return True
            elif kind is float:
                if not abs(child) <= MAX_MAGNITUDE:
                    return True
            elif isinstance(child, (Mapping, list)):
                stack.append(child)
            elif isinstance(child, (int, float)) and _out_of_bounds(child):
                return True
    return False


def _out_of_bounds(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) > MAX_COUNT
    return isinstance(value, float) and not abs(value) <= MAX_MAGNITUDE


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


def _facets(event: Mapping[str, Any], text: str | None = None) -> list[tuple[list[str | int], str, str, Any]]:
    """(path, facet kind, key, facet) for every facet the event carries (a list: screening uses it twice);
    `text`: the event's canonical JSON if known (without a facet key in it there is no facet)."""
    out: list[tuple[list[str | int], str, str, Any]] = []
    if text is not None and not any(key in text for key in _FACET_KEYS):
        return out
    for entity_key in ("run", "job", "dataset"):
        entity = event.get(entity_key)
        if entity is not None and _mapping(entity):
            _add_facets(out, entity.get("facets"), [entity_key, "facets"], entity_key)
    for side, extra_key, extra_kind in (("inputs", "inputFacets", "input"), ("outputs", "outputFacets", "output")):
        datasets = event.get(side)
        if not isinstance(datasets, list):
            continue
        for i, ds in enumerate(datasets):
            if _mapping(ds):
                _add_facets(out, ds.get("facets"), [side, i, "facets"], "dataset")
                _add_facets(out, ds.get(extra_key), [side, i, extra_key], extra_kind)
    return out


def _add_facets(out: list[tuple[list[str | int], str, str, Any]], container: Any, path: list[str | int],
                kind: str) -> None:
    if container and _mapping(container):  # None and {} (the common cases) carry no facet
        out.extend(([*path, key], kind, key, facet) for key, facet in container.items())


def _structure_clear(text: str, limit: int) -> bool:
    """True when `_structure_problem` certainly finds nothing in the value `text` is the canonical
    JSON of: no NUL (escaped by json.dumps), no lone surrogate (valid UTF-8), nesting within `limit`
    (non-finite floats never reach here: `canonical_json` refuses them)."""
    if _ESCAPED_NUL in text:
        return False
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return text.count("{") + text.count("[") <= limit or _text_depth(text, limit) <= limit


# Without a backslash in the text every '"' opens or closes a string: the bytes of brackets and quotes alone
# (a C translate) then say where strings are, and the walk of a 2 MB text shrinks to a scan of its brackets.
_NOT_BRACKET_OR_QUOTE = bytes(b for b in range(256) if b not in b'[]{}"')
_QUOTED_BRACKETS = re.compile(rb'"[^"]*"')
_EMPTY_CONTAINER = re.compile(rb"[\[{][\]}]")


def _text_depth(text: str, limit: int) -> int:
    """Nesting depth of JSON `text` (strings removed, then innermost containers peeled off), at most `limit` + 1."""
    if "\\" in text:  # an escape may hide a quote: the string pattern decides where strings end
        skeleton: str | bytes = _JSON_STRING.sub("", text)
        innermost: re.Pattern[Any] = _INNERMOST
    else:
        brackets = text.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKET_OR_QUOTE)
        # Most strings hold no bracket: each is then '""' here, and the first quote opens one. When removing
        # the pairs from the left leaves no quote, every pair was a string (else the pattern decides).
        skeleton = brackets.replace(b'""', b"")
        if b'"' in skeleton:
            skeleton = _QUOTED_BRACKETS.sub(b"", brackets)
        innermost = _EMPTY_CONTAINER
    depth = 0
    while depth <= limit:
        skeleton, peeled = innermost.subn(skeleton[:0], skeleton)
        if not peeled:
            break
        depth += 1
    return depth


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
            # Exact types first (an ABC isinstance check per scalar is slow); plain ASCII without
            # NUL, the common case, has no text problem.
            if type(key) is str:
                if ("\x00" in key or not key.isascii()) and (problem := _text_problem(key)):
                    return f"a key {problem}", _json_path(path)
            elif isinstance(key, str) and (problem := _text_problem(key)):
                return f"a key {problem}", _json_path(path)
            kind = type(child)
            if kind is str:
                if ("\x00" in child or not child.isascii()) and (problem := _text_problem(child)):
                    return f"the string {problem}", _json_path([*path, key])
            elif kind is dict or kind is list:
                stack.append((child, depth + 1, [*path, key]))
            elif kind is int or kind is bool or child is None:
                continue
            elif kind is float:
                if not math.isfinite(child):
                    return "number out of range: JSON numbers must be finite", _json_path([*path, key])
            elif isinstance(child, (Mapping, list)):
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


def best_match(errors: Iterable[ValidationError]) -> ValidationError | None:
    """jsonschema's most relevant error (imported on first use)."""
    from jsonschema.exceptions import best_match as jsonschema_best_match

    return jsonschema_best_match(errors)


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

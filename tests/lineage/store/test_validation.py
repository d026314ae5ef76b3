"""Events are checked against the vendored official OpenLineage schemas, facets included."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from lineage.store.validation import EventValidationError, EventValidator, parse_event_time

DATA = Path(__file__).parents[1] / "data"
EXAMPLES = sorted(DATA.glob("*.json"))


@pytest.fixture(scope="module")
def validator() -> EventValidator:
    return EventValidator()


def full_event() -> dict[str, Any]:
    return json.loads((DATA / "example_full_event.json").read_text())


def test_vendored_examples_cover_all_event_kinds() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"serde_example_run_event.json", "serde_example_dataset_event.json", "serde_example_job_event.json"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_official_examples_are_valid(validator: EventValidator, path: Path) -> None:
    validator.validate(json.loads(path.read_text()))


def test_every_standard_facet_schema_is_registered(validator: EventValidator) -> None:
    keys = validator.facet_keys
    assert "columnLineage" in keys["dataset"] and "schema" in keys["dataset"]
    assert "dataQualityAssertions" in keys["input"] and "dataQualityMetrics" in keys["input"]
    assert "outputStatistics" in keys["output"]
    assert "parent" in keys["run"] and "sql" in keys["job"]
    facet_files = list((Path(__file__).parents[3] / "lineage" / "store" / "schemas" / "facets").glob("*.json"))
    # BaseSubsetDatasetFacet and LineageFacet are helper schemas without a plain facet key kind
    assert sum(len(v) for v in keys.values()) >= len(facet_files) - 3


@pytest.mark.parametrize(
    ("mutate", "path", "needle"),
    [
        (lambda e: e["run"].pop("runId"), "$.run", "'runId' is a required property"),
        (lambda e: e.__setitem__("eventType", "FINISHED"), "$.eventType", "'FINISHED' is not one of"),
        (lambda e: e["run"].__setitem__("runId", "not-a-uuid"), "$.run.runId", "is not a 'uuid'"),
        (lambda e: e.__setitem__("eventTime", "yesterday"), "$.eventTime", "is not a 'date-time'"),
        (lambda e: e["job"].pop("namespace"), "$.job", "'namespace' is a required property"),
        (
            lambda e: e["inputs"][0]["inputFacets"]["dataQualityAssertions"].pop("assertions"),
            "$.inputs[0].inputFacets.dataQualityAssertions",
            "invalid 'dataQualityAssertions' facet: 'assertions' is a required property",
        ),
        (
            lambda e: e["outputs"][0]["facets"]["schema"]["fields"][0].__setitem__("name", 7),
            "$.outputs[0].facets.schema.fields[0].name",
            "invalid 'schema' facet: 7 is not of type 'string'",
        ),
        (
            lambda e: e["outputs"][0]["facets"].__setitem__("drift", {"psi": 0.3}),
            "$.outputs[0].facets.drift",
            "'_producer' is a required property",
        ),
        (
            lambda e: e["outputs"][0]["outputFacets"]["outputStatistics"].__setitem__("rowCount", "many"),
            "$.outputs[0].outputFacets.outputStatistics.rowCount",
            "'many' is not of type 'integer'",
        ),
    ],
)
def test_invalid_events_report_path_and_reason(validator: EventValidator, mutate: Any, path: str, needle: str) -> None:
    event = full_event()
    mutate(event)
    with pytest.raises(EventValidationError) as info:
        validator.validate(event, index=2)
    assert info.value.path == path
    assert needle in info.value.message
    assert info.value.index == 2


def test_batch_error_names_the_index(validator: EventValidator) -> None:
    bad = full_event()
    bad["run"].pop("runId")
    with pytest.raises(EventValidationError) as info:
        validator.validate_batch([full_event(), full_event(), bad])
    assert info.value.index == 2


def test_custom_facet_with_base_fields_is_accepted(validator: EventValidator) -> None:
    event = full_event()
    event["outputs"][0]["facets"]["drift"] = {"_producer": "https://x", "_schemaURL": "https://x/drift.json", "psi": 0.3}
    validator.validate(event)


def test_depth_cap(validator: EventValidator) -> None:
    event = full_event()
    nested: dict[str, Any] = {}
    node = nested
    for _ in range(100):
        node["x"] = {}
        node = node["x"]
    event["run"]["facets"]["deep"] = {"_producer": "https://x", "_schemaURL": "https://x", "v": nested}
    with pytest.raises(EventValidationError, match="nested deeper than"):
        validator.validate(event)


def test_non_object_event(validator: EventValidator) -> None:
    with pytest.raises(EventValidationError, match="must be a JSON object"):
        validator.validate([1, 2], index=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-11-03T10:53:52.427343", "2021-11-03T10:53:52.427343"),
        ("2020-12-28T19:51:01.641Z", "2020-12-28T19:51:01.641000"),
        ("2020-12-28T21:51:01+02:00", "2020-12-28T19:51:01"),
        ("2020-12-28T19:51:01.123456789Z", "2020-12-28T19:51:01.123456"),
    ],
)
def test_event_times_become_naive_utc(text: str, expected: str) -> None:
    parsed = parse_event_time(text)
    assert parsed.tzinfo is None
    assert parsed.isoformat() == expected


def test_original_is_not_mutated(validator: EventValidator) -> None:
    event = full_event()
    before = copy.deepcopy(event)
    validator.validate(event)
    assert event == before


def _reference_facets(event: dict[str, Any]) -> list[tuple[list[Any], str, str, Any]]:
    """Every facet by a plain reading of the spec: entity facets, then each dataset's facets and its
    input/output facets (independent of the validator's walk)."""
    out: list[tuple[list[Any], str, str, Any]] = []
    for entity in ("run", "job", "dataset"):
        facets = (event.get(entity) or {}).get("facets") if isinstance(event.get(entity), dict) else None
        out += [([entity, "facets", k], entity, k, v) for k, v in (facets or {}).items()] if isinstance(facets, dict) else []
    for side, extra, kind in (("inputs", "inputFacets", "input"), ("outputs", "outputFacets", "output")):
        for i, ds in enumerate(event.get(side) or []):
            for key, facet_kind in (("facets", "dataset"), (extra, kind)):
                facets = ds.get(key) if isinstance(ds, dict) else None
                if isinstance(facets, dict):
                    out += [([side, i, key, k], facet_kind, k, v) for k, v in facets.items()]
    return out


def _screening_variants() -> list[Any]:
    events: list[Any] = [json.loads(p.read_text()) for p in EXAMPLES]
    long_name = full_event()
    long_name["inputs"][0]["name"] = "x" * 100_000
    bad_facet = full_event()
    bad_facet["run"]["facets"]["nominalTime"] = {"_producer": 1, "_schemaURL": "x", "nominalStartTime": "soon"}
    return [*events, long_name, bad_facet, [1, 2], {"eventTime": "never", "run": {}}]


def test_screening_finds_facets_once_with_the_same_answers(validator: EventValidator) -> None:
    """Screening shares one facet list between the fatal check and the warnings: its answers equal
    the per-event calls that find the facets themselves, and the facets equal a plain reading."""
    from lineage.store.validation import _facets

    events = _screening_variants()
    screening = validator.screen(events)
    rejected = {e.index: e.as_dict() for e in screening.rejected}
    accepted = {s.index: s.warnings for s in screening.accepted}
    assert len(rejected) >= 3 and accepted  # the variants exercise both sides
    assert any("nominalTime" in w.path for w in accepted[len(events) - 3])  # a facet warning, found once
    for index, event in enumerate(events):
        fatal = validator.fatal_problem(event, index=index)
        if fatal is not None:
            assert rejected[index] == fatal.as_dict()
            continue
        assert accepted[index] == tuple(validator.problems(event))
        assert _facets(event) == _reference_facets(event)


def test_cached_event_times_equal_fresh_parses_and_errors_repeat() -> None:
    for text in ("2020-12-28T21:51:01+02:00", "2021-11-03T10:53:52.427343", "2020-12-28T19:51:01.1234567Z"):
        assert parse_event_time(text) == parse_event_time(text) == parse_event_time.__wrapped__(text)
    for _ in range(2):  # a ValueError is raised every time, not cached as an answer
        with pytest.raises(ValueError):
            parse_event_time("2020-13-45T99:00:00Z")

"""The jsonschema-rs yes/no check never changes what validation reports.

Reference: the jsonschema library itself (the validator's slow path, the only one before). Over the
producer corpus and mutations of it (wrong types, bad times and UUIDs, missing fields, broken
facets), every event the fast check calls valid has no jsonschema error, and the problems,
screening and strict errors are the same with the fast check switched off.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import producer_corpus as corpus

from lineage.store.fast_schema import FastSchemas
from lineage.store.validation import CORE_SCHEMA_ID, EventValidationError, EventValidator, event_kind


class _NeverValid(FastSchemas):
    """The fast check switched off: every answer comes from jsonschema, as before it existed."""

    def __init__(self) -> None:
        pass

    def is_valid(self, ref: str, instance: object) -> bool:
        return False


@pytest.fixture(scope="module")
def validators() -> tuple[EventValidator, EventValidator]:
    fast, slow = EventValidator(), EventValidator()
    slow._fast = _NeverValid()
    return fast, slow


def _mutations(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield event
    for path, value in (
        (("eventTime",), "2024-13-45T99:00:00Z"), (("eventTime",), 12), (("producer",), 5),
        (("run", "runId"), "not-a-uuid"), (("run", "runId"), 7), (("job", "name"), ["x"]),
        (("eventType",), "FINISHED"), (("schemaURL",), None), (("inputs",), {"a": 1}),
        (("run", "facets"), {"nominalTime": {"_producer": "p", "_schemaURL": "u", "nominalStartTime": "yesterday"}}),
        (("run", "facets"), {"parent": {"_producer": "p", "_schemaURL": "u", "run": {"runId": 3}}}),
        (("job", "facets"), {"sql": {"_producer": "p"}}),
    ):
        changed = copy.deepcopy(event)
        node = changed
        for key in path[:-1]:
            node = node.setdefault(key, {}) if isinstance(node, dict) else node
        if isinstance(node, dict):
            node[path[-1]] = value
            yield changed
    for side in ("inputs", "outputs"):
        for ds in event.get(side) or []:
            for facet in (ds.get("facets") or {}):
                changed = copy.deepcopy(event)
                target = next(d for d in changed[side] if d.get("name") == ds.get("name"))
                target["facets"][facet] = {"_producer": 1, "fields": "wrong", "columns": 3}
                yield changed
                break


def _events(per_file: int = 1) -> list[dict[str, Any]]:
    """The first events of every corpus file, each with its mutations (a fast test: ~50 files)."""
    out = []
    for path in corpus.files():
        for event in corpus.read(path)[:per_file]:
            if isinstance(event, dict):
                out += list(_mutations(event))
    return out


EVENTS = _events()


def test_the_corpus_with_mutations_is_a_real_mix_of_valid_and_invalid(validators: Any) -> None:
    fast, _ = validators
    valid = sum(not fast.problems(e) for e in EVENTS)
    assert len(EVENTS) > 250 and 20 < valid < len(EVENTS) - 100, (valid, len(EVENTS))


def test_what_the_fast_check_calls_valid_has_no_jsonschema_error(validators: Any) -> None:
    fast, _ = validators
    checked = 0
    for event in EVENTS:
        kind = event_kind(event)
        validator = fast._event_validators.get(kind) if kind else fast._any_event
        ref = f"{CORE_SCHEMA_ID}#/$defs/{kind}" if kind else CORE_SCHEMA_ID
        if fast._fast.is_valid(ref, event):
            checked += 1
            assert list(validator.iter_errors(event)) == [], json.dumps(event)[:300]
    assert checked > 20


def test_problems_and_screening_are_the_same_with_the_fast_check_off(validators: Any) -> None:
    fast, slow = validators
    for event in EVENTS:
        assert fast.problems(event) == slow.problems(event)
    a, b = fast.screen(EVENTS), slow.screen(EVENTS)
    assert [(s.index, s.warnings) for s in a.accepted] == [(s.index, s.warnings) for s in b.accepted]
    assert [e.as_dict() for e in a.rejected] == [e.as_dict() for e in b.rejected]


def test_strict_errors_are_the_same_with_the_fast_check_off(validators: Any) -> None:
    fast, slow = validators

    def outcome(validator: EventValidator, event: Any) -> Any:
        try:
            validator.validate(event)
        except EventValidationError as exc:
            return exc.as_dict()
        return None

    outcomes = [outcome(fast, e) for e in EVENTS]
    assert outcomes == [outcome(slow, e) for e in EVENTS]
    assert any(o is None for o in outcomes) and any(o is not None for o in outcomes)


def test_values_it_cannot_convert_go_to_jsonschema(validators: Any) -> None:
    fast, _ = validators
    ref = f"{CORE_SCHEMA_ID}#/$defs/RunEvent"
    assert fast._fast.is_valid(ref, {1: "non-string key"}) is False
    assert fast._fast.is_valid("https://example.com/not-vendored.json", {}) is False

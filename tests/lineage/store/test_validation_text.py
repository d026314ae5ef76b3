"""Screening's text checks on the canonical JSON never change an answer.

Reference: the walks the text checks stand in for (`fatal_problem` / `problems` without the text, as
before the checks existed, and derive's module-level readers that never look at the payload). Over the
producer corpus and events built right at and just past each limit the text checks decide (a NUL in a
value and in a key, a lone surrogate, nesting at and past the depth limit, names and facets at and past
their sizes, facet and lineage keys named only inside string values), the answers are the same.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import producer_corpus as corpus

from lineage.config import DEFAULT_MAX_DEPTH, MAX_FACET_BYTES, MAX_NAME_CHARS
from lineage.store.database import _prepare
from lineage.store.derive import column_sources, dataset_keys, job_key, job_keys, lineage_facet_edges
from lineage.store.validation import EventValidator, _structure_clear, _text_depth, canonical_json

DATA = Path(__file__).parents[1] / "data"
RUN = "3f5e8a52-0c6b-4f0e-9f51-2a8c1b7d9e10"


def _event(**extra: Any) -> dict[str, Any]:
    event = {
        "eventType": "COMPLETE", "eventTime": "2025-01-01T00:00:00Z", "run": {"runId": RUN},
        "job": {"namespace": "ns", "name": "job"}, "inputs": [{"namespace": "ns", "name": "in"}],
        "outputs": [{"namespace": "ns", "name": "out"}], "producer": "https://example.com/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    return event | extra


def _nested(depth: int) -> dict[str, Any]:
    """A run facet whose value nests `depth` containers below the event (the event is level 1)."""
    value: Any = "leaf"
    for level in range(depth - 3):  # event > run > facets > custom ... alternate dicts and lists
        value = [value] if level % 2 else {"k": value}
    return _event(run={"runId": RUN, "facets": {"custom": value}} if depth > 3 else {"runId": RUN})


def _edge_cases() -> list[Any]:
    fill = "x" * (MAX_FACET_BYTES - 60)
    facet = {"_producer": "p", "_schemaURL": "https://example.com/custom.json", "v": fill}
    return [
        _event(job={"namespace": "ns", "name": "a\x00b"}),
        _event(job={"namespace": "ns", "name": "job", "facets": {"bad\x00key": {"_producer": "p"}}}),
        _event(job={"namespace": "ns", "name": "lone \ud800 surrogate"}),
        _event(producer="a literal \\u0000 is not a NUL"),
        _event(producer="names 'facets': and \"lineage\": and \"columnLineage\": only in a string"),
        *(_nested(depth) for depth in (DEFAULT_MAX_DEPTH - 1, DEFAULT_MAX_DEPTH, DEFAULT_MAX_DEPTH + 1)),
        _event(producer="[{" * 40),  # brackets inside a string: the count is over the limit, the depth is not
        *(_event(outputs=[{"namespace": "ns", "name": "n" * size}]) for size in (MAX_NAME_CHARS, MAX_NAME_CHARS + 1)),
        _event(job={"namespace": "j" * (MAX_NAME_CHARS + 1), "name": "job"}),
        *(_event(outputs=[{"namespace": "ns", "name": "out", "facets": {"custom": facet | {"v": fill + "y" * pad}}}])
          for pad in (0, 100)),
        _event(run={"runId": RUN, "facets": {"n": {"_producer": "p", "_schemaURL": "u", "big": 2**63, "ok": 2**63 - 1,
                                                  "far": 1.5e100, "edge": 1e100}}}),
        _event(run={"runId": "not-a-uuid"}),
        _event(run={"runId": RUN.upper()}),
        _event(eventTime="never"),
        _event(outputs=[{"namespace": "ns", "name": "out", "facets": {
            "columnLineage": {"_producer": "p", "_schemaURL": "u", "fields": {"c": {"inputFields": [
                {"namespace": "ns", "name": "elsewhere", "field": "a", "transformations": [{"type": "DIRECT"}]}]}}},
            "lineage": {"_producer": "p", "_schemaURL": "u", "inputs": [{"namespace": "ns", "name": "declared"}]},
        }}]),
    ]


def _corpus() -> list[Any]:
    events: list[Any] = [json.loads(p.read_text()) for p in sorted(DATA.glob("*.json"))]
    for path in corpus.files():
        events += corpus.read(path)[:3]
    return events


EVENTS = [*_corpus(), *_edge_cases()]


@pytest.fixture(scope="module")
def validator() -> EventValidator:
    return EventValidator()


def test_the_edge_cases_reach_both_answers(validator: EventValidator) -> None:
    screening = validator.screen(_edge_cases())
    assert len(screening.rejected) >= 6 and len(screening.accepted) >= 8


def test_screening_with_the_text_equals_the_walks(validator: EventValidator) -> None:
    screening = validator.screen(EVENTS)
    rejected = {e.index: e.as_dict() for e in screening.rejected}
    accepted = {s.index: s for s in screening.accepted}
    assert len(rejected) + len(accepted) == len(EVENTS)
    for index, event in enumerate(EVENTS):
        fatal = validator.fatal_problem(event, index=index)  # no text: every walk runs
        if fatal is not None:
            assert rejected[index] == fatal.as_dict(), json.dumps(event)[:300]
            continue
        assert accepted[index].warnings == tuple(validator.problems(event)), json.dumps(event)[:300]
        assert accepted[index].payload == canonical_json(event)


def test_the_depth_read_from_the_text_is_the_nesting_depth() -> None:
    for depth in range(1, 12):
        value = _nested(depth + 3) if depth > 1 else {"a": "{[}]"}
        text = canonical_json(value)
        assert _text_depth(text, 99) == _depth(value)
    deep = canonical_json(_nested(DEFAULT_MAX_DEPTH + 1))
    assert _structure_clear(canonical_json(_nested(DEFAULT_MAX_DEPTH)), DEFAULT_MAX_DEPTH)
    assert not _structure_clear(deep, DEFAULT_MAX_DEPTH)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def test_derived_keys_read_with_the_payload_equal_the_walks() -> None:
    """`Prepared` skips the lineage and columnLineage readers when the payload names no such key."""
    checked = 0
    for event in EVENTS:
        if not isinstance(event, dict) or _unpreparable(event):
            continue
        item = _prepare(copy.deepcopy(event))
        own = job_key(event.get("job"))
        assert item.dataset_keys() == dataset_keys(event), json.dumps(event)[:300]
        assert item.job_keys() == job_keys(event)
        assert item.lineage == lineage_facet_edges(event, own)
        assert item.column_sources == [(key, list(column_sources(ds))) for _, _, _, ds, key in item.sides]
        assert item.has_side_facets == any(ds.get("facets") or (extra and ds.get(extra))
                                           for _, extra, _, ds, _ in item.sides)
        checked += 1
    assert checked > 50


def _unpreparable(event: dict[str, Any]) -> bool:
    try:
        canonical_json(event).encode("utf-8")
        return not isinstance(event.get("eventTime"), str) or _prepare(event) is None
    except (ValueError, TypeError, UnicodeEncodeError):
        return True

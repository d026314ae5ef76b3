"""The one-serialisation screening of a wide event gives what the previous code gave.

Previously the event was dumped whole (`canonical_json`), every facet again for the facet-size limit
(`json.dumps(facet, separators=(",", ":"), ensure_ascii=False)`) and for its facet row (`canonical`), and
out-of-bounds numbers were found by a walk of the event. The reference below is that code: the same
functions called without the texts screening now shares, on the bench's wide event and the producer corpus.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from helpers import producer_corpus as corpus

from lineage.store import validation as v
from lineage.store.database import _prepare
from lineage.store.derive import canonical, derived_rows


def _wide_event(columns: int = 3_300, inputs: int = 3, seed_value: Any = 1.5) -> dict[str, Any]:
    """A COMPLETE shaped like bench_emission's wide one (9,900 edges: within the per-event limit)."""
    names = [f"feature_{i:05d}" for i in range(columns)]
    p = {"_producer": "https://example.com/p", "_schemaURL": "https://example.com/f.json"}
    transformations = [{"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": False}]
    fields = {n: {"inputFields": [{"namespace": "file", "name": "/d/wide_source", "field": names[(i + j) % columns],
                                   **({"transformations": transformations} if i % 50 == 0 else {})}
                                  for j in range(inputs)]} for i, n in enumerate(names)}
    metrics = {n: {"nullCount": i, "min": -seed_value * i, "max": seed_value * i, "quantiles": {"0.5": 0.25}}
               for i, n in enumerate(names)}
    return {
        "eventType": "COMPLETE", "eventTime": "2026-12-03T08:00:00.000000+00:00",
        "producer": "https://example.com/p", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0190b2b4-6a4f-7c3e-8d2a-3f5c2a9e1b7d", "facets": {"parent": {**p, "job": {"namespace": "n", "name": "j"},
                                                                                     "run": {"runId": "0190b2b4-6a4f-7c3e-8d2a-3f5c2a9e1b7e"}}}},
        "job": {"namespace": "dagster", "name": "wide_observed", "facets": {"jobType": {**p, "processingType": "BATCH",
                                                                                       "integration": "DAGSTER", "jobType": "ASSET"}}},
        "inputs": [{"namespace": "file", "name": "/d/wide_source", "inputFacets": {"dataQualityMetrics": {**p, "columnMetrics": metrics}}}],
        "outputs": [{"namespace": "file", "name": "/d/wide_observed",
                     "facets": {"columnLineage": {**p, "fields": fields},
                                "schema": {**p, "fields": [{"name": n, "type": "double"} for n in names]},
                                "version": {**p, "datasetVersion": "v1"}},
                     "outputFacets": {"dataQualityMetrics": {**p, "rowCount": 50, "columnMetrics": metrics}}}],
    }


def _variants() -> list[Any]:
    wide = _wide_event()
    huge_int = copy.deepcopy(wide)
    huge_int["outputs"][0]["outputFacets"]["dataQualityMetrics"]["rowCount"] = 2**64  # a number warning
    huge_float = _wide_event(columns=50, seed_value=1e200)  # floats beyond MAX_MAGNITUDE
    digits_in_text = _wide_event(columns=20)
    digits_in_text["job"]["facets"]["jobType"]["note"] = "1234567890123456789012 e+5"  # the scan's false alarm
    nan = _wide_event(columns=20, seed_value=float("nan"))  # not canonical JSON: the walks decide
    mixed_keys = _wide_event(columns=20)
    mixed_keys["outputs"][0]["facets"]["schema"][1] = "int key"  # unsortable keys: no canonical JSON
    too_big = _wide_event(columns=2_600, inputs=1)  # no edge limit, a facet over MAX_FACET_BYTES
    too_big["outputs"][0]["facets"]["schema"]["pad"] = "x" * v.MAX_FACET_BYTES
    shared = _wide_event(columns=20)
    shared["outputs"].append({"namespace": "file", "name": "/d/copy", "facets": shared["outputs"][0]["facets"]})
    tuple_facet = _wide_event(columns=20)
    tuple_facet["outputs"][0]["facets"]["schema"]["fields"] = tuple(tuple_facet["outputs"][0]["facets"]["schema"]["fields"])
    no_facets = {k: val for k, val in _wide_event(columns=5).items() if k not in ("inputs", "outputs")}
    return [wide, huge_int, huge_float, digits_in_text, nan, mixed_keys, too_big, shared, tuple_facet, no_facets,
            "not an event", {"eventTime": "2026-12-03T08:00:00Z"}, *corpus.load()]


def _previous_screen(validator: v.EventValidator, events: list[Any]) -> v.Screening:
    """`EventValidator.screen` before: the event dumped once, facets dumped by the limit check, the number walk."""
    out = v.Screening()
    for index, event in enumerate(events):
        text = v._canonical_or_none(event) if v._mapping(event) else None
        facets = v._facets(event, text) if v._mapping(event) else None
        fatal = validator.fatal_problem(event, index=index, facets=facets, text=text)
        if fatal is not None:
            out.rejected.append(fatal)
            continue
        found = validator.problems(event, facets, None)  # without the text: the number walk always runs
        out.accepted.append(v.Screened(index, event, tuple(found), text))
    return out


@pytest.fixture(scope="module")
def events() -> list[Any]:
    return _variants()


def test_screening_gives_the_previous_verdicts_warnings_and_payloads(events: list[Any]) -> None:
    validator = v.default_validator()
    new, old = validator.screen(events), _previous_screen(validator, events)
    assert [(e.index, e.message, e.path) for e in new.rejected] == [(e.index, e.message, e.path) for e in old.rejected]
    assert [(s.index, s.warnings, s.payload) for s in new.accepted] == [(s.index, s.warnings, s.payload) for s in old.accepted]
    assert {s.index for s in new.accepted} >= {0, 1, 2, 3, 8, 9}  # the wide variants are stored
    assert any("number out of range" in w.message for s in new.accepted if s.index == 1 for w in s.warnings)
    assert any(e.index == 6 and "facet is" in e.message for e in new.rejected)


def test_facet_texts_are_the_canonical_json_of_each_facet(events: list[Any]) -> None:
    for event in events:
        if not v._mapping(event):
            continue
        facets = v._facets(event)
        text, texts = v.canonical_with_facets(event, facets)
        assert text == v._canonical_or_none(event)
        if text is None:
            assert texts == {}
            continue
        assert {id(f) for *_, f in facets} == set(texts)
        for *_, facet in facets:
            known, facet_text = texts[id(facet)]
            assert known is facet and facet_text == canonical(facet)
            assert len(facet_text) == len(json.dumps(facet, separators=(",", ":"), ensure_ascii=False))
        assert json.loads(text) == json.loads(json.dumps(event))  # the event itself is left as it was


def test_number_scan_never_hides_what_the_walk_finds(events: list[Any]) -> None:
    for event in events:
        text = v._canonical_or_none(event) if v._mapping(event) else None
        if text is not None:
            assert v._number_warnings(event, text=text) == v._number_warnings(event)
            assert v._text_may_be_out_of_bounds(text) or not v._has_out_of_bounds(event)
    for value in (2**63 - 1, 2**63, -(2**63), 10**30, 1e16, 1e100, 1.0000001e100, -1e101, 5e-324, 123456789.123):
        text = v.canonical_json({"a": [value]})
        assert v._text_may_be_out_of_bounds(text) or not v._has_out_of_bounds({"a": [value]}), value


def test_derived_rows_are_the_same_with_the_shared_facet_texts(events: list[Any]) -> None:
    screening = v.default_validator().screen(events)
    for s in screening.accepted:
        if s.payload is None:  # no canonical JSON (unsortable keys): not storable either way
            continue
        shared, alone = _prepare(s.event, s.payload, s.facet_texts), _prepare(s.event)
        assert shared.payload == alone.payload and shared.event_hash == alone.event_hash
        ids = _ids(alone)
        new = derived_rows([(1, shared)], *ids)
        old = derived_rows([(1, alone)], *ids)
        assert new == old


def _ids(item: Any) -> tuple[dict, dict, dict]:
    datasets = {key: n for n, key in enumerate(sorted(item.dataset_keys(), key=str), 1)}
    jobs = {key: n for n, key in enumerate(sorted(item.job_keys(), key=str), 1)}
    return datasets, jobs, ({item.run_uuid: 1} if item.run_uuid else {})


def _previous_text_depth(text: str, limit: int) -> int:
    """`_text_depth` before the bracket-bytes scan."""
    skeleton, depth = v._JSON_STRING.sub("", text), 0
    while depth <= limit:
        skeleton, peeled = v._INNERMOST.subn("", skeleton)
        if not peeled:
            break
        depth += 1
    return depth


def _nested(rng: Any, depth: int) -> Any:
    """A random JSON value up to `depth` deep whose strings hold brackets, quotes, escapes and non-ASCII."""
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(["plain", "[{", "}]", 'a "quoted" ]', "back\\slash}", "line\nbreak[", "é[ü}", 3, 2.5, None, True])
    if rng.random() < 0.5:
        return [_nested(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["k", "[", "}", 'q"', "\\"]) + str(i): _nested(rng, depth - 1) for i in range(rng.randint(0, 3))}


def test_text_depth_is_the_previous_depth(events: list[Any]) -> None:
    import random

    rng = random.Random(18)
    values = [_nested(rng, rng.randint(0, 12)) for _ in range(400)]
    values += [e for e in events if v._mapping(e)]
    values += [{"a": "[", "b": ["]", {"c": "{{"}]}, ["", "", {"": "}"}], {"x": [[["", "[]"]]]}, ['"', "]]"]]
    deep: Any = "leaf"
    for _ in range(80):
        deep = [deep] if rng.random() < 0.5 else {"[x": deep}
    values.append(deep)
    for value in values:
        text = v._canonical_or_none(value)
        if text is None:
            continue
        for limit in (0, 1, 3, 8, 64):
            assert v._text_depth(text, limit) == _previous_text_depth(text, limit), (text[:200], limit)


# ---------------------------------------------------------------------- column rows: the previous code
def _previous_column_sources(ds: Any) -> Any:
    from lineage.store import derive as d

    lineage = d.facet(ds, "columnLineage")
    if lineage is None:
        return
    fields = d.mapping(lineage.get("fields")) or {}
    for out_field, spec in fields.items():
        spec = d.mapping(spec)
        for src in d._entries(spec.get("inputFields")) if spec else []:
            yield from _previous_column_source(src, str(out_field), src.get("transformations"))
    for src in d._entries(lineage.get("dataset")):
        yield from _previous_column_source(src, None, src.get("transformations"))


def _previous_column_source(src: Any, dst_field: str | None, transformations: Any) -> Any:
    from lineage.store import derive as d

    key, field = d._key(src), d._text(src.get("field"))
    if key and field:
        kinds = tuple(tr for tr in d._entries(transformations) if d._text(tr.get("type")))
        yield d.ColumnSource(key, field, dst_field, kinds)


def _previous_column_row(ctx: Any, dst_id: int, source: Any) -> Any:
    from lineage.store import derive as d

    base = {**ctx.base(), "job_id": ctx.job_id, "run_id": ctx.run_id, "src_dataset_id": ctx.dataset_ids[source.src],
            "src_field": source.src_field, "dst_dataset_id": dst_id, "dst_field": source.dst_field}
    for tr in source.transformations or ({},):
        masking = tr.get("masking")
        yield {
            **base,
            "transformation_type": d._short(tr.get("type"), 32),
            "transformation_subtype": d._short(tr.get("subtype"), 64),
            "description": tr.get("description") if isinstance(tr.get("description"), str) else None,
            "masking": masking if isinstance(masking, bool) else None,
        }


def _odd_lineage_events() -> list[dict[str, Any]]:
    """Column lineage with every kind of transformations value and a dataset-wide part."""
    event = _wide_event(columns=6, inputs=2)
    fields = event["outputs"][0]["facets"]["columnLineage"]["fields"]
    odd = [None, [], {}, "DIRECT", [{"type": ""}, {"type": "INDIRECT", "subtype": "FILTER", "masking": "yes"}],
           [{"type": "DIRECT", "description": "x" * 5, "masking": True}, "not a mapping"]]
    for (name, spec), transformations in zip(fields.items(), odd):
        spec["inputFields"][0]["transformations"] = transformations
    fields["bad"] = {"inputFields": [{"namespace": "", "name": "x", "field": "f"}, {"namespace": "n", "name": "x"}, 7]}
    event["outputs"][0]["facets"]["columnLineage"]["dataset"] = [
        {"namespace": "file", "name": "/d/wide_source", "field": "feature_00001", "transformations": [{"type": "INDIRECT"}]}]
    return [event]


def test_column_rows_are_the_previous_rows(events: list[Any]) -> None:
    from lineage.store import derive as d
    from lineage.store import tables as t

    storable = [s for s in v.default_validator().screen([*events, *_odd_lineage_events()]).accepted if s.payload]
    for s in storable:
        item = _prepare(s.event, s.payload, s.facet_texts)
        ids = _ids(item)
        previous_sources = [(key, list(_previous_column_sources(ds))) for *_, ds, key in item.sides]
        assert item.column_sources == previous_sources
        ctx = d._Context(1, item, ids[0], ids[1], 1 if item.run_uuid else None, ids[1].get(item.job))
        previous = [row for key, sources in previous_sources for source in sources
                    for row in _previous_column_row(ctx, ids[0][key], source)]
        rows = derived_rows([(1, item)], *ids)[t.column_edges]
        assert [list(r.items()) for r in rows] == [list(r.items()) for r in previous]
        declared = [row for target, source in item.lineage[1] for row in _previous_column_row(ctx, ids[0][target], source)]
        rows = derived_rows([(1, item)], *ids)[t.declared_column_edges]
        assert [list(r.items()) for r in rows] == [list(r.items()) for r in declared]

"""The OpenAPI document publishes the OpenLineage event schema the ingest body is validated against:
every reference resolves, and a real openlineage-python event validates against it (jsonschema)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from helpers.emission_events import run_events
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from lineage.serve.api import create_app
from lineage.serve.openapi import openlineage_components


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> dict:
    return create_app(db_url=f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'lineage.db'}").openapi()


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_reference_in_the_document_resolves(spec) -> None:
    schemas = spec["components"]["schemas"]
    for ref in set(_refs(spec)):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref


def test_the_ingest_body_is_an_event_or_a_list_of_events(spec) -> None:
    body = spec["paths"]["/api/v1/lineage"]["post"]["requestBody"]
    variants = body["content"]["application/json"]["schema"]["anyOf"]
    assert {"$ref": "#/components/schemas/OpenLineageEvent"} in variants
    assert any(v.get("type") == "array" and v.get("minItems") == 1 for v in variants)


def _validator(spec: dict) -> jsonschema.Draft202012Validator:
    document = {"components": spec["components"]}
    registry = Registry().with_resource("urn:obs:openapi", Resource(contents=document, specification=DRAFT202012))
    schema = {"$ref": "urn:obs:openapi#/components/schemas/OpenLineageEvent"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


def test_a_real_event_validates_and_a_broken_one_does_not(spec) -> None:
    validator = _validator(spec)
    for event in run_events(2, per_run=2):
        validator.validate(json.loads(json.dumps(event)))
    broken = {**run_events(1, per_run=1)[0], "eventTime": 12}
    assert list(validator.iter_errors(broken))


def test_components_come_from_the_vendored_core_schema_and_are_built_once() -> None:
    components = openlineage_components()
    assert {"OpenLineageRunEvent", "OpenLineageJob", "OpenLineageRun", "OpenLineageEvent"} <= set(components)
    assert not any(ref.startswith("#/$defs/") for ref in _refs(components))
    assert openlineage_components() is components

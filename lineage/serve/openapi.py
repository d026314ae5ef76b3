"""The OpenAPI document: FastAPI's, plus the OpenLineage event schemas the ingest body is validated against."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from fastapi import FastAPI

_OL_PREFIX = "OpenLineage"
INGEST_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One OpenLineage event, or a non-empty JSON array of events stored all-or-nothing. "
        "Validated against the vendored OpenLineage 2-0-2 schema and the standard facet schemas; "
        "gzip/deflate Content-Encoding accepted.",
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": f"#/components/schemas/{_OL_PREFIX}Event"},
                        {"type": "array", "minItems": 1, "items": {"$ref": f"#/components/schemas/{_OL_PREFIX}Event"}},
                    ]
                }
            }
        },
    },
    "responses": {
        "400": {"description": "empty body, malformed JSON or gzip data, JSON nested too deeply, a key given twice, "
                               "a Host not served"},
        "401": {"description": "missing or wrong bearer token (when a token is configured)"},
        "403": {"description": "a browser write from a foreign Origin (not in OBS_CORS_ORIGINS)"},
        "413": {"description": "body larger than the cap (compressed or decompressed)"},
        "415": {"description": "unsupported Content-Encoding, or a Content-Type other than application/json"},
        "422": {"description": "an event does not follow the OpenLineage spec or exceeds a per-event limit (names, "
                               "column-lineage edges, facet size); nothing was stored"},
    },
}


def publish_event_schemas(app: FastAPI) -> None:
    """The ingest handler reads the raw body (size cap, gzip) so FastAPI cannot infer its schema;
    publish the OpenLineage event definitions in the app's OpenAPI components instead."""
    base_openapi = app.openapi

    def openapi_with_event_schemas() -> dict[str, Any]:
        schema = base_openapi()
        schema.setdefault("components", {}).setdefault("schemas", {}).update(openlineage_components())
        return schema

    app.openapi = openapi_with_event_schemas  # type: ignore[method-assign]


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                f"#/components/schemas/{_OL_PREFIX}{value.removeprefix('#/$defs/')}"
                if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/")
                else _rewrite_refs(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


@lru_cache(maxsize=1)
def openlineage_components() -> dict[str, Any]:
    """The vendored OpenLineage core schema's `$defs` as OpenAPI components (`OpenLineage<Name>`)."""
    core = json.loads((resources.files("lineage.store") / "schemas" / "OpenLineage.json").read_text(encoding="utf-8"))
    components = {f"{_OL_PREFIX}{name}": _rewrite_refs(definition) for name, definition in core["$defs"].items()}
    components[f"{_OL_PREFIX}Event"] = _rewrite_refs({"oneOf": core["oneOf"]})
    return components

"""Validate events against the official OpenLineage JSON Schemas in ../shared/openlineage-spec
(or the copy vendored in lineage/schemas) plus our shipped custom facet schemas (drift, modelPerformance, the monitoring facets).

The official ``https://openlineage.io/spec/...`` ``$id``s and the custom facets' raw.githubusercontent
URLs are resolved to local files by a ``referencing`` registry: nothing is fetched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from lineage.emission.facets import DRIFT_SCHEMA_ID, drift_schema
from lineage.facets.model import MODEL_SCHEMA_ID, model_performance_schema
from lineage.facets.monitoring import MONITORING_SCHEMA_ID, monitoring_schema

ROOT = Path(__file__).resolve().parents[3]
# The official spec beside the checkout (../shared, as CI lays it out), else the vendored copy.
_CANDIDATES = [Path(p) for p in (os.environ.get("OBS_OPENLINEAGE_SPEC"),) if p] + [
    ROOT.parent / "shared" / "openlineage-spec", ROOT / "lineage" / "store" / "schemas"]
SPEC_DIR = next(p for p in _CANDIDATES if (p / "OpenLineage.json").exists())
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"


class SpecValidator:
    def __init__(self, spec_dir: Path = SPEC_DIR) -> None:
        schemas = [json.loads((spec_dir / "OpenLineage.json").read_text())]
        schemas += [json.loads(p.read_text()) for p in sorted((spec_dir / "facets").glob("*.json"))]
        schemas += [drift_schema(), model_performance_schema(), monitoring_schema()]
        registry = Registry()
        self.facet_refs: dict[str, str] = {}  # facet key -> absolute $ref of its definition
        for schema in schemas:
            registry = registry.with_resource(schema["$id"], Resource.from_contents(schema, DRAFT202012))
            for key, prop in schema.get("properties", {}).items():
                ref = prop.get("$ref", "")
                if ref.startswith("#/$defs/"):
                    self.facet_refs[key] = schema["$id"] + ref
        self.registry = registry.crawl()
        self.checker = FormatChecker()
        self._cache: dict[str, Draft202012Validator] = {}

    def _validator(self, ref: str) -> Draft202012Validator:
        if ref not in self._cache:
            self._cache[ref] = Draft202012Validator({"$ref": ref}, registry=self.registry, format_checker=self.checker)
        return self._cache[ref]

    def errors(self, event: dict[str, Any]) -> list[str]:
        kind = "RunEvent" if "run" in event else "DatasetEvent" if "dataset" in event else "JobEvent"
        out = [f"$: {e.message}" for e in self._validator(f"{CORE}#/$defs/{kind}").iter_errors(event)]
        for path, key, facet in _facets(event):
            ref = self.facet_refs.get(key)
            if ref is None:
                out.append(f"{path}: facet {key!r} has no schema")
                continue
            own = {"drift": DRIFT_SCHEMA_ID, "modelPerformance": MODEL_SCHEMA_ID,
                   **dict.fromkeys(("explanationDrift", "metricRegression", "metricAnomaly", "segments"),
                                   MONITORING_SCHEMA_ID)}.get(key)
            if own and not facet.get("_schemaURL", "").startswith(own):
                out.append(f"{path}: {key} facet _schemaURL {facet.get('_schemaURL')!r}")
            out += [f"{path}: {e.message}" for e in self._validator(ref).iter_errors(facet)]
        return out

    def validate(self, event: dict[str, Any]) -> None:
        errors = self.errors(event)
        assert not errors, "\n".join(errors) + "\n" + json.dumps(event, indent=1)[:3000]


def _facets(event: dict[str, Any]):
    def group(container: dict[str, Any] | None, path: str):
        for key, facet in (container or {}).items():
            yield f"{path}.{key}", key, facet

    if "run" in event:
        yield from group(event["run"].get("facets"), "$.run.facets")
    if "job" in event:
        yield from group(event["job"].get("facets"), "$.job.facets")
    datasets = [("inputs", d) for d in event.get("inputs") or []] + [("outputs", d) for d in event.get("outputs") or []]
    if "dataset" in event:
        datasets.append(("dataset", event["dataset"]))
    for side, ds in datasets:
        for facet_group in ("facets", "inputFacets", "outputFacets"):
            yield from group(ds.get(facet_group), f"$.{side}[{ds['name']}].{facet_group}")

"""Marquez's API on `obs serve`: the real marquez-python client (0.50.0) reads it, every response
validates against Marquez's own OpenAPI spec (openapi-core), and the answers equal what the events
say and what our own queries say.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from helpers import producer_corpus as corpus
from helpers.lineage_live import LiveServer
from marquez_client import MarquezClient
from marquez_client import client as marquez_client_module
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from lineage.graph import queries
from lineage.serve.api import create_app
from lineage.store import LineageStore
from lineage.store.validation import RUN_ID_NAMESPACE
from lineage.store.warning_tables import warning_totals

SPEC = corpus.ROOT / "marquez" / "openapi.yml"
SEED = corpus.ROOT / "marquez" / "seed_metadata.jsonl"
NS = "food_delivery"


def _without_empty_types(node: Any) -> Any:
    """The spec leaves `type:` empty (SearchResult.name, .updatedAt): read as 'any type'."""
    if isinstance(node, dict):
        return {k: _without_empty_types(v) for k, v in node.items() if not (k == "type" and v is None)}
    if isinstance(node, list):
        return [_without_empty_types(v) for v in node]
    return node


def _openapi(base_url: str) -> OpenAPI:
    # Through JSON: YAML reads `200:` as an int key and example timestamps as datetimes.
    spec = _without_empty_types(json.loads(json.dumps(yaml.safe_load(SPEC.read_text()), default=str)))
    spec["servers"] = [{"url": base_url + "/api/v1"}]
    # Marquez's spec fails the spec validator (a `paramteters` typo); response validation is unaffected.
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


class ValidatingHttp:
    """Every GET/PUT/POST the client makes is checked against the spec as it comes back."""

    def __init__(self, openapi: OpenAPI) -> None:
        self.openapi = openapi
        self.checked: list[str] = []

    def check(self, response: requests.Response) -> requests.Response:
        if response.status_code < 300:
            self.openapi.validate_response(RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))
            self.checked.append(response.request.path_url)
        return response

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.check(requests.request("GET", url, **kwargs))

    def put(self, url: str, **kwargs: Any) -> requests.Response:
        return self.check(requests.request("PUT", url, **kwargs))

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.check(requests.request("POST", url, **kwargs))

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        return self.check(requests.request("DELETE", url, **kwargs))


@pytest.fixture
def seeded(db_url: str) -> Iterator[tuple[LineageStore, list[dict[str, Any]]]]:
    """Marquez's own demo seed in a fresh store, on SQLite and on PostgreSQL."""
    events = corpus.read(SEED)
    with LineageStore.open(db_url) as store:
        assert store.ingest(events).stored == len(events)
        yield store, events


@pytest.fixture
def live(seeded: tuple[LineageStore, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MarquezClient, ValidatingHttp]]:
    store, _ = seeded
    with LiveServer(create_app(store=store)) as server:
        http = ValidatingHttp(_openapi(server.url))
        for method in ("get", "put", "post"):
            monkeypatch.setattr(marquez_client_module.requests, method, getattr(http, method))
        yield MarquezClient(server.url), http


def _column_sources(ds: dict[str, Any]) -> list[dict[str, Any]]:
    """Datasets a columnLineage facet names as sources: the store keeps them as datasets too."""
    fields = ((ds.get("facets") or {}).get("columnLineage") or {}).get("fields") or {}
    return [src for spec in fields.values() for src in spec.get("inputFields") or []]


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return item["namespace"], item["name"]


def test_client_lists_what_the_events_hold(seeded: Any, live: Any) -> None:
    _, events = seeded
    client, http = live
    jobs = {_key(e["job"]) for e in events}
    datasets = {_key(ds) for e in events for ds in [*e.get("inputs", []), *e.get("outputs", [])]}
    datasets |= {_key(src) for e in events for ds in e.get("outputs", []) for src in _column_sources(ds)}
    assert [n["name"] for n in client.list_namespaces()["namespaces"]] == sorted({ns for ns, _ in jobs | datasets})
    assert client.get_namespace(NS)["name"] == NS
    listed = client.list_datasets(NS, limit=1000)
    assert {_key(d) for d in listed["datasets"]} == datasets and listed["totalCount"] == len(datasets)
    assert {_key(j) for j in client.list_jobs(NS, limit=1000)["jobs"]} == jobs
    assert len(http.checked) == 4


def test_job_runs_and_run_states_follow_the_events(seeded: Any, live: Any) -> None:
    _, events = seeded
    client, _ = live
    for namespace, name in sorted({_key(e["job"]) for e in events})[:4]:
        mine = [e for e in events if _key(e["job"]) == (namespace, name)]
        runs = client.list_job_runs(namespace, name)["runs"]
        assert {r["id"] for r in runs} == {e["run"]["runId"] for e in mine}
        for item in runs:
            types = [e["eventType"] for e in mine if e["run"]["runId"] == item["id"]]
            expected = "COMPLETED" if "COMPLETE" in types else "FAILED" if "FAIL" in types else "RUNNING"
            assert item["state"] == expected
            assert client.get_job_run(item["id"])["id"] == item["id"]
        job = client.get_job(namespace, name)
        assert job["latestRun"]["id"] in {e["run"]["runId"] for e in mine}


def test_dataset_versions_are_the_runs_that_wrote_it(seeded: Any, live: Any) -> None:
    _, events = seeded
    client, _ = live
    written = {}
    for e in events:
        for ds in e.get("outputs", []):
            written.setdefault(_key(ds), set()).add(e["run"]["runId"])
    for (namespace, name), run_ids in sorted(written.items())[:4]:
        versions = client.list_dataset_versions(namespace, name)["versions"]
        assert {v["createdByRun"]["id"] for v in versions} == run_ids
        one = client.get_dataset_version(namespace, name, versions[0]["version"])
        assert one["id"] == versions[0]["id"]
        assert client.get_dataset(namespace, name)["currentVersion"] == versions[0]["version"]


def test_lineage_graph_equals_our_own_queries(seeded: Any, live: Any) -> None:
    store, _ = seeded
    client, http = live
    node = "dataset:food_delivery:public.delivery_7_days"
    graph = client._get(client._url("/lineage"), params={"nodeId": node, "depth": 2})["graph"]
    up = queries.upstream(store, "public.delivery_7_days", namespace=NS, depth=2)
    down = queries.downstream(store, "public.delivery_7_days", namespace=NS, depth=2)
    ours = {up["root"]["key"]} | {i["key"] for r in (up, down) for i in [*r["datasets"], *r["jobs"]]}
    assert {n["id"] for n in graph} == ours
    edges = {(e["from"], e["to"]) for r in (up, down) for e in r["edges"]}
    assert {(e["origin"], e["destination"]) for n in graph for e in n["outEdges"]} == edges
    assert {(e["origin"], e["destination"]) for n in graph for e in n["inEdges"]} == edges
    assert http.checked[-1].startswith("/api/v1/lineage?")


def test_search_sources_events_and_errors_follow_the_spec(seeded: Any, live: Any) -> None:
    _, events = seeded
    client, http = live
    found = client._get(client._url("/search"), params={"q": "delivery"})
    assert {r["name"] for r in found["results"]} >= {"public.delivery_7_days", "delivery_times_7_days"}
    assert all("delivery" in r["name"] for r in found["results"])
    assert {s["name"] for s in client._get(client._url("/sources"))["sources"]} == {NS}
    page = client._get(client._url("/events/lineage"), params={"limit": 5})
    assert page["totalCount"] == len(events) and len(page["events"]) == 5
    times = [e["eventTime"] for e in page["events"]]
    assert times == sorted(times, reverse=True)
    run_id = page["events"][0]["run"]["runId"]
    # Not spec-validated: the spec's FacetsResult.facets is one CustomFacet (_producer/_schemaURL at its
    # top level), while Marquez answers a map of facets by name; this answers as Marquez does.
    facets = requests.request("GET", client._url(f"/jobs/runs/{run_id}/facets"), params={"type": "run"}, timeout=10).json()
    expected = {k for e in events if e["run"]["runId"] == run_id for k in (e["run"].get("facets") or {})}
    assert facets["runId"] == run_id and set(facets["facets"]) == expected
    with pytest.raises(Exception):
        client.get_dataset(NS, "no.such.table")
    assert http.checked == ["/api/v1/search?q=delivery", "/api/v1/sources", "/api/v1/events/lineage?limit=5"]


def test_a_run_with_a_non_uuid_id_is_found_by_its_original_id(tmp_path: Path) -> None:
    event = corpus.read(corpus.ROOT / "compatibility" / "simple_run_event.json")[0]
    with LineageStore.open(f"sqlite:///{tmp_path / 'x.db'}") as store:
        store.ingest([event])
        with LiveServer(create_app(store=store)) as server:
            body = requests.get(f"{server.url}/api/v1/jobs/runs/{event['run']['runId']}", timeout=10).json()
    assert body["id"] == str(uuid.uuid5(RUN_ID_NAMESPACE, event["run"]["runId"]))


def test_invalid_events_are_listed_with_their_warnings(tmp_path: Path) -> None:
    apples = corpus.read(corpus.ROOT / "marquez" / "apples.jsonl")
    good = corpus.read(SEED)[:2]
    with LineageStore.open(f"sqlite:///{tmp_path / 'x.db'}") as store:
        store.ingest([*apples, *good])
        with LiveServer(create_app(store=store)) as server:
            response = requests.get(f"{server.url}/api/v1/events/lineage", params={"invalid": "true", "limit": 100}, timeout=10)
            _openapi(server.url).validate_response(RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))
        with store.read() as conn:
            totals = warning_totals(conn)
    body = response.json()
    assert body["totalCount"] == len(apples)
    assert sorted(json.dumps(e, sort_keys=True) for e in body["events"]) == sorted(json.dumps(e, sort_keys=True) for e in apples)
    assert all(any("schemaURL" in w["message"] for w in item["warnings"]) for item in body["warnings"])
    assert totals == (len(apples), sum(len(item["warnings"]) for item in body["warnings"]))  # what /metrics reports


def test_column_lineage_through_the_client_follows_the_column_lineage_facet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events = corpus.read(corpus.ROOT / "spark" / "cll_hive_ctas.jsonl")
    expected = {
        ((src["namespace"], src["name"], src["field"]), (ds["namespace"], ds["name"], out))
        for e in events
        for ds in e.get("outputs", [])
        for out, spec in (((ds.get("facets") or {}).get("columnLineage") or {}).get("fields") or {}).items()
        for src in spec.get("inputFields") or []
    }
    targets = Counter((dst[0], dst[1]) for _, dst in expected)
    dst_ns, dst_name = max(targets, key=lambda k: (targets[k], k))
    expected = {(src, dst) for src, dst in expected if (dst[0], dst[1]) == (dst_ns, dst_name)}
    with LineageStore.open(f"sqlite:///{tmp_path / 'cll.db'}") as store:
        store.ingest(events)
        with LiveServer(create_app(store=store)) as server:
            client = MarquezClient(server.url)
            graph = client.get_column_lineage_by_dataset(dst_ns, dst_name, depth=5)["graph"]
            field = sorted(expected)[0][0]
            down = client.get_column_lineage_by_dataset_field(*field, with_downstream=True)["graph"]
    split = lambda node_id: tuple(node_id.removeprefix("datasetField:").rsplit(":", 2)[-3:])  # noqa: E731
    edges = {
        (split(e["origin"]), split(e["destination"]))
        for n in graph
        for e in n["inEdges"]
        if split(e["destination"])[:2] == (dst_ns, dst_name)
    }
    # Namespaces here hold no ':' ('file'), so the nodeId splits unambiguously.
    assert edges == expected
    assert {split(e["destination"]) for n in down for e in n["outEdges"] if split(e["origin"]) == field} == {
        dst for src, dst in expected if src == field
    }
    # The spec's LineageGraph knows only JOB and DATASET nodes; Marquez answers DATASET_FIELD here, and so do we.
    assert {n["type"] for n in graph} == {"DATASET_FIELD"}


def test_writes_the_client_still_uses_namespaces_tags_and_soft_delete(seeded: Any, live: Any) -> None:
    store, events = seeded
    client, http = live
    created = client.create_namespace("analytics", "data-team", "owned by the data team")
    assert (created["name"], created["ownerName"], created["description"]) == ("analytics", "data-team", "owned by the data team")
    assert client.create_namespace(NS, "food-team")["ownerName"] == "food-team"  # an existing namespace gets an owner
    assert {n["name"] for n in client.list_namespaces()["namespaces"]} == {NS, "analytics"}
    assert client.create_tag("PII", "personal data")["tags"] == [{"name": "PII", "description": "personal data"}]
    tagged = client.tag_dataset(NS, "public.customers", "SENSITIVE")
    assert tagged["tags"] == ["SENSITIVE"]
    field = client.tag_dataset_field(NS, "public.customers", "email", "PII")
    assert {f["name"]: f["tags"] for f in field["fields"]}["email"] == ["PII"]
    assert {t["name"] for t in client.list_tags()["tags"]} == {"PII", "SENSITIVE"}

    base = client._api_base
    gone = http.delete(f"{base}/namespaces/{NS}/datasets/public.customers")
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    assert requests.request("GET", f"{base}/namespaces/{NS}/datasets/public.customers", timeout=10).status_code == 404
    assert "public.customers" not in {d["name"] for d in client.list_datasets(NS, limit=1000)["datasets"]}
    assert http.delete(f"{base}/namespaces/{NS}/jobs/etl_customers").status_code == 200
    assert "etl_customers" not in {j["name"] for j in client.list_jobs(NS, limit=1000)["jobs"]}

    # A new event naming the dataset brings it back (Marquez's soft delete works the same way).
    again = next(e for e in events if any(o["name"] == "public.customers" for o in e.get("outputs", [])))
    store.ingest([{**again, "run": {"runId": str(uuid.uuid4())}}])
    assert client.get_dataset(NS, "public.customers")["name"] == "public.customers"
    assert any(p.startswith("/api/v1/namespaces/analytics") for p in http.checked)


def test_stats_count_the_events_of_the_last_day(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from helpers.lineage_workers import simple_event

    now = datetime.now(UTC)
    kinds = ["START", "COMPLETE", "FAIL", "COMPLETE", "ABORT"]
    events = []
    for i, kind in enumerate(kinds):
        event = simple_event(i, when=now - timedelta(hours=i * 3, minutes=1))
        event["eventType"] = kind
        events.append(event)
    old = simple_event(99, when=now - timedelta(days=3))  # outside the last day
    with LineageStore.open(f"sqlite:///{tmp_path / 's.db'}") as store:
        store.ingest([*events, old])
        n_datasets = store.counts()["datasets"]
        with LiveServer(create_app(store=store)) as server:
            day = requests.request("GET", f"{server.url}/api/v1/stats/lineage-events", params={"period": "DAY"}, timeout=10)
            week = requests.request("GET", f"{server.url}/api/v1/stats/datasets", params={"period": "WEEK", "timezone": "Europe/Berlin"}, timeout=10)
            no_tz = requests.request("GET", f"{server.url}/api/v1/stats/jobs", params={"period": "WEEK"}, timeout=10)
    buckets = day.json()
    assert len(buckets) == 24
    for key in ("start", "complete", "fail", "abort"):
        assert sum(b[key] for b in buckets) == kinds.count(key.upper())
    assert len(week.json()) == 7 and sum(b["count"] for b in week.json()) == n_datasets
    assert no_tz.status_code == 400

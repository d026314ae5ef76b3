"""The web UI's JSON views and static shell (fast: TestClient on a small store), checked against the events stored."""

from __future__ import annotations

import fnmatch
import statistics
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import networkx as nx
import pytest
from fastapi.testclient import TestClient
from helpers import producer_corpus as corpus
from helpers import ui_corpus
from helpers.partitioned_events import run

from lineage.analysis import incidents
from lineage.serve.api import create_app
from lineage.serve.ui.layout import layered_layout
from lineage.store import LineageStore

ROOT = Path(__file__).resolve().parents[3]
BASE = "http://127.0.0.1"  # a loopback Host: the server's DNS-rebinding guard serves it


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return ui_corpus.pipeline_events()


@pytest.fixture(scope="module")
def store(tmp_path_factory, events) -> LineageStore:
    store = LineageStore.open(f"sqlite:///{tmp_path_factory.mktemp('ui') / 'lineage.db'}")
    store.ingest(events)
    store.ingest(corpus.load("spark"), validate=False)
    incidents.sync(store)
    yield store
    store.dispose()


@pytest.fixture(scope="module")
def client(store) -> TestClient:
    return TestClient(create_app(store=store), base_url=BASE)


def _outputs(events: list[dict], name: str) -> list[tuple[dict, dict]]:
    """(event, output) of each COMPLETE event writing `name`, in event order."""
    return [(e, o) for e in events if e["eventType"] == "COMPLETE" for o in e["outputs"] if o["name"] == name]


def _partition(event: dict) -> str:
    return event["run"]["facets"]["tags"]["tags"][0]["value"]


def test_layout_puts_every_edge_left_to_right_and_gives_each_node_its_own_spot() -> None:
    dag = nx.gnp_random_graph(300, 0.02, seed=7, directed=True)
    edges = [(str(a), str(b)) for a, b in dag.edges if a < b]  # acyclic
    where = layered_layout([str(n) for n in dag.nodes], edges)
    assert all(where[a][0] < where[b][0] for a, b in edges)
    assert len(set(where.values())) == len(where) == 300
    cyclic = layered_layout(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "b")])
    assert cyclic["b"][0] == cyclic["c"][0] > cyclic["a"][0]  # a cycle shares one layer


def test_lineage_view_draws_the_stored_upstream_with_quality_states(client, events) -> None:
    body = client.get("/api/v1/ui/lineage", params={"name": "clean.loans", "up": 1, "down": 0}).json()
    writers = {e["job"]["name"] for e, _ in _outputs(events, "clean.loans")}
    inputs = {i["name"] for e, _ in _outputs(events, "clean.loans") for i in e["inputs"]}
    assert {(n["type"], n["name"]) for n in body["nodes"]} == (
        {("dataset", "clean.loans")} | {("job", j) for j in writers} | {("dataset", i) for i in inputs})
    by_name = {n["name"]: n for n in body["nodes"]}
    assert all(by_name[i]["x"] < by_name["clean"]["x"] < by_name["clean.loans"]["x"] for i in inputs)
    last_event, last = _outputs(events, "raw.loans")[-1]
    failed = [a for a in last["facets"]["dataQualityAssertions"]["assertions"] if not a["success"]]
    assert failed and by_name["raw.loans"]["state"] == "failing"
    job = client.get("/api/v1/ui/lineage", params={"name": "clean", "type": "job", "up": 1, "down": 1}).json()
    assert {n["name"] for n in job["nodes"]} >= {"clean", "clean.loans", *inputs}
    assert job["root"]["type"] == "job"


def test_lineage_view_as_of_leaves_out_what_came_later(client, events) -> None:
    train, _ = _outputs(events, "models.loan_model")[0]
    before = train["eventTime"].replace("02:01:00", "01:00:00")
    params = {"name": "clean.loans", "up": 0, "down": 3}
    now = {n["name"] for n in client.get("/api/v1/ui/lineage", params=params).json()["nodes"]}
    then = {n["name"] for n in client.get("/api/v1/ui/lineage", params={**params, "as_of": before}).json()["nodes"]}
    assert {"models.loan_model", "serving.loan_scores"} <= now
    assert not {"models.loan_model", "serving.loan_scores"} & then
    assert client.get("/api/v1/ui/lineage", params={**params, "up": -1}).status_code == 422


def test_dataset_page_drift_report_shows_the_stored_statistics_and_quantiles(client, events) -> None:
    page = client.get("/api/v1/ui/dataset", params={"namespace": ui_corpus.NS, "name": "raw.loans"}).json()
    [report] = [r for r in page["drift"] if r["partition"] == ui_corpus.FAULT_PARTITION]
    fault_event, fault = [(e, o) for e, o in _outputs(events, "raw.loans") if _partition(e) == ui_corpus.FAULT_PARTITION][0]
    stored = fault["facets"]["drift"]
    income = next(c for c in report["columns"] if c["column"] == "income")
    assert (income["statistic"], income["p_value"], income["threshold"]) == (
        stored["columns"]["income"]["statistic"], stored["columns"]["income"]["pValue"], stored["columns"]["income"]["threshold"])
    assert income["drifted"] and income["null_current"] == pytest.approx(ui_corpus.FAULT_NULLS / ui_corpus.ROWS)
    quantiles = {_partition(e): o["facets"]["dataQualityMetrics"]["columnMetrics"]["income"]["quantiles"]
                 for e, o in _outputs(events, "raw.loans")}
    dist = income["distribution"]
    assert dist["current"] == [quantiles[ui_corpus.FAULT_PARTITION][q] for q in dist["levels"]]
    refs = stored["referencePartitions"]
    assert dist["reference"] == [statistics.median(quantiles[p][q] for p in refs) for q in dist["levels"]]
    assert "no histograms" in page["drift_drawn_from"]
    point = next(p for p in page["series"] if p["partition"] == ui_corpus.FAULT_PARTITION)
    metrics = fault["facets"]["dataQualityMetrics"]
    assert point["values"]["null rate income"] == metrics["columnMetrics"]["income"]["nullCount"] / metrics["rowCount"]
    assert [p["partition"] for p in page["series"]] == sorted(p["partition"] for p in page["series"])
    assert not _keys(page) & {"min", "max"}  # a single row's value never leaves the server


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    return {k for v in value for k in _keys(v)} if isinstance(value, list) else set()


def test_dataset_page_lists_schema_changes_and_checks_per_run(tmp_path) -> None:
    first, second = run("ingest", 0, [], "raw.loans"), run("ingest", 1, [], "raw.loans")
    second[-1]["outputs"][0]["facets"]["schema"]["fields"] = [
        {"name": "income", "type": "string"}, {"name": "loan_id", "type": "bigint"}]
    store = LineageStore.open(f"sqlite:///{tmp_path / 'l.db'}")
    store.ingest(first + second)
    page = TestClient(create_app(store=store), base_url=BASE).get("/api/v1/ui/dataset", params={"name": "raw.loans"}).json()
    assert [v["changes"] for v in page["schema_versions"]][1] == {
        "added": ["loan_id"], "removed": ["amount"], "retyped": [{"field": "income", "from": "double", "to": "string"}]}
    checks = {(c["assertion"], c["column"], c["success"]) for r in page["runs"] for c in r["checks"]}
    stored = {(a["assertion"], a["column"], a["success"]) for e in first + second for o in e["outputs"]
              for a in o.get("facets", {}).get("dataQualityAssertions", {}).get("assertions", [])}
    assert checks == stored
    store.dispose()


def test_search_finds_datasets_jobs_and_columns(client) -> None:
    spark = [e for e in corpus.read(corpus.ROOT / "spark" / "cll_hive_ctas.jsonl") if e.get("outputs")]
    target = next(o for e in spark for o in e["outputs"] if "columnLineage" in o.get("facets", {}))
    column = next(iter(target["facets"]["columnLineage"]["fields"]))
    found = client.get("/api/v1/ui/search", params={"q": target["name"].rsplit("/", 1)[-1]}).json()
    assert target["name"] in {d["name"] for d in found["datasets"]}
    cols = client.get("/api/v1/ui/search", params={"q": column}).json()["columns"]
    assert {"namespace": target["namespace"], "name": target["name"], "field": column} in cols
    jobs = client.get("/api/v1/ui/search", params={"q": "clean"}).json()
    assert "clean" in {j["name"] for j in jobs["jobs"]} and "clean.loans" in {d["name"] for d in jobs["datasets"]}
    assert client.get("/api/v1/ui/search", params={"q": " "}).json()["datasets"] == []


def test_incident_view_marks_the_cause_path_and_the_blast_radius(client, store) -> None:
    [incident] = [i for i in incidents.list_incidents(store) if i["cause"]["asset"] == "raw.loans"]
    page = client.get(f"/api/v1/ui/incidents/{incident['id']}").json()
    names = {k.split(":", 1)[0] + ":" + k.rsplit(":", 1)[-1] for k in page["path"]}
    assert names == {"dataset:raw.loans", "job:clean", "dataset:clean.loans"}
    assert [m["name"] for m in page["impact"]["models"]] == ["models.loan_model"]
    assert [p["name"] for p in page["impact"]["predictions"]] == ["serving.loan_scores"]
    assert set(page["affected_keys"]) <= {n["key"] for n in page["graph"]["nodes"]}
    assert client.get("/api/v1/ui/incidents/99999").status_code == 404


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]


def _refs(html: str) -> list[str]:
    parser = _Refs()
    parser.feed(html)
    return parser.refs


def test_the_shell_needs_no_token_the_data_does(store) -> None:
    client = TestClient(create_app(store=store, token="s3cret"), base_url=BASE)
    assert client.get("/api/v1/ui/home").status_code == 401
    home = client.get("/api/v1/ui/home", headers={"Authorization": "Bearer s3cret"})
    assert home.status_code == 200 and {"health", "incidents", "recent_runs", "failures", "producers"} <= home.json().keys()
    for path in ("/", "/search?q=x", "/lineage", "/datasets/a%2Fb/c", "/incidents/3"):
        page = client.get(path)
        assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    refs = _refs(client.get("/").text)
    assert refs and all(r.startswith("/") or r.startswith("data:") for r in refs), refs
    for ref in (r for r in refs if r.startswith("/ui/static/")):
        assert client.get(ref).status_code == 200, ref
    assert client.get("/ui/static/..%2Fgraph_view.py").status_code == 404
    assert client.get("/ui/static/nothing.js").status_code == 404


def test_docs_and_redoc_load_only_local_assets(client) -> None:
    for path in ("/docs", "/redoc"):
        refs = _refs(client.get(path).text)
        assert refs and all(r.startswith("/") for r in refs), (path, refs)
        assert all(client.get(r).status_code == 200 for r in refs)


def test_package_data_ships_every_ui_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["lineage"]
    static = ROOT / "lineage" / "serve" / "ui" / "static"
    files = [p.relative_to(ROOT / "lineage").as_posix() for p in static.iterdir()]
    assert files and all(any(fnmatch.fnmatch(f, g) for g in globs) for f in files), files
    assert "fastapi-offline" in " ".join(config["project"]["dependencies"])

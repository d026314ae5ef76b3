"""The web UI in Chromium (Playwright) on a store holding the reference pipelines' recorded events (a null burst
injected on the last day), a synthetic faulty pipeline, the ML pipeline and the real dbt, Spark and Airflow events:
search, dataset and lineage pages, column lineage, the incident page with the injected cause on the highlighted
path, the drift chart of the faulty partition, a 1,000-node graph, offline /docs.

The server requires a token (the UI asks for it and sends it as a header); every request the pages make is
recorded, and none may go to another host. Screenshots: test-artifacts/ui-web/.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from helpers import producer_corpus as corpus
from helpers import ui_corpus

from lineage.facets import partition_key
from lineage.serve.api import create_app

pytestmark = pytest.mark.slow  # a server and a browser

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts" / "ui-web"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
TOKEN = "ui-browser-test-token"
SPARK_FILE = corpus.ROOT / "spark" / "cll_hive_ctas.jsonl"
RENDER_BUDGET_MS = 2000.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`obs serve`'s app with a token, on a free loopback port, in this process."""
    store = ui_corpus.build(str(tmp_path_factory.mktemp("ui") / "lineage.db"), with_perf=True, with_reference=True)
    port = _free_port()
    config = uvicorn.Config(create_app(store=store, token=TOKEN), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield base
    srv.should_exit = True
    thread.join(10)
    store.dispose()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} not found — CI must run this test (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not found")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Session:
    """One tab: records every request, answers the token dialog once, screenshots each step."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1366, "height": 768})
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.page.on("request", lambda r: self.requests.append((r.url, r.headers)))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)
        dialog = self.page.locator("#token-dialog[open]")
        self.page.wait_for_function("() => document.body.dataset.ready || document.querySelector('#token-dialog[open]')")
        if dialog.count():
            self.page.fill("#token-input", TOKEN)
            self.page.click("#token-form button")
        self.page.wait_for_function("() => document.body.dataset.ready")
        assert self.page.evaluate("() => document.body.dataset.ready") != "error", self.page.inner_text("#app")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def check_network(self) -> None:
        foreign = [u for u, _ in self.requests if not (u.startswith(self.base + "/") or u.startswith("data:"))]
        assert not foreign, f"requests to other hosts: {foreign}"
        api_calls = [(u, h) for u, h in self.requests if u.startswith(self.base + "/api/")]
        # Each API call carries the token (the very first may go without, to learn that one is needed).
        assert all(h.get("authorization") == f"Bearer {TOKEN}" for _, h in api_calls[1:]), api_calls
        assert not any("cookie" in h for _, h in api_calls), "the UI never sends a cookie"
        assert self.context.cookies() == []


@pytest.fixture
def session(browser, server):
    s = Session(browser, server)
    yield s
    s.check_network()
    s.context.close()


def _spark_output() -> tuple[dict, list[str]]:
    """The Spark CTAS output (from the events, not the store) and its input datasets."""
    events = corpus.read(SPARK_FILE)
    event = next(e for e in events if e["eventType"] == "COMPLETE" and e.get("outputs")
                 and "columnLineage" in e["outputs"][0].get("facets", {}))
    return event["outputs"][0], sorted(i["name"] for i in event["inputs"])


def test_search_finds_a_spark_dataset_its_page_lineage_and_column_sources(session) -> None:
    output, inputs = _spark_output()
    short = output["name"].rsplit("/", 1)[-1]
    session.open(f"/search?q={quote(short)}")
    session.shot("01-search-spark")
    link = session.page.locator("ul.results.datasets a", has_text=output["name"]).first
    link.click()
    session.page.wait_for_function("() => document.body.dataset.ready && location.pathname.startsWith('/datasets/')")
    schema = [f["name"] for f in output["facets"]["schema"]["fields"]]
    shown = session.page.locator("table.schema tbody tr td:first-child").all_inner_texts()
    assert shown == schema
    session.shot("02-spark-dataset")

    session.page.click("#lineage-link")
    session.page.wait_for_selector("svg.graph g.node")
    names = set(session.page.locator("svg.graph g.node").evaluate_all("els => els.map(e => e.dataset.name)"))
    assert set(inputs) <= names, f"upstreams {inputs} not drawn: {names}"
    column, fields = next(iter(output["facets"]["columnLineage"]["fields"].items()))
    session.page.click(f"li[data-column='{column}'] a")
    session.page.wait_for_selector("#column-lineage table")
    rows = session.page.locator("#column-lineage tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].slice(0, 3).map(c => c.innerText))")
    expected = {(f["field"], f["name"], "direct" if any(t["type"] == "DIRECT" for t in f["transformations"])
                 else "indirect") for f in fields["inputFields"]}
    assert expected <= {tuple(r) for r in rows}, rows
    marked = session.page.locator("svg.graph g.node.col-src, svg.graph g.node.col-indirect").evaluate_all(
        "els => els.map(e => e.dataset.name)")
    assert {f["name"] for f in fields["inputFields"]} <= set(marked)
    session.shot("03-spark-lineage-column")


def _reference_output(name: str, partition: str) -> dict:
    """The output `name` of the reference run of `partition`, as recorded (not as stored)."""
    return next(o for e in ui_corpus.reference_events() if e["eventType"] == "COMPLETE"
                and partition_key(e["run"].get("facets", {})) == partition for o in e["outputs"] if o["name"] == name)


def test_incident_page_shows_the_injected_cause_on_the_highlighted_path(session, server) -> None:
    fault = ui_corpus.REFERENCE_FAULT
    listed = httpx.get(f"{server}/api/v1/incidents", headers={"Authorization": f"Bearer {TOKEN}"}).json()["incidents"]
    [incident] = [i for i in listed if (i["cause"]["asset"], i["cause"]["column"]) == (fault["asset"], fault["column"])]
    session.open(f"/incidents/{incident['id']}")
    session.page.wait_for_selector("svg.graph g.node")
    title = session.page.inner_text("h1")
    assert f"{fault['kind']} at {fault['asset']}.{fault['column']}" in title, title
    on_path = session.page.locator("svg.graph g.node.on-path").evaluate_all(
        "els => els.map(e => [e.dataset.type, e.dataset.name])")
    path = incident["cause"]["path"]
    assert path[0] == fault["asset"] and len(path) > 1
    assert {n for t, n in on_path if t == "dataset"} == set(path), on_path
    assert sum(t == "job" for t, _ in on_path) >= len(path) - 1  # the jobs between the hops
    assert session.page.locator("svg.graph path.edge.on-path").count() >= 2 * (len(path) - 1)
    assert fault["asset"] in session.page.inner_text("ol.causes li.top-cause")
    typed = {o["name"]: o["facets"]["datasetType"]["datasetType"] for e in ui_corpus.reference_events()
             for o in e.get("outputs", []) if "datasetType" in o.get("facets", {})}
    blast = session.page.inner_text(".blast")
    assert typed and all(name in blast for name in typed), (typed, blast)
    assert fault["partition"] in session.page.inner_text("body")
    session.shot("04-incident")
    session.page.click("text=Acknowledge")  # a same-origin POST with the token header
    session.page.wait_for_selector(".badge.acknowledged")


def test_dataset_page_draws_the_drift_chart_of_the_faulty_partition(session) -> None:
    fault = ui_corpus.REFERENCE_FAULT
    output = _reference_output(fault["asset"], fault["partition"])
    stored = output["facets"]["drift"]["columns"][fault["column"]]
    session.open(f"/datasets/{quote(output['namespace'], safe='')}/{quote(output['name'], safe='')}")
    report = session.page.locator(f".drift[data-partition='{fault['partition']}']")
    report.wait_for()
    row = report.locator("table.drift-table tbody tr").filter(has_text=fault["column"]).first.evaluate(
        "r => [...r.cells].map(c => c.innerText)")
    shown = session.page.evaluate("vs => vs.map(v => Charts.fmt(v))", [stored["statistic"], stored["pValue"],
                                                                        stored["threshold"]])
    assert row[0] == fault["column"] and row[3:6] == shown and row[6] == "drifted", (row, stored)
    chart = report.locator(f".chart-card[data-column='{fault['column']}']")
    assert chart.locator("svg.chart.line path.series").count() == 2  # reference and current quantiles
    bars = chart.locator("svg.chart.bars text.value-label").evaluate_all("els => els.map(e => e.textContent)")
    assert bars == session.page.evaluate("vs => vs.map(v => Charts.fmt(v))",
                                         [stored["nullFractionReference"], stored["nullFractionCurrent"]])
    assert "no histograms" in report.inner_text()
    assert "min" not in chart.inner_text() and "max" not in chart.inner_text()
    session.page.locator("#drift-report").scroll_into_view_if_needed()
    session.shot("05-dataset-drift")


def test_a_thousand_node_lineage_view_renders_within_two_seconds(session) -> None:
    session.open("/")  # the token is asked for once; the timed page then starts from navigation
    session.shot("00-home")
    assert "spark" in session.page.inner_text("body").lower()
    path = "/lineage?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in
                                  {"type": "dataset", "namespace": ui_corpus.PERF_NS, "name": "perf.sink",
                                   "up": "20", "down": "0"}.items())
    session.page.goto(session.base + path)
    session.page.wait_for_function("() => window.__lineageTiming && window.__lineageTiming.paintedAt", timeout=30_000)
    timing = session.page.evaluate("() => window.__lineageTiming")
    drawn = session.page.locator("svg.graph g.node").count()
    (ARTIFACTS / "perf.json").write_text(json.dumps({**timing, "drawn": drawn}))
    session.shot("06-thousand-nodes")
    assert drawn >= 1000
    assert timing["paintedAt"] <= RENDER_BUDGET_MS, timing  # navigation start → graph painted


def test_swagger_docs_render_offline(session) -> None:
    session.page.goto(session.base + "/docs")
    session.page.wait_for_selector(".swagger-ui .info .title")
    assert "Lineage store" in session.page.inner_text(".swagger-ui .info .title")
    session.shot("07-docs")

"""`obs demo` end to end: backfill with a fault on the embedded SQLite instance, then the UI sees it.

The expensive part (the backfill, `dagster dev` serving it, the daemon's RCA trace) runs once per module in
the `demo_ui` fixture; one test checks it over GraphQL, one in a real browser (headless Chromium).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import httpx
import pytest
from typer.testing import CliRunner

from observability_pipelines.cli import app

pytestmark = pytest.mark.slow  # the demo, dagster dev and the browser (minutes)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking"]
PIPELINE_ASSETS = ("raw_customers", "clean_customers", "customer_features", "training_set", "trained_model",
                   "model_evaluation", "batch_predictions")
RCA_QUERY = ('{ assetOrError(assetKey: {path: ["rca_report"]}) { ... on Asset { assetMaterializations(limit: 20) '
             '{ metadataEntries { label ... on MarkdownMetadataEntry { mdStr } ... on TextMetadataEntry { text } } } } } }')

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class DemoUI:
    summary: dict
    home: Path
    url: str
    log: Path
    traces: list[str] = field(default_factory=list)

    def graphql(self, query: str) -> dict:
        return httpx.post(f"{self.url}/graphql", json={"query": query}, timeout=10).json()

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no log)"


@pytest.fixture(scope="module")
def demo_ui(tmp_path_factory):
    """`obs demo` backfilled into a fresh DAGSTER_HOME, served by `dagster dev`, with the RCA trace recorded.

    Module-scoped, so it cannot use the function-scoped `_isolated_env`: it makes its own DAGSTER_HOME and
    data folder, sets them only for the duration of the in-process CLI call (CliRunner restores os.environ)
    and hands them to `dagster dev` explicitly.
    """
    base = tmp_path_factory.mktemp("obs_demo_ui")
    home, data = base / "dagster_home", base / "data"
    home.mkdir()
    isolated = {"DAGSTER_HOME": str(home), "OBS_DATA_DIR": str(data), "OBS_FAULT_PLAN": None}
    result = CliRunner().invoke(
        app, ["demo", "--days", "5", "--no-ui", "--json", "--customers-per-day", "200"],
        env=isolated, catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "OBS_FAULT_PLAN"}
    env.update(DAGSTER_HOME=str(home), OBS_DATA_DIR=str(data))
    log = base / "dagster-dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port),
             "-w", str(ROOT / "workspace.yaml")],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    ui = DemoUI(summary=summary, home=home, url=f"http://127.0.0.1:{port}", log=log)
    try:
        _wait_for_asset_graph(ui, proc, timeout=240)
        _wait_for_rca_trace(ui, proc, timeout=180)
        yield ui
    finally:
        _stop(proc)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, ARTIFACTS / "dagster-dev.log")


def _stop(proc: subprocess.Popen) -> None:
    """Stop `dagster dev` and everything it started (webserver, daemon, code servers): the process group."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            # dagster dev has exited; make sure no child outlived it.
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            break
        except subprocess.TimeoutExpired:
            continue
        break


def _wait_for_asset_graph(ui: DemoUI, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dagster dev exited with {proc.returncode}:\n{ui.log_tail()}")
        try:
            if ui.graphql("{ assetNodes { assetKey { path } } }")["data"]["assetNodes"]:
                return
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            pass
        time.sleep(1)
    pytest.fail(f"dagster dev did not serve the asset graph within {timeout:.0f} s:\n{ui.log_tail()}")


def _wait_for_rca_trace(ui: DemoUI, proc: subprocess.Popen, timeout: float) -> None:
    """The daemon's rca_sensor (running by default) records the trace on the rca_report asset."""
    deadline = time.time() + timeout
    while time.time() < deadline and not ui.traces and proc.poll() is None:
        try:
            data = ui.graphql(RCA_QUERY)
        except (httpx.HTTPError, ValueError):
            data = {}
        asset = (data.get("data") or {}).get("assetOrError") or {}
        for mat in asset.get("assetMaterializations") or []:
            entries = {e["label"]: e.get("mdStr") or e.get("text") for e in mat["metadataEntries"]}
            if entries.get("top_cause") == "raw_customers.income":
                ui.traces.append(entries["trace"])
        if not ui.traces:
            time.sleep(3)
    # No failure here: the tests assert on ui.traces with the log tail.


def test_demo_backfills_with_fault_then_ui_shows_assets(demo_ui):
    summary, home = demo_ui.summary, demo_ui.home
    assert summary["partitions"] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    assert summary["faults"][0]["kind"] == "null_burst" and summary["faults"][0]["partition"] == "2026-03-05"
    assert summary["model_metrics"]["roc_auc"] > 0.6
    assert (home / "storage").exists()  # the embedded SQLite instance under DAGSTER_HOME

    with dg.DagsterInstance.from_config(str(home)) as instance:
        for asset in ("raw_customers", "customer_features", "training_set", "batch_predictions"):
            keys = instance.get_materialized_partitions(dg.AssetKey(asset))
            assert keys == set(summary["partitions"]), asset
        assert instance.get_latest_materialization_event(dg.AssetKey("model_evaluation")) is not None

    # The same instance, served by `dagster dev`, lists the assets and their materializations.
    nodes = demo_ui.graphql("{ assetNodes { assetKey { path } } }")["data"]["assetNodes"]
    names = {"/".join(n["assetKey"]["path"]) for n in nodes}
    assert {"raw_customers", "trained_model", "batch_predictions", "model_evaluation"} <= names
    q = '{ assetOrError(assetKey: {path: ["customer_features"]}) { ... on Asset { assetMaterializations(limit: 10) { partition } } } }'
    mats = demo_ui.graphql(q)
    partitions = {m["partition"] for m in mats["data"]["assetOrError"]["assetMaterializations"]}
    assert partitions == set(summary["partitions"])

    assert demo_ui.traces, f"rca_sensor did not record a trace naming raw_customers.income:\n{demo_ui.log_tail()}"
    assert "null_burst" in demo_ui.traces[0] and "←" in demo_ui.traces[0]
    assert summary["rca"]["candidates"][0]["asset"] == "raw_customers"


# --- the same UI in a real browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sync_playwright_chromium():
    """Playwright, given /usr/bin/chromium. Module-scoped and requested before `demo_ui`, so a skip costs nothing."""
    return _require_chromium()


def _require_chromium():
    """Skip without a browser locally, but never in CI, where a skip would hide a broken path."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} not found; install Debian's chromium (apt-get install chromium), as .ci/run does"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            missing = f"playwright is not installed ({exc}); pip install -e '.[test]'"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} — CI must run this test, not skip it")
        pytest.skip(missing)
    return sync_playwright


class Steps:
    """Full-page screenshot after each step; on failure a screenshot and the page text, for debugging."""

    def __init__(self, page, folder: Path):
        self.page, self.folder, self.count = page, folder, 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        for old in folder.glob("FAILED-*.txt"):
            old.unlink()

    @contextmanager
    def step(self, name: str):
        self.count += 1
        label = f"{self.count:02d}-{name}"
        try:
            yield
        except BaseException:
            try:
                self.page.screenshot(path=str(self.folder / f"FAILED-{label}.png"), full_page=True)
                text = f"URL: {self.page.url}\n\n{self.page.inner_text('body')}"
                (self.folder / f"FAILED-{label}.txt").write_text(text)
            except Exception as exc:  # the browser itself may be what broke
                (self.folder / f"FAILED-{label}.txt").write_text(f"could not capture the page: {exc!r}")
            raise
        self.page.screenshot(path=str(self.folder / f"{label}.png"), full_page=True)


def test_ui_in_browser_shows_assets_failed_check_and_rca_trace(sync_playwright_chromium, demo_ui):
    sync_playwright = sync_playwright_chromium
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    assert demo_ui.traces, f"rca_sensor did not record a trace naming raw_customers.income:\n{demo_ui.log_tail()}"
    fault = demo_ui.summary["faults"][0]
    failed = [c.split(":", 1) for run in demo_ui.summary["runs"] for c in run["failed_checks"]]
    on_faulty_asset = [check for asset, check in failed if asset == fault["asset"]]
    assert on_faulty_asset, f"no check failed on {fault['asset']}: {failed}"
    # Prefer the Great Expectations suite's check: it names the broken expectation.
    check = next((c for c in on_faulty_asset if c.startswith("ge_")), on_faulty_asset[0])

    expect.set_options(timeout=60_000)  # a React app on a busy 2-core machine: first loads are slow
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(60_000)
            page.set_default_navigation_timeout(120_000)
            # A fresh instance greets the first visitor with a "Join the Dagster community" dialog: skip it
            # whenever it gets in the way.
            community = page.get_by_role("button", name="Skip")
            page.add_locator_handler(page.get_by_text("Join the Dagster community"), lambda _: community.click())
            steps = Steps(page, ARTIFACTS)

            # (a) The asset catalog lists the pipelines' assets, and the lineage graph connects them.
            with steps.step("asset-catalog"):
                page.goto(f"{demo_ui.url}/assets")
                for name in (*PIPELINE_ASSETS, "rca_report"):
                    expect(page.locator(f'a[href="/assets/{name}"]').first).to_be_visible()
                try:  # the dialog appears once the page has asked the server; close it before the screenshot
                    community.click(timeout=10_000)
                except PlaywrightTimeout:
                    pass
                expect(page.get_by_text("Join the Dagster community")).to_have_count(0)
                expect(page.get_by_text(re.compile(r"^Loading"))).to_have_count(0)

            with steps.step("asset-lineage"):
                page.goto(f"{demo_ui.url}/assets/raw_customers?view=lineage&lineageScope=downstream&lineageDepth=10")
                for name in PIPELINE_ASSETS:
                    expect(page.get_by_text(name, exact=True).first).to_be_visible()

            # (b) The failed check is on its asset's checks tab, failed, with what failed.
            with steps.step(f"failed-check-{fault['asset']}-{check}"):
                page.goto(f"{demo_ui.url}/assets/{fault['asset']}?view=checks")
                entry = page.get_by_title(check, exact=True).first
                expect(entry).to_be_visible()
                # The list entry: check name, then its latest status.
                expect(page.locator("body")).to_contain_text(re.compile(rf"{re.escape(check)}\s*Failed"))
                entry.click()
                expect(page).to_have_url(re.compile(rf"checkDetail={re.escape(check)}"))
                expect(page.locator("body")).to_contain_text(re.compile(r"Evaluation result\s*Failed"))
                if check.startswith("ge_"):
                    expect(page.locator("body")).to_contain_text(f"{fault['column']}:")
                    expect(page.locator("body")).to_contain_text(re.compile(r"\d+ of \d+ expectations failed"))

            # (c) The RCA trace is on rca_report's page: the latest report names the injected cause.
            with steps.step("rca-report"):
                page.goto(f"{demo_ui.url}/assets/rca_report")
                top = page.get_by_role("row").filter(has=page.get_by_text("top_cause", exact=True))
                expect(top).to_contain_text("raw_customers.income")
                kind = page.get_by_role("row").filter(has=page.get_by_text("top_kind", exact=True))
                expect(kind).to_contain_text(fault["kind"])

            with steps.step("rca-trace"):
                trace_row = page.get_by_role("row").filter(has=page.get_by_text("trace", exact=True))
                trace_row.get_by_text("Show Markdown").click()
                dialog = page.get_by_role("dialog").filter(has_text="Incident")
                expect(dialog).to_be_visible()
                expect(dialog).to_contain_text("raw_customers.income")
                expect(dialog).to_contain_text(fault["kind"])
                expect(dialog).to_contain_text("←")
                expect(dialog).to_contain_text(fault["partition"])
        finally:
            browser.close()
            expect.set_options(timeout=5_000)  # Playwright's default, for whoever uses expect next


def test_demo_rejects_bad_fault_plan_with_instructions(tmp_path):
    bad = tmp_path / "plan.yaml"
    bad.write_text("- {asset: raw_customers, partition: '2026-03-01', kind: melt}\n")
    result = CliRunner().invoke(app, ["demo", "--no-ui", "--fault-plan", str(bad)])
    assert result.exit_code == 2
    assert "unknown kind 'melt'" in result.output and "Fix the file" in result.output


def test_definitions_validate():
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "All code locations passed validation" in proc.stderr + proc.stdout

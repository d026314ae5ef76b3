"""`obs demo` end to end, as a user runs it: the backfill with a fault on a fresh SQLite instance, its
summary, then the Dagster UI it starts on ``--port``, in which the faulty day and its incident are visible.

The expensive part (one `obs demo` process: the backfill, then `dagster dev` it execs; `obs serve` for the
incident links) runs once per module in the `demo_ui` fixture; the tests read its output, the instance,
GraphQL and a real browser (headless Chromium).
"""

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
from observability_pipelines.data.contracts import CONTRACTS

pytestmark = pytest.mark.slow  # the demo, dagster dev and the browser (minutes)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking"]
PIPELINE_ASSETS = ("raw_customers", "clean_customers", "customer_features", "training_set", "trained_model",
                   "model_evaluation", "batch_predictions")
DAYS = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
FAULTY_DAY = "2026-03-05"  # the built-in fault plan: a null burst in raw_customers.income
COLUMNS = 100
MAX_LINES = 60
UI_LINE = re.compile(r"^Dagster UI: (http://127\.0\.0\.1:\d+)")
RCA_QUERY = ('{ assetOrError(assetKey: {path: ["rca_report"]}) { ... on Asset { assetMaterializations(limit: 20) '
             '{ metadataEntries { label ... on MarkdownMetadataEntry { mdStr } ... on TextMetadataEntry { text } } } } } }')
CHECKS_QUERY = ('{ assetNodes { assetKey { path } isPartitioned assetChecksOrError { ... on AssetChecks '
                '{ checks { name } } } } }')
EXECUTIONS_QUERY = ('query($key: AssetKeyInput!, $check: String!) { assetCheckExecutions(assetKey: $key, '
                    'checkName: $check, limit: 200) { runId partition evaluation { partition success '
                    'metadataEntries { label ... on UrlMetadataEntry { url } } } } }')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class DemoUI:
    output: str  # what `obs demo` printed before it started the UI (stdout and stderr)
    home: Path
    url: str
    api_url: str
    log: Path
    traces: list[str] = field(default_factory=list)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        return httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30).json()

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no log)"

    def incidents(self) -> list[dict]:
        return httpx.get(f"{self.api_url}/api/v1/incidents", timeout=30).json()["incidents"]

    def failed_checks(self) -> list[tuple[str, str, str | None]]:
        """(asset, check, partition) of every failed check evaluation in the runs, from the instance."""
        with dg.DagsterInstance.from_config(str(self.home)) as instance:
            out = []
            for run in instance.get_run_records():
                for entry in instance.all_logs(run.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
                    ev = entry.asset_check_evaluation
                    if ev is not None and not ev.passed:
                        out.append((ev.asset_key.to_user_string(), ev.check_name, ev.partition))
            return out


@pytest.fixture(scope="module")
def demo_ui(tmp_path_factory):
    """`obs demo --port P` on a fresh DAGSTER_HOME: its backfill and summary, then the `dagster dev` it execs
    on P; `obs serve` beside it on the port the incident links name (OBS_INCIDENTS_URL)."""
    base = tmp_path_factory.mktemp("obs_demo_ui")
    home, data = base / "dagster_home", base / "data"
    home.mkdir()
    port, api_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("OBS_FAULT_PLAN", "OBS_NO_UI", "OBS_LINEAGE_URL", "OBS_LINEAGE_DB", "OBS_OUTBOX_PATH")}
    env.update(DAGSTER_HOME=str(home), OBS_DATA_DIR=str(data), COLUMNS=str(COLUMNS),
               OBS_INCIDENTS_URL=f"http://127.0.0.1:{api_port}")
    log, api_log = base / "obs-demo.log", base / "obs-serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "obs"), "demo", "--days", str(len(DAYS)), "--customers-per-day", "200", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    api = None
    try:
        output = _wait_for_summary(log, proc, timeout=1800)
        ui = DemoUI(output=output, home=home, url=f"http://127.0.0.1:{port}", api_url=f"http://127.0.0.1:{api_port}",
                    log=log)
        _wait_for_asset_graph(ui, proc, timeout=300)
        with api_log.open("wb") as out:
            api = subprocess.Popen([str(BIN / "obs"), "serve", "--port", str(api_port)], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_for_http(f"{ui.api_url}/healthz", api, timeout=120)
        _wait_for_rca_trace(ui, proc, timeout=180)
        yield ui
    finally:
        for p in (api, proc):
            if p is not None:
                _stop(p)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, ARTIFACTS / "obs-demo.log")
        if api_log.exists():
            shutil.copyfile(api_log, ARTIFACTS / "obs-serve.log")


def _wait_for_summary(log: Path, proc: subprocess.Popen, timeout: float) -> str:
    """The demo's output: everything up to its last line ("Dagster UI: ..."), after which `dagster dev` logs.
    The demo flushes before exec, so nothing of its own comes later."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if UI_LINE.match(line):
                return "\n".join(lines[: i + 1])
        if proc.poll() is not None:
            pytest.fail(f"obs demo exited with {proc.returncode} before starting the UI:\n{text[-3000:]}")
        time.sleep(2)
    pytest.fail(f"obs demo printed no summary within {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


def _wait_for_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"{url} did not answer within {timeout:.0f} s (exit code {proc.poll()})")


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process and everything it started (webserver, daemon, code servers): the process group."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            # the leader has exited; make sure no child outlived it.
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
    pytest.fail(f"dagster dev did not serve the asset graph on {ui.url} within {timeout:.0f} s:\n{ui.log_tail()}")


def _wait_for_rca_trace(ui: DemoUI, proc: subprocess.Popen, timeout: float) -> None:
    """The incident's report on the rca_report asset (the demo records it; rca_sensor would otherwise)."""
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


# --- the demo's output -------------------------------------------------------------------------------------


def test_demo_output_is_short_uncut_and_points_to_the_incident_and_the_ui(demo_ui):
    out = demo_ui.output
    lines = out.splitlines()
    print(f"\n{len(lines)} lines:\n{out}")
    assert len(lines) <= MAX_LINES, f"{len(lines)} lines"
    assert "allow_missing_partitions" not in out and "Couldn't load partition" not in out
    assert all(len(line) <= COLUMNS for line in lines), [line for line in lines if len(line) > COLUMNS]
    assert "…" not in out  # rich's ellipsis: nothing truncated
    # Every failed check and its asset, named in full (a check name is one word: wrapping never splits it).
    failed = demo_ui.failed_checks()
    assert failed and all(p == FAULTY_DAY for _, _, p in failed), failed
    words = set(re.findall(r"[\w/]+", out))
    for asset, check, _ in failed:
        assert asset in words and check in words, (asset, check)
    for job in ("daily_pipeline", "batch_predictions_job"):
        assert job in words
    # The faulty day is marked as failing checks; the clean days before it as passed.
    assert re.search(rf"^{FAULTY_DAY}\s+checks failed\b", out, re.M), out
    assert re.search(rf"^{DAYS[0]}\.\.{DAYS[-2]}\s+passed\s+passed", out, re.M), out
    # The incident (id, top cause) and the UI, on the port asked for.
    [incident] = [i for i in demo_ui.incidents() if FAULTY_DAY in i["partitions"]]
    assert f"Incident {incident['id']} [open" in out
    assert re.search(r"top cause: raw_customers\.income null_burst\b", out), out
    assert f"{demo_ui.api_url}/incidents/{incident['id']}" in out
    assert UI_LINE.match(lines[-1]).group(1) == demo_ui.url  # and the fixture found the UI there: --port honoured


def test_demo_backfills_with_fault_then_ui_shows_assets(demo_ui):
    home = demo_ui.home
    assert "Injected fault: null_burst on raw_customers[2026-03-05].income" in demo_ui.output
    metrics = dict(re.findall(r"(\w+)=(\d\.\d+)", demo_ui.output.split("Model evaluation:", 1)[1].splitlines()[0]))
    assert float(metrics["roc_auc"]) > 0.6
    assert (home / "storage").exists()  # the embedded SQLite instance under DAGSTER_HOME

    with dg.DagsterInstance.from_config(str(home)) as instance:
        for asset in ("raw_customers", "customer_features", "training_set", "batch_predictions"):
            keys = instance.get_materialized_partitions(dg.AssetKey(asset))
            assert keys == set(DAYS), asset
        assert instance.get_latest_materialization_event(dg.AssetKey("model_evaluation")) is not None

    # The same instance, served by `dagster dev`, lists the assets and their materializations.
    nodes = demo_ui.graphql("{ assetNodes { assetKey { path } } }")["data"]["assetNodes"]
    names = {"/".join(n["assetKey"]["path"]) for n in nodes}
    assert {"raw_customers", "trained_model", "batch_predictions", "model_evaluation"} <= names
    q = '{ assetOrError(assetKey: {path: ["customer_features"]}) { ... on Asset { assetMaterializations(limit: 10) { partition } } } }'
    mats = demo_ui.graphql(q)
    partitions = {m["partition"] for m in mats["data"]["assetOrError"]["assetMaterializations"]}
    assert partitions == set(DAYS)

    assert demo_ui.traces, f"no rca_report naming raw_customers.income:\n{demo_ui.log_tail()}"
    assert len(demo_ui.traces) == 1  # one fault, one incident, one report
    assert "null_burst" in demo_ui.traces[0] and "←" in demo_ui.traces[0]


def test_ui_launch_is_dg_dev_without_a_supersession_warning(demo_ui):
    """The demo starts the UI with `dg dev`, as Dagster 1.13 recommends; `dagster dev` would print
    "SupersessionWarning: ... Use 'dg dev' instead." at start-up, before it serves the asset graph."""
    assert "(starting dg dev; Ctrl-C to stop)" in demo_ui.output
    log = demo_ui.log.read_text(errors="replace")
    assert "SupersessionWarning" not in log and "Use 'dg dev' instead" not in log, demo_ui.log_tail()


def test_ui_command_prefers_dg_and_falls_back_to_dagster_dev(tmp_path, monkeypatch):
    """`dg dev` from the project's environment; where dagster-dg-cli is missing, `dagster dev` with the same
    arguments (the documented fallback); neither: a clear error."""
    import typer

    from observability_pipelines.cli_demo import ui_command

    preferred = ui_command(3001)
    assert preferred[0] == str(BIN / "dg")
    assert preferred[1:] == ["dev", "-h", "127.0.0.1", "-p", "3001", "-w", str(ROOT / "workspace.yaml"),
                             "--log-level", "warning"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dagster").symlink_to(BIN / "dagster")
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("PATH", str(bin_dir))
    assert ui_command(3001) == [str(bin_dir / "dagster"), *preferred[1:]]
    (bin_dir / "dagster").unlink()
    with pytest.raises(typer.Exit):
        ui_command(3001)


def test_graphql_returns_every_check_evaluation_with_its_partition(demo_ui):
    """Every evaluation of a partitioned asset's check carries its day; the faulty day's failures link to
    their incident, and the link resolves to it."""
    nodes = demo_ui.graphql(CHECKS_QUERY)["data"]["assetNodes"]
    [incident] = [i for i in demo_ui.incidents() if FAULTY_DAY in i["partitions"]]
    link = f"{demo_ui.api_url}/incidents/{incident['id']}"
    seen, links = 0, {}
    for node in nodes:
        if not node["isPartitioned"]:
            continue
        asset = "/".join(node["assetKey"]["path"])
        for check in (node.get("assetChecksOrError") or {}).get("checks") or []:
            data = demo_ui.graphql(EXECUTIONS_QUERY, {"key": {"path": node["assetKey"]["path"]}, "check": check["name"]})
            for execution in data["data"]["assetCheckExecutions"]:
                where = f"{asset}:{check['name']} run {execution['runId'] or '(runless)'}"
                evaluation = execution["evaluation"]
                if evaluation is None:  # skipped or never finished: no evaluation, still a partition
                    assert execution["partition"] in DAYS, where
                    continue
                seen += 1
                assert evaluation["partition"] in DAYS, f"{where}: partition {evaluation['partition']!r}"
                assert execution["partition"] == evaluation["partition"], where
                if not evaluation["success"]:
                    assert evaluation["partition"] == FAULTY_DAY, where
                    url = {e["label"]: e.get("url") for e in evaluation["metadataEntries"]}.get("incident")
                    links.setdefault((asset, check["name"]), set()).update({url} - {None})
    assert seen >= len(DAYS) * 10, seen
    failed = {(asset, check) for asset, check, _ in demo_ui.failed_checks()}
    assert set(links) == failed, (sorted(links), sorted(failed))
    assert all(found == {link} for found in links.values()), links
    page = httpx.get(link, timeout=30)  # the link is the incident's page in the web UI
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), page.status_code
    body = httpx.get(f"{demo_ui.api_url}/api/v1/incidents/{incident['id']}", timeout=30).json()
    assert body["id"] == incident["id"] and body["cause"]["asset"] == "raw_customers"
    assert body["cause"]["column"] == "income"


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
    fault = {"asset": "raw_customers", "column": "income", "kind": "null_burst", "partition": FAULTY_DAY}
    failed = [(asset, check) for asset, check, _ in demo_ui.failed_checks()]
    [incident] = [i for i in demo_ui.incidents() if FAULTY_DAY in i["partitions"]]
    incident_url = f"{demo_ui.api_url}/incidents/{incident['id']}"
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

            # The asset page's column table shows each column's description from the column contract.
            with steps.step(f"column-descriptions-{fault['asset']}"):
                page.goto(f"{demo_ui.url}/assets/{fault['asset']}?view=overview")
                described = CONTRACTS[fault["asset"]].descriptions
                for column in (fault["column"], "customer_id"):
                    expect(page.get_by_text(described[column], exact=True).first).to_be_visible()

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
                # The failure links to its incident: the check's latest evaluation names it and carries its URL.
                expect(page.locator("body")).to_contain_text(f"Incident {incident['id']} ({incident['title']})")
                expect(page.locator(f'a[href="{incident_url}"]').first).to_be_visible()

            # (c) The check's partition view: the faulty day failed, the others passed.
            with steps.step(f"check-partitions-{fault['asset']}-{check}"):
                page.locator("button[role=tab]", has_text="Partitions").click()
                expect(page.get_by_text(re.compile(r"^Failed \(1\)$")).first).to_be_visible()
                expect(page.get_by_text(re.compile(rf"^Passed \({len(DAYS) - 1}\)$")).first).to_be_visible()
                for status in ("Missing", "Passed"):  # leave the failed partitions listed
                    page.get_by_text(re.compile(rf"^{status} \(\d+\)$")).first.click()
                expect(page.get_by_text("1 Partitions Selected").first).to_be_visible()
                page.get_by_text(fault["partition"], exact=True).first.click()
                detail = page.locator("body")
                expect(detail).to_contain_text(re.compile(rf"{fault['partition']}\s*Failed"))
                expect(detail).to_contain_text(f"Incident {incident['id']}")
                expect(page.locator(f'a[href="{incident_url}"]').first).to_be_visible()

            # (d) The link leads to the incident's page in obs serve's web UI, whose top cause is the injected fault.
            with steps.step("incident-link"):
                page.goto(incident_url)
                expect(page.locator("h1")).to_contain_text(f"{fault['kind']} at {fault['asset']}.{fault['column']}")
                expect(page.locator("ol.causes li.top-cause")).to_contain_text(fault["asset"])

            # (e) The RCA trace is on rca_report's page: the latest report names the injected cause.
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

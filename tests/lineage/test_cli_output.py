"""What people read from the CLI: every command at 80 and 120 columns and through a pipe (snapshots
under tests/lineage/snapshots/cli/, regenerated with OBS_UPDATE_SNAPSHOTS=1), typo suggestions, the one
error style with a JSON error object under --json, and ISO times.

The store is ingested in the test: a small ML pipeline over several namespaces
(helpers.lineage_scenario) plus a partitioned pipeline with a null burst on its third day
(helpers.partitioned_events), so incidents and RCA have a failure to show.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import partitioned_events
from helpers.lineage_scenario import as_dicts, pipeline_events
from typer.testing import CliRunner

from lineage.store import LineageStore
from observability_pipelines.cli import app

SNAPSHOTS = Path(__file__).parent / "snapshots" / "cli"
UPDATE = os.environ.get("OBS_UPDATE_SNAPSHOTS") == "1"
MODES = {
    "80": {"TTY_COMPATIBLE": "1", "COLUMNS": "80", "NO_COLOR": "1"},
    "120": {"TTY_COMPATIBLE": "1", "COLUMNS": "120", "NO_COLOR": "1"},
    "pipe": {"TTY_COMPATIBLE": "0", "COLUMNS": "80"},
}
COMMANDS = {
    "upstream": ["lineage", "upstream", "serving.churn_predictions"],
    "downstream": ["lineage", "downstream", "raw.customers"],
    "path": ["lineage", "path", "raw.customers", "serving.churn_predictions"],
    "columns": ["lineage", "columns", "serving.churn_predictions", "score"],
    "impact": ["lineage", "impact", "raw.customers"],
    "history": ["lineage", "history", "clean.loans", "--limit", "4"],
    "graph": ["lineage", "graph"],
    "datasets": ["lineage", "datasets"],
    "incidents-list": ["incidents", "list"],
    "incidents-show": ["incidents", "show", "1"],
    "rca": ["rca", "clean.loans", "--partition", "2026-03-03"],
}
ONE_LINE_EACH = {"rca"}  # one candidate a line at any width (grep-able, copyable), by design
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RUN_ID = re.compile(r"\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b|\b[0-9a-f]{8}\b")
ELAPSED = re.compile(r"\b\d+ ms\b")
BOX = set("┃━│╇┏┓┗┛┡┩")
runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'lineage.db'}"
    events = as_dicts(pipeline_events())
    for day in range(4):
        events += partitioned_events.day(day, nulls=300 if day == 2 else 0)
    with LineageStore.open(url) as store:
        assert not store.ingest(events).rejected
    return url


def invoke(db: str, args: list[str], env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, [*args, "--db", db], env={"TTY_COMPATIBLE": "0", **(env or {})})


def normalized(text: str) -> str:
    text = ELAPSED.sub("<n> ms", RUN_ID.sub("<id>", ANSI.sub("", text)))
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("command", COMMANDS)
def test_snapshot(db: str, command: str, mode: str) -> None:
    result = invoke(db, COMMANDS[command], MODES[mode])
    assert result.exit_code == 0, result.output
    text = normalized(result.stdout)
    lines = text.splitlines()
    if mode == "pipe":
        assert not BOX & set(text), "a pipe gets plain text"
    elif command not in ONE_LINE_EACH:
        width = int(mode)
        assert all(len(line) <= width for line in lines), f"a line wider than {width} columns"
    assert "…" not in text.replace("2026-03-03…", "")  # no cell is cut short (a partition span may use …)
    snapshot = SNAPSHOTS / f"{command}-{mode}.txt"
    if UPDATE:
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(text, encoding="utf-8")
    assert snapshot.is_file(), f"no snapshot {snapshot.name}: run with OBS_UPDATE_SNAPSHOTS=1 and review it"
    assert text == snapshot.read_text(encoding="utf-8")


@pytest.mark.parametrize("command", ["upstream", "downstream", "columns", "impact", "datasets", "graph"])
def test_pipe_keeps_every_name_whole(db: str, command: str) -> None:
    """Through a pipe each dataset name the JSON answer holds appears whole on one line."""
    answer = invoke(db, [*COMMANDS[command], "--json"])
    names = set(re.findall(r'"name": "([^"]+)"', answer.stdout))
    assert names
    text = invoke(db, COMMANDS[command]).stdout
    words = {w.removeprefix("job:").rstrip(":") for w in re.split(r"[\s,→]+", text)}
    qualified = {w.rsplit(":", 1)[-1] for w in words if "://" in w}  # a name two namespaces hold: ns:name
    assert {n for n in names if n not in words | qualified and f"{n}." not in text} <= {"score"}, text


def test_shared_namespace_is_said_once_and_wide_shows_it_per_row(db: str) -> None:
    narrow = invoke(db, ["lineage", "upstream", "serving.churn_predictions"], MODES["80"]).stdout
    assert "namespace" in narrow and "postgres://shop" not in ANSI.sub("", narrow).split("\n", 3)[-1]
    wide = invoke(db, ["lineage", "upstream", "serving.churn_predictions", "--wide"], MODES["80"]).stdout
    assert wide.count("postgres://shop") > 1


def test_path_tells_jobs_from_datasets(db: str) -> None:
    text = invoke(db, ["lineage", "path", "raw.customers", "models.churn"]).stdout
    assert "raw.customers → job:etl.build_features → features.customer_features → job:train.churn_model" in text


def test_history_has_the_partition_and_no_empty_columns(db: str) -> None:
    text = invoke(db, COMMANDS["history"]).stdout
    header = next(line for line in text.splitlines() if line.startswith("run "))
    assert "partition" in header and "version" not in header  # these runs carry no dataset version
    assert "2026-03-04" in text and "2026-03-03" in text
    columns = invoke(db, COMMANDS["columns"]).stdout
    assert "transformations" not in columns or "DIRECT" in columns


@pytest.mark.parametrize(("typo", "meant"), [("raw.custmers", "raw.customers"), ("clean.lons", "clean.loans"),
                                             ("models.chrun", "models.churn")])
def test_a_typo_gets_the_close_name(db: str, typo: str, meant: str) -> None:
    result = invoke(db, ["lineage", "upstream", typo])
    assert result.exit_code == 1
    assert f"no dataset named '{typo}'" in result.stderr and meant in result.stderr
    assert "next:" not in result.stderr  # the suggestion is the next step


def test_a_column_typo_gets_the_close_column(db: str) -> None:
    result = invoke(db, ["lineage", "columns", "clean.loans", "incme"])
    assert result.exit_code == 1 and "did you mean income?" in result.stderr and "next:" not in result.stderr


def test_next_hint_only_where_it_applies(db: str) -> None:
    unknown = invoke(db, ["lineage", "upstream", "zzzz_nothing"])
    assert unknown.exit_code == 1 and "next: `obs lineage datasets`" in unknown.stderr
    bad_time = invoke(db, ["lineage", "upstream", "clean.loans", "--as-of", "yesterday"])
    assert bad_time.exit_code == 1 and "ISO-8601" in bad_time.stderr and "next:" not in bad_time.stderr
    for result in (unknown, bad_time):
        assert result.stderr.startswith("error: ") and "Error:" not in result.stderr


@pytest.mark.parametrize("args", [["lineage", "upstream", "zzzz_nothing"], ["lineage", "downstream", "raw.orders"],
                                  ["incidents", "show", "999"], ["rca", "zzzz_nothing"]])
def test_json_errors_are_a_json_object_on_stdout(db: str, args: list[str]) -> None:
    result = invoke(db, [*args, "--json"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["message"] and error["exit_code"] == 1 and set(error) == {"message", "next", "exit_code"}
    assert not result.stderr


def test_times_are_iso_8601(db: str, tmp_path: Path) -> None:
    history = json.loads(invoke(db, [*COMMANDS["history"], "--json"]).stdout)
    for run in history["runs"]:
        assert dt.datetime.fromisoformat(run["started_at"]).utcoffset() == dt.timedelta(0)
    text = invoke(db, COMMANDS["history"]).stdout
    assert re.search(r"\b2026-03-0\dT\d\d:\d\d:\d\dZ\b", text)
    from lineage.emission.outbox import Outbox

    path = tmp_path / "outbox.db"
    outbox = Outbox(path)
    ids = outbox.append(partitioned_events.day(0))
    outbox.mark_delivered(ids[:1], backend="test")
    outbox.record_failure(ids[1:], "HTTP 503", backoff_s=60)
    env = {"OBS_OUTBOX_PATH": str(path), "OBS_SPOOL_DIR": ""}
    status = json.loads(runner.invoke(app, ["outbox", "status", "--json"], env=env).stdout)
    text = runner.invoke(app, ["outbox", "status"], env={**env, "TTY_COMPATIBLE": "0"}).stdout
    for key in ("last_delivery_at", "last_error_at", "next_attempt_at"):
        when = dt.datetime.fromisoformat(status[key])
        assert when.utcoffset() == dt.timedelta(0) and abs(when - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert f"Last delivery: {status['last_delivery_at']}" in text


def test_help_states_real_defaults_and_every_subcommand() -> None:
    listing = runner.invoke(app, ["lineage", "--help"], env={"COLUMNS": "200"}).stdout
    for command in ("upstream", "downstream", "path", "columns", "impact", "history", "graph", "datasets"):
        assert re.search(rf"│ {command}\s", listing), command
    path = ANSI.sub("", runner.invoke(app, ["lineage", "path", "--help"], env={"COLUMNS": "200"}).stdout)
    depth = next(line for line in path.splitlines() if "--depth" in line)
    assert "[default: 25]" in depth and "no limit" not in depth
    upstream = ANSI.sub("", runner.invoke(app, ["lineage", "upstream", "--help"], env={"COLUMNS": "200"}).stdout)
    assert "[default: (no limit)]" in next(line for line in upstream.splitlines() if "--depth" in line)
    for line in upstream.splitlines():
        if any(flag in line for flag in ("--json", "--job", "--wide")):
            assert "<bool>" not in line, line


def test_commands_that_do_not_validate_never_import_the_heavy_libraries(db: str) -> None:
    """great_expectations alone takes seconds to import; pandas, dagster and scipy are not needed either,
    nor jsonschema (nothing is validated)."""
    import subprocess
    import sys

    calls = [[*args, "--db", db] for name, args in COMMANDS.items()] + [["outbox", "status"]]
    code = (
        "import sys, json\n"
        "from observability_pipelines.cli import app\n"
        f"for args in {calls!r}:\n"
        "    try:\n        app(args)\n    except SystemExit:\n        pass\n"
        "heavy = ('great_expectations', 'pandas', 'dagster', 'scipy', 'alembic', 'jsonschema')\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TTY_COMPATIBLE": "0", "OBS_OUTBOX_PATH": str(Path(db[10:]).with_name("o.db"))})
    assert json.loads(done.stderr.strip().splitlines()[-1]) == [], done.stderr[-2000:]


def test_usage_errors_use_the_same_error_style() -> None:
    """The console script's usage errors: `error:` and a `next:` pointing at the command's help, no panel."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "observability_pipelines.cli", "lineage", "upstream", "--bogus"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "TTY_COMPATIBLE": "0"})
    assert done.returncode == 2
    assert done.stderr.startswith("error: No such option: --bogus") and "lineage upstream --help`" in done.stderr
    assert "╭" not in done.stderr and "Error" not in done.stderr

"""`obs demo`: backfill the pipelines with a fault, summarize, then open the Dagster UI.

The summary is short whatever ``--days`` is (clean days collapse into ranges), never truncates a name
(long lines wrap between words), marks the faulty day, names its incident and top cause, and says where
to look next (the Dagster UI, ``obs incidents show``).
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)
DAILY_JOBS = ("daily_pipeline", "batch_predictions_job")


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        days: int = typer.Option(7, min=1, max=365, help="How many daily partitions to backfill."),
        start: str = typer.Option("2026-03-01", help="First partition, YYYY-MM-DD (fixed default: reproducible)."),
        fault_plan: Path | None = typer.Option(
            None, "--fault-plan", help="Fault plan (JSON/YAML). Default: the built-in demo plan (a null burst)."
        ),
        no_ui: bool = typer.Option(
            False, "--no-ui", envvar="OBS_NO_UI", help="Do not start the Dagster UI (`dg dev`) afterwards (headless)."
        ),
        port: int = typer.Option(3000, "--port", min=1, max=65535, help="Port of the Dagster UI (dg dev -p)."),
        customers_per_day: int = typer.Option(1500, min=10, help="Applicants generated per day."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Materialize a backfill of both pipelines (one day with an injected fault) and start the UI."""
        import datetime as dt
        import json

        from observability_pipelines.data.faults import FaultPlanError
        from observability_pipelines.demo import BUILTIN_FAULT_PLAN, ensure_dagster_home, report_incidents

        try:
            dt.date.fromisoformat(start)
        except ValueError:
            raise typer.BadParameter(f"{start!r} is not a date; use YYYY-MM-DD", param_hint="--start") from None
        if not no_ui and not _port_free(port):  # say so now, not after minutes of backfill
            console.print(f"[red]Port {port} is in use[/red]; pass --port N (or --no-ui) and retry.")
            raise typer.Exit(1)
        home = ensure_dagster_home()
        run_config = {"resources": {"raw_data": {"config": {"customers_per_day": customers_per_day}}}}
        try:
            result = _run(start, days, fault_plan or BUILTIN_FAULT_PLAN, run_config)
        except FaultPlanError as exc:
            console.print(f"[red]Fault plan rejected[/red]: {exc}\nFix the file (see README, 'Fault plans') and retry.")
            raise typer.Exit(2) from None

        import dagster as dg

        report_incidents(dg.DagsterInstance.get(), result)
        ui = f"http://127.0.0.1:{port}"
        if as_json:
            print(json.dumps(_as_json(result, home, ui), indent=2))
        else:
            out = Console(highlight=False)
            for line in summary_lines(result, home, ui, started=not no_ui):
                out.print(line, markup=False)
        if no_ui:
            raise typer.Exit(0 if result.runs else 1)
        _exec_ui(port)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _run(start: str, days: int, plan: Path, run_config: dict):
    from rich.progress import Progress

    from observability_pipelines.demo import run_demo

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("materializing", total=2 * days + 1)

        def step(msg: str) -> None:
            progress.update(task, advance=1, description=msg)

        # Errors only from the runs' console logs: the summary says what failed (the injected faults
        # included); every run's full log is in the Dagster UI.
        return run_demo(start=start, days=days, fault_plan=plan, run_config=run_config, on_step=step,
                        log_level="ERROR")


def ui_command(port: int) -> list[str]:
    """The command that serves the Dagster UI on `port`: `dg dev` (dagster-dg-cli, what Dagster 1.13
    recommends; `dagster dev` warns it is superseded), else `dagster dev` with the same arguments.
    Both read the project's workspace.yaml, so the code location is the same."""
    from observability_pipelines.demo import PROJECT_ROOT

    for program in ("dg", "dagster"):  # the project's own environment first, then PATH
        found = shutil.which(program, path=str(Path(sys.executable).parent)) or shutil.which(program)
        if found:
            # --log-level warning: the daemon otherwise logs each sensor tick (about 12 lines a minute).
            return [found, "dev", "-h", "127.0.0.1", "-p", str(port), "-w", str(PROJECT_ROOT / "workspace.yaml"),
                    "--log-level", "warning"]
    console.print("[red]neither `dg` nor `dagster` is on PATH[/red]; install the project (pip install -e .) and retry.")
    raise typer.Exit(1)


def _exec_ui(port: int) -> None:
    from observability_pipelines.demo import PROJECT_ROOT

    command = ui_command(port)
    os.chdir(PROJECT_ROOT)
    sys.stdout.flush()  # exec replaces the process: unflushed output (the summary, when piped) would be lost
    sys.stderr.flush()
    os.execv(command[0], command)


def _incident_record(incident: dict) -> dict:
    from observability_pipelines.automation.rca_sensor import incident_link

    cause = incident["cause"] or {}
    return {"id": incident["id"], "status": incident["status"], "severity": incident["severity"],
            "title": incident["title"], "partitions": incident["partitions"], "link": incident_link(incident["id"]),
            "cause": {k: cause.get(k) for k in ("asset", "column", "kind", "score", "column_path")},
            "affected": sorted({a["dataset"] for a in incident["affected"]})}


def _as_json(result, home: Path, ui: str) -> dict:
    return {
        "incidents": [_incident_record(i) for i in result.incidents],
        "dagster_home": str(home),
        "ui_url": ui,
        "partitions": result.partitions,
        "faults": result.fault_plan.to_records(),
        "runs": [{**r.__dict__, "status": r.status} for r in result.runs],
        "model_metrics": result.model_metrics,
        "success": result.success,
    }


# --------------------------------------------------------------------------- the text summary


def _day_rows(result) -> list[tuple[str, list[str], str]]:
    """(partitions, status per daily job, what failed) per day; consecutive all-passed days in one row."""
    by_day: dict[str, dict] = {}
    for run in result.runs:
        if run.partition:
            by_day.setdefault(run.partition, {})[run.job] = run
    rows: list[tuple[str, list[str], str]] = []
    clean: list[str] = []

    def flush() -> None:
        if clean:
            rows.append((clean[0] if len(clean) == 1 else f"{clean[0]}..{clean[-1]}", ["passed"] * 2, "-"))
            clean.clear()

    for day in result.partitions:
        runs = [by_day.get(day, {}).get(job) for job in DAILY_JOBS]
        if all(r is not None and r.status == "passed" and not r.skipped for r in runs):
            clean.append(day)
            continue
        flush()
        failed = [c for r in runs if r for c in r.failed_checks]
        skipped = sorted({a for r in runs if r for a in r.skipped})
        what = [f"{len(failed)} checks on {len({c.split(':')[0] for c in failed})} assets"] if failed else []
        what += [f"{len(skipped)} assets not materialized"] if skipped else []
        rows.append((day, [r.status if r else "not run" for r in runs], "; ".join(what) or "-"))
    flush()
    return rows


def _run_lines(result) -> list[str]:
    rows = _day_rows(result)
    width = max(len("partition"), *(len(r[0]) for r in rows))
    widths = [width, *(max(len(job), len("checks failed")) for job in DAILY_JOBS), 0]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    lines = [fmt(["partition", *DAILY_JOBS, "failed"])]
    lines += [fmt([days, *statuses, what]) for days, statuses, what in rows]
    for run in result.runs:
        if run.partition is None:
            lines.append(f"{run.job}: {run.status}" + (f" ({', '.join(run.failed_checks)})" if run.failed_checks else ""))
    return lines


def _failed_check_lines(result) -> list[str]:
    lines: list[str] = []
    for run in result.runs:
        if not run.failed_checks and not run.skipped:
            continue
        lines.append(f"{run.job} [{run.partition or 'unpartitioned'}]:")
        by_asset: dict[str, list[str]] = {}
        for item in run.failed_checks:
            asset, check = item.split(":", 1)
            by_asset.setdefault(asset, []).append(check)
        width = max((len(a) for a in by_asset), default=0)
        lines += [f"  {asset.ljust(width)}  failed {', '.join(checks)}" for asset, checks in by_asset.items()]
        if run.skipped:
            lines.append(f"  not materialized (blocked upstream): {', '.join(run.skipped)}")
    return lines


def _check_link(result, ui: str, asset: str, partition: str) -> str | None:
    """The UI page of a check that failed on the asset that day (the suite's first: it names what broke)."""
    failed = [c.split(":", 1)[1] for r in result.runs if r.partition == partition
              for c in r.failed_checks if c.split(":", 1)[0] == asset]
    failed.sort(key=lambda c: not c.startswith("ge_"))
    return f"{ui}/assets/{asset}?view=checks&checkDetail={failed[0]}" if failed else None


def _incident_lines(result, ui: str) -> list[str]:
    if not result.incidents:
        return ["No open incident."]
    lines: list[str] = []
    for incident in result.incidents:
        record = _incident_record(incident)
        cause = record["cause"]
        where = (cause.get("asset") or "?") + (f".{cause['column']}" if cause.get("column") else "")
        lines.append(f"Incident {record['id']} [{record['status']}, {record['severity']}]: {record['title']}"
                     f" (partitions {', '.join(record['partitions']) or '-'}; {len(record['affected'])} assets)")
        lines.append(f"  top cause: {where} {cause.get('kind')} (score {float(cause.get('score') or 0):.2f})")
        if cause.get("column_path"):
            lines.append(f"  path: {' ← '.join(reversed(cause['column_path']))}")
        lines.append(f"  details: {record['link']}")
        if cause.get("asset") and record["partitions"]:
            if link := _check_link(result, ui, cause["asset"], record["partitions"][0]):
                lines += ["  in the Dagster UI (the check's Partitions tab shows the day failed):", f"    {link}"]
    return lines


def summary_lines(result, home: Path, ui: str, *, started: bool) -> list[str]:
    days = result.partitions
    lines = [f"obs demo: {len(days)} daily partitions {days[0]}..{days[-1]} of both pipelines, "
             f"{len(result.runs)} runs"]
    lines += [f"Injected fault: {fault.describe()}" for fault in result.fault_plan.faults]
    lines += ["", *_run_lines(result)]
    if failed := _failed_check_lines(result):
        lines += ["", "Failed checks:", *failed]
    lines += ["", *_incident_lines(result, ui), ""]
    if result.model_metrics:
        lines.append("Model evaluation: " + ", ".join(f"{k}={v:.3f}" for k, v in result.model_metrics.items()))
    lines.append(f"Dagster home: {home}")
    lines.append("Incidents: obs incidents list")
    if started:
        lines.append(f"Dagster UI: {ui} (starting dg dev; Ctrl-C to stop)")
    else:
        from observability_pipelines.demo import PROJECT_ROOT

        lines.append(f"Dagster UI: not started (--no-ui); to start it: DAGSTER_HOME={home} dg dev "
                     f"-p {ui.rsplit(':', 1)[1]} -w {PROJECT_ROOT / 'workspace.yaml'}")
    return lines

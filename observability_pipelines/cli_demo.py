"""`obs demo`: backfill the pipelines with a fault, summarize, then open the Dagster UI."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        days: int = typer.Option(7, min=1, max=365, help="How many daily partitions to backfill."),
        start: str = typer.Option("2026-03-01", help="First partition, YYYY-MM-DD (fixed default: reproducible)."),
        fault_plan: Path | None = typer.Option(
            None, "--fault-plan", help="Fault plan (JSON/YAML). Default: the built-in demo plan (a null burst)."
        ),
        no_ui: bool = typer.Option(
            False, "--no-ui", envvar="OBS_NO_UI", help="Do not start `dagster dev` afterwards (headless)."
        ),
        customers_per_day: int = typer.Option(1500, min=10, help="Applicants generated per day."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Materialize a backfill of both pipelines (one day with an injected fault) and start the UI."""
        import datetime as dt
        import json

        from rich.progress import Progress

        from observability_pipelines.data.faults import FaultPlanError
        from observability_pipelines.demo import BUILTIN_FAULT_PLAN, ensure_dagster_home, run_demo

        try:
            dt.date.fromisoformat(start)
        except ValueError:
            raise typer.BadParameter(f"{start!r} is not a date; use YYYY-MM-DD", param_hint="--start") from None
        home = ensure_dagster_home()
        plan = fault_plan or BUILTIN_FAULT_PLAN
        run_config = {"resources": {"raw_data": {"config": {"customers_per_day": customers_per_day}}}}
        total = 2 * days + 1
        try:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("materializing", total=total)

                def step(msg: str) -> None:
                    progress.update(task, advance=1, description=msg)

                result = run_demo(start=start, days=days, fault_plan=plan, run_config=run_config, on_step=step)
        except FaultPlanError as exc:
            console.print(f"[red]Fault plan rejected[/red]: {exc}\nFix the file (see README, 'Fault plans') and retry.")
            raise typer.Exit(2) from None

        rca = _root_cause(result)
        if as_json:
            print(json.dumps({
                "rca": rca.as_dict() if rca else None,
                "dagster_home": str(home),
                "partitions": result.partitions,
                "faults": result.fault_plan.to_records(),
                "runs": [r.__dict__ for r in result.runs],
                "model_metrics": result.model_metrics,
                "success": result.success,
            }, indent=2))
        else:
            _print_summary(result, home)
            if rca is not None:
                Console().print(f"[bold]Root cause[/bold] of {rca.symptom['dataset']} [{rca.symptom['partition']}]:",
                                highlight=False)
                Console().print(rca.trace(), highlight=False)

        if no_ui:
            raise typer.Exit(0 if result.runs else 1)
        dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or shutil.which("dagster")
        if not dagster:
            console.print("[red]`dagster` is not on PATH[/red]; install the project (pip install -e .) and retry.")
            raise typer.Exit(1)
        console.print("Starting [bold]dagster dev[/bold] on http://127.0.0.1:3000 (Ctrl-C to stop)")
        from observability_pipelines.demo import PROJECT_ROOT

        os.chdir(PROJECT_ROOT)
        os.execv(dagster, [dagster, "dev", "-h", "127.0.0.1", "-p", "3000", "-w", str(PROJECT_ROOT / "workspace.yaml")])


def _root_cause(result):
    """RCA of the most downstream asset that failed a check on the first faulty day, if any."""
    from lineage.analysis.rca import RCAError, analyze
    from lineage.store import LineageStore

    order = ["batch_predictions", "training_set", "customer_features", "clean_customers", "clean_transactions",
             "clean_labels", "raw_customers", "raw_transactions", "raw_labels"]
    for run in result.runs:
        failed = {c.split(":")[0] for c in run.failed_checks}
        symptom = next((a for a in order if a in failed), None)
        if symptom and run.partition:
            store = LineageStore.open()
            try:
                return analyze(store, symptom, partition=run.partition)
            except RCAError:
                return None
            finally:
                store.dispose()
    return None


def _print_summary(result, home: Path) -> None:
    table = Table(title="obs demo: runs")
    for column in ("job", "partition", "status", "failed checks", "skipped"):
        table.add_column(column)
    for run in result.runs:
        table.add_row(
            run.job,
            run.partition or "-",
            "[green]success[/green]" if run.success else "[red]failed[/red]",
            ", ".join(run.failed_checks) or "-",
            ", ".join(run.skipped) or "-",
        )
    out = Console()
    out.print(table)
    for fault in result.fault_plan.faults:
        out.print(f"Injected fault: {fault.describe()}")
    if result.model_metrics:
        out.print("Model evaluation: " + ", ".join(f"{k}={v:.3f}" for k, v in result.model_metrics.items()))
    out.print(f"Dagster home: {home}")

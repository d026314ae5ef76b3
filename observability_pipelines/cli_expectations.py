"""`obs expectations`: list the Great Expectations suites and validate a CSV/Parquet file against one."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import typer

expectations_app = typer.Typer(
    name="expectations",
    help="Great Expectations suites of the pipelines: list them, validate a file against one.",
    no_args_is_help=True,
    add_completion=False,
)


def _usage_error(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code=2)


@expectations_app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the suites (one per table asset) with their expectation counts by severity."""
    from observability_pipelines.checks.great_expectations import (
        ERROR,
        WARN,
        SuiteError,
        _severity,
        expectations_dir,
        list_suites,
        suite_info,
    )

    root = expectations_dir()
    names = list_suites(root)
    if not names:
        raise _usage_error(f"no suites in {root}; set OBS_EXPECTATIONS_DIR or run expectations/build_suites.py")
    rows = []
    for name in names:
        try:
            info = suite_info(name, root)
        except SuiteError as exc:
            raise _usage_error(str(exc)) from exc
        sev = Counter(_severity(e) for e in info["expectations"])
        rows.append({
            "suite": name,
            "expectations": len(info["expectations"]),
            "errors": sev.get(ERROR, 0),
            "warnings": sev.get(WARN, 0),
            "parameters": sorted((info.get("meta") or {}).get("suite_parameters", [])),
        })
    if as_json:
        typer.echo(json.dumps({"directory": str(root), "suites": rows}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Expectation suites in {root}")
    table.add_column("suite", no_wrap=True)
    for col in ("expectations", "errors", "warnings"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("time windows")
    for r in rows:
        # partition_start/partition_end -> "partition", labels_window_start/... -> "labels"
        windows = sorted({p.rsplit("_", 1)[0].removesuffix("_window") for p in r["parameters"]})
        table.add_row(r["suite"], str(r["expectations"]), str(r["errors"]), str(r["warnings"]), ", ".join(windows) or "-")
    Console().print(table)
    typer.echo("errors block downstream assets; time windows come from --partition / the partition key")


def _read_frame(path: Path, suite_columns: dict[str, str] | None):
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".csv", ".txt"):
        df = pd.read_csv(path)
        # CSV has no types: parse the contract's timestamp columns as timestamps, like a Parquet file keeps them.
        for column, kind in (suite_columns or {}).items():
            if kind == "timestamp" and column in df.columns:
                df[column] = pd.to_datetime(df[column], errors="coerce")
        return df
    raise _usage_error(f"{path}: unsupported file type {suffix or '(none)'}; give a .csv or .parquet file")


@expectations_app.command("validate")
def validate_command(
    suite: str = typer.Argument(..., help="Suite name (see `obs expectations list`), e.g. raw_customers."),
    file: Path = typer.Argument(..., help="CSV or Parquet file holding one partition of the table."),
    partition: str | None = typer.Option(
        None, "--partition", "-p", help="Daily partition key YYYY-MM-DD (needed by suites that check time windows)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Validate FILE against SUITE. Exit code 0: passed, 1: expectations failed, 2: usage error."""
    from observability_pipelines.checks.great_expectations import (
        SuiteError,
        _required_parameters,
        list_suites,
        suite_info,
        validate_dataframe,
    )
    from observability_pipelines.data.contracts import CONTRACTS

    if suite not in list_suites():
        known = ", ".join(list_suites()) or "none (set OBS_EXPECTATIONS_DIR)"
        raise _usage_error(f"unknown suite {suite!r}; known suites: {known}")
    if partition is not None:
        try:
            dt.date.fromisoformat(partition)
        except ValueError:
            raise _usage_error(f"--partition {partition!r} is not a daily key; use YYYY-MM-DD, e.g. 2026-01-05") from None
    needed = _required_parameters(suite_info(suite))
    if needed and partition is None:
        raise _usage_error(
            f"suite {suite!r} checks timestamps against the partition day ({', '.join(sorted(needed))}); "
            "pass --partition YYYY-MM-DD"
        )
    if not file.is_file():
        raise _usage_error(f"{file} does not exist or is not a file; give the path of a .csv or .parquet file")
    contract = CONTRACTS.get(suite)
    try:
        df = _read_frame(file, contract.columns if contract else None)
    except typer.Exit:
        raise
    except Exception as exc:  # unreadable file: a usage problem, not a failed expectation
        raise _usage_error(f"cannot read {file}: {exc}") from exc
    try:
        result = validate_dataframe(df, suite, partition)
    except SuiteError as exc:
        raise _usage_error(str(exc)) from exc

    if as_json:
        typer.echo(json.dumps({"file": str(file), "partition": partition, **result.to_dict()}, indent=2))
    else:
        _print_result(result, file)
    raise typer.Exit(code=0 if result.success else 1)


def _print_result(result, file: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    status = "[green]PASSED[/green]" if result.success else "[red]FAILED[/red]"
    console.print(
        f"{status} {result.suite} on {file}: {result.evaluated - len(result.failures)}/{result.evaluated} "
        f"expectations passed ({result.success_percent:.1f}%), {result.rows} rows"
    )
    if result.failures:
        table = Table(title="Failed expectations")
        for col in ("severity", "expectation", "column", "unexpected %", "message"):
            table.add_column(col)
        for o in result.failures:
            pct = "" if o.unexpected_percent is None else f"{o.unexpected_percent:.2f}"
            style = "red" if o.severity == "error" else "yellow"
            table.add_row(f"[{style}]{o.severity}[/{style}]", o.expectation_type, o.column or "", pct, o.message)
        console.print(table)


def register(app: typer.Typer) -> None:
    """Add the `expectations` command group to the `obs` CLI."""
    app.add_typer(expectations_app, name="expectations")

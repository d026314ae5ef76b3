"""`obs expectations`: list the Great Expectations suites and validate a CSV/Parquet file against one."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import typer

from lineage.cli import JsonOption

expectations_app = typer.Typer(
    name="expectations",
    help="Great Expectations suites of the pipelines: list them, validate a file against one.",
    no_args_is_help=True,
    add_completion=False,
)


def _usage_error(message: str) -> typer.Exit:
    from lineage.cli import _fail  # the CLI's one error style (a JSON object under --json)

    return _fail(message, None, 2)


@expectations_app.command("list")
def list_command(
    as_json: JsonOption = False,
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
        from observability_pipelines.checks.great_expectations import describe_windows

        windows = describe_windows(r["parameters"])  # "day", "day -30d..+2d"
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
    as_json: JsonOption = False,
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
        import difflib

        close = difflib.get_close_matches(suite, list_suites(), n=1, cutoff=0.75)
        known = ", ".join(list_suites()) or "none (set OBS_EXPECTATIONS_DIR)"
        raise _usage_error(f"unknown suite {suite!r}; " + (f"did you mean {close[0]}?" if close else f"known suites: {known}"))
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

    columns = _column_diff(list(df.columns), contract.columns if contract else None)
    if as_json:
        typer.echo(json.dumps({"file": str(file), "partition": partition, "columns": columns, **result.to_dict()},
                              indent=2))
    else:
        _print_result(result, file, _failure_rows(result, df, contract.columns if contract else {}, columns), columns)
    raise typer.Exit(code=0 if result.success else 1)


_SEVERITY_ORDER = {"error": 0, "warn": 1}
# Expectations that judge each row: a missing or mistyped column fails all of its rows.
_PER_ROW = ("expect_column_values_", "expect_column_value_")


def _column_diff(present: list[str], contract: dict[str, str] | None) -> dict[str, Any]:
    """The file's columns against the contract's: unexpected, missing, and likely renames (by edit distance)."""
    import difflib

    if not contract:
        return {"unexpected": [], "missing": [], "renamed": {}}
    unexpected = [c for c in present if c not in contract]
    missing = [c for c in contract if c not in present]
    renamed = {}
    for column in unexpected:
        close = difflib.get_close_matches(column, [m for m in missing if m not in renamed.values()], n=1, cutoff=0.75)
        if close:
            renamed[column] = close[0]
    return {"unexpected": unexpected, "missing": missing, "renamed": renamed}


def _explain(o, df, contract: dict[str, str], columns: dict[str, Any]) -> str:
    """What is wrong with the data, in place of a raw GX exception or a bare 'column missing'."""
    col = o.column
    if o.expectation_type == "expect_table_columns_to_match_set":
        parts = [f"unexpected {', '.join(columns['unexpected'])}" if columns["unexpected"] else "",
                 f"missing {', '.join(columns['missing'])}" if columns["missing"] else "",
                 ", ".join(f"{a} looks like {b} renamed" for a, b in columns["renamed"].items())]
        return "columns differ from the contract: " + "; ".join(p for p in parts if p) if any(parts) else o.message
    if col and col not in df.columns:
        renamed = next((a for a, b in columns["renamed"].items() if b == col), None)
        return f"{col}: column missing" + (f" (the file has {renamed}: renamed?)" if renamed else "")
    if o.exception and col:
        expected = contract.get(col, "the suite's type")
        return (f"{col}: type mismatch: holds {df[col].dtype} values where the contract says {expected}, "
                f"so {o.expectation_type} could not compare them")
    return o.message


def _percent(o, df) -> str:
    if o.unexpected_percent is not None:
        return f"{o.unexpected_percent:.2f}"
    whole_column = o.column and (o.column not in df.columns or o.exception
                                 or o.expectation_type == "expect_column_values_to_be_of_type")
    return "100.00" if whole_column and o.expectation_type.startswith(_PER_ROW) else "–"


def _failure_rows(result, df, contract: dict[str, str], columns: dict[str, Any]) -> list[list[str]]:
    """severity, expectation, column, unexpected %, message: errors first, then warnings."""
    failures = sorted(result.failures, key=lambda o: (_SEVERITY_ORDER.get(o.severity, 2), o.column or "", o.expectation_type))
    return [[o.severity, o.expectation_type, o.column or "", _percent(o, df), _explain(o, df, contract, columns)]
            for o in failures]


def _print_result(result, file: Path, rows: list[list[str]], columns: dict[str, Any]) -> None:
    from lineage import cli_render as render
    from lineage.cli_render import Col, out

    status = "[green]PASSED[/green]" if result.success else "[red]FAILED[/red]"
    out.print(
        f"{status} {result.suite} on {file}: {result.evaluated - len(result.failures)}/{result.evaluated} "
        f"expectations passed ({result.success_percent:.1f}%), {result.rows} rows"
    )
    if columns["unexpected"] or columns["missing"]:
        out.print(f"columns: unexpected {columns['unexpected'] or 'none'}, missing {columns['missing'] or 'none'}",
                  markup=False)
    if rows:
        render.table("failed expectations (errors first)", [
            Col("severity"), Col("expectation", optional=True), Col("column", keep=True), Col("unexpected %", "right"),
            Col("message")], rows)


def register(app: typer.Typer) -> None:
    """Add the `expectations` command group to the `obs` CLI."""
    app.add_typer(expectations_app, name="expectations")

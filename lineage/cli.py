"""`obs serve`, `obs ingest` and `obs lineage ...`: registered on the project's root typer app."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from lineage.config import DEFAULT_HOST, DEFAULT_PORT, resolve_db_url

T = TypeVar("T")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="SQLAlchemy URL of the lineage store (default: $OBS_LINEAGE_DB, else $DAGSTER_HOME/lineage.db)"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]
NamespaceOption = Annotated[
    str | None, typer.Option("--namespace", "-n", help="Dataset namespace; only needed when the name is ambiguous.")
]
DepthOption = Annotated[int | None, typer.Option("--depth", "-d", min=1, help="Job hops to follow (default: no limit).")]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="Show lineage as it was at this ISO-8601 time.")]
RunOption = Annotated[str | None, typer.Option("--run-id", help="Show lineage as of this run's last event.")]

err = Console(stderr=True, soft_wrap=True)  # error lines stay whole: grep-able and copyable
out = Console()

lineage_app = typer.Typer(
    name="lineage",
    help="Query the OpenLineage store: upstream, downstream, paths, columns, impact, history.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add `serve`, `ingest` and the `lineage` command group to the root `obs` app."""
    app.command("serve", help="Run the lineage API (OpenLineage ingest + queries) with uvicorn.")(serve)
    app.command("ingest", help="Ingest OpenLineage events from a JSON-lines file or a JSON array file.")(ingest)
    app.add_typer(lineage_app, name="lineage")
    app.command("rca", help="Root-cause analysis: ranked upstream causes of a failed or drifted dataset.")(rca)
    from lineage import cli_import, cli_incidents

    cli_incidents.register(app)
    cli_import.register(app)


def _fail(message: str, hint: str | None = None, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    if hint:
        err.print(f"[yellow]next:[/] {hint}", highlight=False)
    return typer.Exit(code)


@contextmanager
def _open_store(db: str | None) -> Iterator[Any]:
    from sqlalchemy.exc import SQLAlchemyError

    from lineage.store import LineageStore

    url = resolve_db_url(db)
    try:
        store = LineageStore.open(url)
    except (SQLAlchemyError, OSError, ValueError) as exc:
        raise _fail(
            f"cannot open the lineage store ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            "check --db / OBS_LINEAGE_DB (e.g. sqlite:///path/lineage.db or postgresql://user@host/db) "
            "and that the database server is running",
        ) from None
    try:
        yield store
    finally:
        store.dispose()


def _run_query(db: str | None, query: Callable[[Any], T]) -> T:
    from lineage.graph.queries import AmbiguousNameError, LineageQueryError

    with _open_store(db) as store:
        try:
            return query(store)
        except AmbiguousNameError as exc:
            listing = ", ".join(c["namespace"] for c in exc.candidates)
            raise _fail(str(exc), f"add --namespace with one of: {listing}") from None
        except LineageQueryError as exc:
            raise _fail(str(exc), "list stored datasets with `obs lineage datasets --search <text>`") from None


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _answer(db: str | None, as_json: bool, ask: Callable[[Any, Any], T]) -> T | None:
    """Answer a lineage question with :mod:`lineage.graph.queries` (``ask(queries, store)``, the same
    implementation the API serves); printed as JSON and ``None`` when ``--json`` asks for that."""
    from lineage.graph import queries

    result = _run_query(db, lambda store: ask(queries, store))
    if as_json:
        _print_json(result)
        return None
    return result


def _table(title: str | None, *headings: str) -> Table:
    table = Table(title=title)
    for heading in headings:
        table.add_column(heading)
    return table


# ---------------------------------------------------------------------- serve / ingest
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind; loopback by default.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="TCP port.")] = DEFAULT_PORT,
    db: DbOption = None,
    token: Annotated[
        str | None, typer.Option(help="Require this bearer token (default: $OBS_LINEAGE_TOKEN; none = open).")
    ] = None,
    max_body: Annotated[int | None, typer.Option(help="Request body cap in bytes (default 5 MB).")] = None,
) -> None:
    import uvicorn

    from lineage.serve.api import create_app

    url = resolve_db_url(db)
    with _open_store(url) as store:  # fail fast (and migrate) before binding the port
        shown = store.url
    err.print(f"lineage API on http://{host}:{port}/api/v1/lineage  store: {shown}", highlight=False)
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        err.print("[yellow]warning:[/] listening beyond loopback without --token / OBS_LINEAGE_TOKEN")
    uvicorn.run(create_app(db_url=url, token=token, max_body_bytes=max_body), host=host, port=port, log_level="info")


def _read_events(path: Path) -> list[Any]:
    """A JSON array, a single JSON object, or JSON lines (one event per line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(f"file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise _fail(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    stripped = text.lstrip()
    if not stripped:
        raise _fail(f"{path} is empty", "write one OpenLineage event per line, or a JSON array of events")
    if stripped[0] == "[" or stripped[0] == "{":
        try:
            whole = json.loads(text)
        except json.JSONDecodeError as exc:
            if stripped[0] == "[":
                raise _fail(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
            whole = None  # probably JSON lines
        if isinstance(whole, list):
            return whole
        if isinstance(whole, dict):
            return [whole]
    events = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise _fail(
                f"{path}: line {number} is not valid JSON ({exc.msg} at column {exc.colno})",
                "the file must be a JSON array or JSON lines (one complete event per line)",
            ) from None
    return events


def ingest(
    file: Annotated[Path, typer.Argument(help="JSON-lines or JSON-array file of OpenLineage events.")],
    db: DbOption = None,
    as_json: JsonOption = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per transaction.")] = 500,
) -> None:
    from lineage.store.validation import EventValidationError, default_validator, strict_mode

    events = _read_events(file)
    is_lines = not file.read_text(encoding="utf-8").lstrip().startswith("[")
    validator = default_validator()
    strict = strict_mode()
    # Strict (OBS_LINEAGE_STRICT=1): validate everything first, an invalid file changes nothing.
    for index, event in enumerate(events if strict else ()):
        try:
            validator.validate(event, index=index)
        except EventValidationError as exc:
            where = f"line {_line_of(file, index)}" if is_lines and len(events) > 1 else f"event #{index}"
            raise _fail(
                f"{file}: {where} is not a valid OpenLineage event: {exc.path}: {exc.message}",
                "fix that event (nothing was stored) and run the command again",
            ) from None
    stored = duplicates = warnings = 0
    rejected: list[dict[str, Any]] = []
    with _open_store(db) as store:
        progress = Progress(
            TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=err, disable=as_json or len(events) <= batch_size, transient=True,
        )
        with progress:
            task = progress.add_task("ingest", total=len(events))
            for start in range(0, len(events), batch_size):
                result = store.ingest(events[start : start + batch_size], validate=not strict, strict=False)
                stored += result.stored
                duplicates += result.duplicates
                warnings += result.warnings
                rejected += [{**r, "index": r["index"] + start} for r in result.rejected]
                progress.advance(task, result.received)
        summary = {"file": str(file), "received": len(events), "stored": stored, "duplicates": duplicates, "db": store.url}
    if rejected or warnings:
        for r in rejected:
            r["line"] = _line_of(file, r["index"]) if is_lines else None
        summary |= {"rejected": rejected, "warnings": warnings}
    if as_json:
        _print_json(summary)
    else:
        _print_ingest_summary(file, summary, is_lines)
    if rejected:
        raise typer.Exit(2)  # the good events are stored; the bad ones are listed above


def _print_ingest_summary(file: Path, summary: dict[str, Any], is_lines: bool) -> None:
    for r in summary.get("rejected", []):
        where = f"line {r['line']}" if is_lines and r.get("line") else f"event #{r['index']}"
        err.print(f"[bold red]not stored:[/] {file}: {where}: {r['path']}: {r['message']}", highlight=False)
    if summary.get("warnings"):
        err.print(
            f"[yellow]warning:[/] {summary['warnings']} schema warning(s) kept with the stored events "
            "(GET /api/v1/events/lineage?invalid=true lists them)",
            highlight=False,
        )
    out.print(
        f"[green]ingested[/] {summary['stored']} new event(s) from {file} "
        f"({summary['duplicates']} already stored, {summary['received']} read) into {summary['db']}",
        highlight=False,
    )


def _line_of(path: Path, index: int) -> int:
    seen = -1
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            seen += 1
            if seen == index:
                return number
    return index + 1


# ---------------------------------------------------------------------- lineage queries
def _nodes_table(title: str, result: dict[str, Any]) -> Table:
    table = Table(title=title)
    for column in ("distance", "type", "namespace", "name"):
        table.add_column(column, justify="right" if column == "distance" else "left")
    for item in sorted([*result["jobs"], *result["datasets"]], key=lambda i: (i["distance"], i["type"], i["name"])):
        table.add_row(str(item["distance"]), item["type"], item["namespace"], item["name"])
    return table


def _walk_command(upstream: bool) -> Callable[..., None]:
    direction = "upstream" if upstream else "downstream"

    def command(
        name: Annotated[str, typer.Argument(help="Dataset (or, with --job, job) name.")],
        namespace: NamespaceOption = None,
        depth: DepthOption = None,
        as_of: AsOfOption = None,
        run_id: RunOption = None,
        job: Annotated[bool, typer.Option("--job", help="NAME is a job, not a dataset.")] = False,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        result = _answer(db, as_json, lambda q, s: (q.upstream if upstream else q.downstream)(
            s, name, namespace=namespace, node_type="job" if job else "dataset", depth=depth, as_of=as_of, run_id=run_id
        ))
        if result is None:
            return
        root = result["root"]
        when = f" as of {result['as_of']}" if result["as_of"] else ""
        if not result["datasets"] and not result["jobs"]:
            out.print(f"nothing {direction} of {root['type']} {root['namespace']}:{root['name']}{when}", highlight=False)
            return
        out.print(_nodes_table(f"{direction} of {root['namespace']}:{root['name']}{when}", result))

    command.__doc__ = f"Datasets and jobs {direction} of a dataset (or job)."
    return command


lineage_app.command("upstream")(_walk_command(upstream=True))
lineage_app.command("downstream")(_walk_command(upstream=False))


@lineage_app.command("path")
def path_command(
    source: Annotated[str, typer.Argument(help="Source dataset name.")],
    target: Annotated[str, typer.Argument(help="Target dataset name.")],
    source_namespace: Annotated[str | None, typer.Option(help="Namespace of the source.")] = None,
    target_namespace: Annotated[str | None, typer.Option(help="Namespace of the target.")] = None,
    max_paths: Annotated[int, typer.Option(min=1, help="How many paths to list, shortest first.")] = 10,
    depth: DepthOption = 25,
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lineage paths between two datasets."""
    result = _answer(db, as_json, lambda q, s: q.paths(
        s, source, target, source_namespace=source_namespace, target_namespace=target_namespace,
        max_paths=max_paths, max_depth=depth, as_of=as_of,
    ))
    if result is None:
        return
    if not result["paths"]:
        out.print(f"no lineage path between {source} and {target} (in either direction)", highlight=False)
        return
    if result["reversed"]:
        out.print(f"[yellow]{target} is upstream of {source}; showing paths from {target}[/]", highlight=False)
    table = _table(f"{result['count']} path(s)")
    table.add_column("#", justify="right")
    table.add_column("hops", justify="right")
    table.add_column("path")
    for number, found in enumerate(result["paths"], start=1):
        table.add_row(str(number), str(len(found) - 1), " → ".join(n["name"] for n in found))
    out.print(table)


@lineage_app.command("columns")
def columns_command(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    column: Annotated[str, typer.Argument(help="Column (field) name.")],
    namespace: NamespaceOption = None,
    downstream_: Annotated[bool, typer.Option("--downstream", help="Columns it feeds instead of its sources.")] = False,
    depth: DepthOption = None,
    as_of: AsOfOption = None,
    no_indirect: Annotated[bool, typer.Option("--no-indirect", help="Skip dataset-wide (filter/join) dependencies.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Column-level lineage: which source columns feed a column, through which jobs."""
    result = _answer(db, as_json, lambda q, s: q.column_lineage(
        s, name, column, namespace=namespace, direction="downstream" if downstream_ else "upstream",
        depth=depth, as_of=as_of, include_indirect=not no_indirect,
    ))
    if result is None:
        return
    table = _table(f"{result['direction']} columns of {name}.{column}",
                   "distance", "namespace", "dataset", "field", "jobs", "transformations", "indirect")
    for c in result["columns"]:
        table.add_row(
            str(c["distance"]), c["namespace"], c["name"], c["field"] or "(whole dataset)",
            ", ".join(j["name"] for j in c["jobs"]),
            ", ".join(f"{t['type']}/{t['subtype']}" if t["subtype"] else t["type"] for t in c["transformations"]),
            "yes" if c["indirect"] else "",
        )
    out.print(table)
    if result["origins"]:
        out.print("origins: " + ", ".join(f"{o['name']}.{o['field']}" for o in result["origins"]), highlight=False)


@lineage_app.command("impact")
def impact_command(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    namespace: NamespaceOption = None,
    as_of: AsOfOption = None,
    run_id: RunOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Blast radius: every downstream dataset, model and prediction."""
    result = _answer(db, as_json, lambda q, s: q.impact(s, name, namespace=namespace, as_of=as_of, run_id=run_id))
    if result is None:
        return
    counts = result["counts"]
    out.print(
        f"impact of {result['root']['namespace']}:{result['root']['name']}: "
        f"{counts['models']} model(s), {counts['predictions']} prediction set(s), "
        f"{counts['datasets']} other dataset(s), {counts['jobs']} job(s)",
        highlight=False,
    )
    table = _table(None, "category", "distance", "namespace", "name")
    for group in ("models", "predictions", "datasets", "jobs"):
        for item in result[group]:
            table.add_row(group.rstrip("s"), str(item["distance"]), item["namespace"], item["name"])
    if table.row_count:
        out.print(table)


@lineage_app.command("history")
def history_command(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    namespace: NamespaceOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Most recent runs to show.")] = 20,
    facet: Annotated[list[str] | None, typer.Option("--facet", help="Only these facets (repeatable).")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run history of a dataset with its quality (and any other) facets per run."""
    result = _answer(db, as_json, lambda q, s: q.run_history(s, name, namespace=namespace, limit=limit, facets=facet))
    if result is None:
        return
    dataset = result["dataset"]
    table = _table(f"runs touching {dataset['namespace']}:{dataset['name']} ({result['total_runs']} total)",
                   "run", "job", "roles", "state", "started", "ended", "version", "facets")
    for run in result["runs"]:
        facet_names = sorted({n for scope in run["facets"].values() for n in scope})
        table.add_row(
            run["run_id"][:8], run["job"]["name"], ",".join(run["roles"]), run["state"] or "",
            run["started_at"] or "", run["ended_at"] or "", run["dataset_version"] or "", ", ".join(facet_names),
        )
    out.print(table)


@lineage_app.command("graph")
def graph_command(
    as_of: AsOfOption = None,
    run_id: RunOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The whole job/dataset graph, optionally as of a time or a run."""
    result = _answer(db, as_json, lambda q, s: q.graph_as_of(s, as_of=as_of, run_id=run_id))
    if result is None:
        return
    when = f" as of {result['as_of']}" if result["as_of"] else ""
    table = _table(f"{len(result['nodes'])} nodes, {len(result['edges'])} edges{when}", "from", "to", "first seen")
    for edge in result["edges"]:
        table.add_row(edge["from"], edge["to"], edge["first_seen"])
    out.print(table)


@lineage_app.command("datasets")
def datasets_command(
    search: Annotated[str | None, typer.Option(help="Only names containing this text.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List stored datasets."""
    result = _answer(db, as_json, lambda q, s: q.list_datasets(s, search=search, limit=limit))
    if result is None:
        return
    table = _table(f"{len(result)} dataset(s)", "namespace", "name")
    for item in result:
        table.add_row(item["namespace"], item["name"])
    out.print(table)


def main() -> None:  # pragma: no cover - `python -m lineage.cli`
    app = typer.Typer(no_args_is_help=True)
    register(app)
    app(sys.argv[1:])




def rca(
    dataset: str | None = typer.Argument(None, help="symptom dataset (OpenLineage name); omit with --latest"),
    partition: str | None = typer.Option(None, "--partition", "-p",
                                         help="partition key: YYYY-MM-DD, YYYY-MM-DD-HH:MM, or as Dagster shows it"),
    run: str | None = typer.Option(None, "--run", help="OpenLineage run id that wrote or tested the symptom"),
    at: str | None = typer.Option(None, "--at", help="the symptom's latest version at this ISO-8601 time (UTC)"),
    latest: bool = typer.Option(False, "--latest", help="analyze the most recent recorded failure"),
    namespace: str | None = typer.Option(None, "--namespace", help="when the name is ambiguous"),
    column: str | None = typer.Option(None, "--column", help="focus on one column of the symptom"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    db: str | None = typer.Option(None, "--db", help="SQLAlchemy URL (default: OBS_LINEAGE_DB or the local store)"),
) -> None:
    """Walk upstream from a symptom and rank the likely root causes with their evidence and path.

    The symptom is the dataset's version in --partition (partitioned runs), the one --run wrote or
    tested, the latest at --at, or the latest; --latest picks the most recent failure of any dataset.
    """
    from lineage.analysis import rca as engine
    from lineage.facets import check_partition_key, parse_time

    if dataset is None and not latest:
        raise _fail("name a dataset or pass --latest", "e.g. `obs rca training_set --partition 2026-03-05`", 2)
    if sum(x is not None for x in (partition, run, at)) > 1:
        raise _fail("pass only one of --partition, --run and --at", None, 2)
    try:
        partition = check_partition_key(partition) if partition is not None else None
    except ValueError as exc:
        raise _fail(str(exc), "e.g. --partition 2026-03-05", 2) from None
    when = parse_time(at) if at is not None else None
    if at is not None and when is None:
        raise _fail(f"--at {at!r} is not an ISO-8601 time", "e.g. --at 2026-03-05T12:00:00Z", 2)
    result = _run_query(db, lambda store: engine.analyze_latest(store, column=column) if dataset is None else
                        engine.analyze(store, dataset, namespace=namespace, partition=partition, run_id=run,
                                       at=when, column=column))
    if as_json:
        _print_json(result.as_dict())
        return
    symptom = result.symptom
    where = f" partition {symptom['partition']}" if symptom.get("partition") else (
        f" at {symptom['time']}" if symptom.get("time") else "")
    # soft_wrap: each candidate stays one line however narrow the terminal (grep-able, copyable).
    out.print(f"[bold]Symptom[/]: {symptom['summary']}{where}", highlight=False, soft_wrap=True)
    out.print(result.trace(), highlight=False, soft_wrap=True, markup=False)
    out.print(f"[dim]{result.message}; {result.elapsed_ms:.0f} ms[/]", highlight=False)


if __name__ == "__main__":  # pragma: no cover
    main()

"""`obs serve`, `obs ingest` and `obs lineage ...`: registered on the project's root typer app."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from lineage import cli_render as render
from lineage.cli_render import Col, err, out
from lineage.config import DEFAULT_HOST, DEFAULT_PORT, resolve_db_url

T = TypeVar("T")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="SQLAlchemy URL of the lineage store (default: $OBS_LINEAGE_DB, else $DAGSTER_HOME/lineage.db)"),
]
_json_mode: ContextVar[bool] = ContextVar("obs_json_mode", default=False)


def _remember_json(value: bool) -> bool:
    _json_mode.set(bool(value))  # errors of this call are then a JSON object on stdout
    return value


JsonOption = Annotated[bool, typer.Option(
    "--json", metavar="", callback=_remember_json,
    help="Print machine-readable JSON instead of tables (errors too: {\"error\": {...}}).",
)]
WideOption = Annotated[bool, typer.Option(
    "--wide", "-w", metavar="", help="Full namespaces, nothing wrapped, however wide the lines get.")]
NamespaceOption = Annotated[
    str | None, typer.Option("--namespace", "-n", help="Dataset namespace; only needed when the name is ambiguous.")
]
DepthOption = Annotated[
    int | None, typer.Option("--depth", "-d", min=1, show_default="no limit", help="Job hops to follow.")]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="Show lineage as it was at this ISO-8601 time.")]
RunOption = Annotated[str | None, typer.Option("--run-id", help="Show lineage as of this run's last event.")]

lineage_app = typer.Typer(
    name="lineage",
    help="Query the OpenLineage store: upstream, downstream, path, columns, impact, history, graph, datasets.",
    no_args_is_help=True,
)


def register(app: typer.Typer, only: str | None = None) -> None:
    """Add `serve`, `ingest`, `lineage`, `rca`, `incidents`, `import` and `store` to the root `obs` app; `only`
    (the first word of a command line) adds just that one: typer reads the signature of every registered
    command when the app runs (~15 ms for all of them, under load), and a command needs only its own."""
    for word, add in _REGISTRARS.items():
        if only is None or only == word:
            add(app)


def _add_other_concern(module: str) -> Callable[[typer.Typer], None]:
    def add(app: typer.Typer) -> None:
        import importlib

        importlib.import_module(f"lineage.{module}").register(app)

    return add


_REGISTRARS: dict[str, Callable[[typer.Typer], None]] = {  # by first word, in the order `obs --help` lists them
    "serve": lambda app: app.command(
        "serve", help="Run the lineage API (OpenLineage ingest + queries) with uvicorn.")(serve),
    "ingest": lambda app: app.command(
        "ingest", help="Ingest OpenLineage events from a JSON-lines file or a JSON array file.")(ingest),
    "lineage": lambda app: app.add_typer(lineage_app, name="lineage"),
    "rca": lambda app: app.command(
        "rca", help="Root-cause analysis: ranked upstream causes of a failed or drifted dataset.")(rca),
    "incidents": _add_other_concern("cli_incidents"),
    "import": _add_other_concern("cli_import"),
    "store": _add_other_concern("cli_store"),
}


def _fail(message: str, hint: str | None = None, code: int = 1) -> typer.Exit:
    """The one error style: `error: …` (and `next: …` when there is a next step) on stderr; under
    `--json` a JSON object on stdout instead, so a script reads one stream."""
    if _json_mode.get():
        typer.echo(json.dumps({"error": {"message": message, "next": hint, "exit_code": code}}, indent=2))
        return typer.Exit(code)
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    if hint:
        err.print(f"[yellow]next:[/] {hint}", highlight=False)
    return typer.Exit(code)


@contextmanager
def _open_store(db: str | None) -> Iterator[Any]:
    from sqlalchemy.exc import SQLAlchemyError

    from lineage.store import LineageStore

    try:
        store = LineageStore.open(resolve_db_url(db))
    except (SQLAlchemyError, OSError, ValueError, ImportError) as exc:  # ImportError: a driver not installed
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
    from lineage.graph.queries import AmbiguousNameError, LineageQueryError, NotFoundError

    with _open_store(db) as store:
        try:
            return query(store)
        except AmbiguousNameError as exc:
            listing = ", ".join(c["namespace"] for c in exc.candidates)
            raise _fail(str(exc), f"add --namespace with one of: {listing}") from None
        except NotFoundError as exc:
            # A next step only when the message has none: no close name, not a column or run typo.
            lost = str(exc).startswith("no dataset named") and not exc.suggestions
            raise _fail(str(exc), "`obs lineage datasets` lists what is stored" if lost else None) from None
        except LineageQueryError as exc:
            raise _fail(str(exc)) from None


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


# ---------------------------------------------------------------------- serve / ingest
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind; loopback by default.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="TCP port.")] = DEFAULT_PORT,
    db: DbOption = None,
    token: Annotated[
        str | None, typer.Option(help="Require this bearer token (visible in `ps`: prefer $OBS_LINEAGE_TOKEN or "
                                 "--token-file).")
    ] = None,
    token_file: Annotated[
        Path | None, typer.Option(help="Read the bearer token from this file (default: $OBS_LINEAGE_TOKEN_FILE).")
    ] = None,
    allowed_host: Annotated[
        list[str] | None, typer.Option(metavar="<name>", help="Host name clients use to reach the API, besides "
                                       "loopback and --host (repeatable; default: $OBS_ALLOWED_HOSTS).")
    ] = None,
    max_body: Annotated[int | None, typer.Option(help="Request body cap in bytes (default 5 MiB).")] = None,
) -> None:
    import uvicorn

    from lineage.config import ALLOWED_HOSTS_ENV, resolve_list, resolve_max_body, resolve_token
    from lineage.serve.api import create_app
    from lineage.serve.server import log_config, uvicorn_options
    from lineage.store.integrity import integrity_problem

    try:  # every misconfiguration is one readable line, before anything starts
        url = resolve_db_url(db)
        secret = resolve_token(token, token_file)
        body_cap = resolve_max_body(max_body)
    except ValueError as exc:
        raise _fail(str(exc), "see `obs serve --help` (README: Security)", 2) from None
    with _open_store(url) as store:  # fail fast (and migrate) before binding the port
        shown, damage = store.url, integrity_problem(store)
    if damage is not None:
        raise _fail(f"the lineage store {shown} is damaged ({damage}); not serving it",
                    "restore it from a backup, or salvage it with `sqlite3 <file> .recover | sqlite3 <new file>`")
    wildcard = host in ("0.0.0.0", "::", "")
    hosts = [*(allowed_host or resolve_list(None, ALLOWED_HOSTS_ENV)), *([] if wildcard else [host])]
    err.print(f"lineage API on http://{host}:{port}/api/v1/lineage  web UI on http://{host}:{port}/  store: {shown}",
              highlight=False)
    if token:
        err.print("[yellow]note:[/] --token is visible to other users in `ps`; "
                  "prefer OBS_LINEAGE_TOKEN or --token-file")
    if secret is None:
        err.print("[yellow]note:[/] no bearer token: any process that can reach the port can write "
                  "(set OBS_LINEAGE_TOKEN or --token-file)", highlight=False)
    if host not in ("127.0.0.1", "localhost", "::1") and not secret:
        err.print("[yellow]warning:[/] listening beyond loopback without --token / OBS_LINEAGE_TOKEN")
    if wildcard and not (allowed_host or resolve_list(None, ALLOWED_HOSTS_ENV)):
        err.print(f"[yellow]note:[/] only loopback Host names are served; add the names clients use with "
                  f"--allowed-host or {ALLOWED_HOSTS_ENV}", highlight=False)
    app = create_app(db_url=url, token=secret, max_body_bytes=body_cap, allowed_hosts=hosts)
    uvicorn.run(app, host=host, port=port, log_level="info", log_config=log_config(), **uvicorn_options())


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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

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
            console=err.console(), disable=as_json or len(events) <= batch_size, transient=True,
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
def _nodes(title: str, items: list[dict[str, Any]], wide: bool, first: tuple[str, ...] = ()) -> None:
    """Nodes (with `distance`, `type`, and any `first` columns) under one namespace note."""
    names = render.Names(items, wide)
    cols = [*(Col(c) for c in first), Col("distance", "right"), Col("type"), Col("name", keep=True)]
    rows = [[*(str(i[c]) for c in first), str(i["distance"]), i["type"], names.name(i)] for i in items]
    render.table(title, cols, rows, wide=wide, note=names.note)


def _walk_command(upstream: bool) -> Callable[..., None]:
    direction = "upstream" if upstream else "downstream"

    def command(
        name: Annotated[str, typer.Argument(help="Dataset (or, with --job, job) name.")],
        namespace: NamespaceOption = None,
        depth: DepthOption = None,
        as_of: AsOfOption = None,
        run_id: RunOption = None,
        job: Annotated[bool, typer.Option("--job", metavar="", help="NAME is a job, not a dataset.")] = False,
        wide: WideOption = False,
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
        items = sorted([*result["jobs"], *result["datasets"]], key=lambda i: (i["distance"], i["type"], i["name"]))
        _nodes(f"{direction} of {render.node_label(root)}{when}", items, wide)

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
    depth: Annotated[int, typer.Option("--depth", "-d", min=1, help="Job hops to follow.")] = 25,
    as_of: AsOfOption = None,
    wide: WideOption = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lineage paths between two datasets; jobs show as job:NAME."""
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
    nodes = [n for found in result["paths"] for n in found]
    names = render.Names(nodes, wide)
    rows = [[str(number), str(sum(n["type"] == "job" for n in found)), " → ".join(names.label(n) for n in found)]
            for number, found in enumerate(result["paths"], start=1)]
    render.table(f"{result['count']} path(s)", [Col("#", "right"), Col("jobs", "right"), Col("path")], rows,
                 wide=wide, note=names.note)


@lineage_app.command("columns")
def columns_command(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    column: Annotated[str, typer.Argument(help="Column (field) name.")],
    namespace: NamespaceOption = None,
    downstream_: Annotated[bool, typer.Option(
        "--downstream", metavar="", help="Columns it feeds instead of its sources.")] = False,
    depth: DepthOption = None,
    as_of: AsOfOption = None,
    no_indirect: Annotated[bool, typer.Option(
        "--no-indirect", metavar="", help="Skip dataset-wide (filter/join) dependencies.")] = False,
    wide: WideOption = False,
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
    names = render.Names(result["columns"], wide)
    cols = [Col("distance", "right"), Col("dataset", keep=True), Col("field", keep=True), Col("jobs", keep=True),
            Col("transformations", drop_if_empty=True, optional=True),
            Col("indirect", drop_if_empty=True, optional=True)]
    rows = [[
        str(c["distance"]), names.name(c), c["field"] or "(whole dataset)",
        ", ".join(j["name"] for j in c["jobs"]),
        ", ".join(f"{t['type']}/{t['subtype']}" if t["subtype"] else t["type"] for t in c["transformations"]),
        "yes" if c["indirect"] else "",
    ] for c in result["columns"]]
    render.table(f"{result['direction']} columns of {name}.{column}", cols, rows, wide=wide, note=names.note)
    if result["origins"]:
        out.print("origins: " + ", ".join(f"{o['name']}.{o['field']}" for o in result["origins"]), highlight=False)


@lineage_app.command("impact")
def impact_command(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    namespace: NamespaceOption = None,
    as_of: AsOfOption = None,
    run_id: RunOption = None,
    wide: WideOption = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Blast radius: every downstream dataset, model and prediction."""
    result = _answer(db, as_json, lambda q, s: q.impact(s, name, namespace=namespace, as_of=as_of, run_id=run_id))
    if result is None:
        return
    counts = result["counts"]
    out.print(
        f"impact of {render.node_label(result['root'])}: "
        f"{counts['models']} model(s), {counts['predictions']} prediction set(s), "
        f"{counts['datasets']} other dataset(s), {counts['jobs']} job(s)",
        highlight=False,
    )
    items = [{**item, "category": group.rstrip("s"), "type": item.get("type", "job" if group == "jobs" else "dataset")}
             for group in ("models", "predictions", "datasets", "jobs") for item in result[group]]
    if items:
        _nodes(None, items, wide, first=("category",))


PARTITION_TAG = "dagster/partition"  # lineage.facets.PARTITION_TAG (a test checks)


def _partition_of(run_facets: dict[str, Any]) -> str | None:
    """`lineage.facets.partition_key(run_facets)`, the common case read here: a `tags` facet of plain string
    pairs. Importing lineage.facets builds its ~30 attrs facet classes (attrs too: ~0.05 s of `obs lineage history`),
    so only any other form (no partition tag, a malformed facet, nominalTime alone) goes to partition_key."""
    tags_facet = run_facets.get("tags")
    entries = tags_facet.get("tags") if isinstance(tags_facet, dict) else None
    if isinstance(entries, list) and all(
            isinstance(e, dict) and isinstance(e.get("key"), str) and isinstance(e.get("value"), str) for e in entries):
        tags = {e["key"]: e["value"] for e in entries if e["key"]}  # what TagsFacet.as_dict() keeps
        if tags.get(PARTITION_TAG):
            return tags[PARTITION_TAG]
    if "tags" not in run_facets and "nominalTime" not in run_facets:
        return None  # partition_key reads only these two facets
    from lineage.facets import partition_key

    return partition_key(run_facets)


@lineage_app.command("history")
def history_command(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    namespace: NamespaceOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Most recent runs to show.")] = 20,
    facet: Annotated[list[str] | None, typer.Option("--facet", show_default="all", help="Only these facets (repeatable).")] = None,
    wide: WideOption = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run history of a dataset with its partition and quality (and any other) facets per run."""
    result = _answer(db, as_json, lambda q, s: q.run_history(s, name, namespace=namespace, limit=limit, facets=facet))
    if result is None:
        return
    dataset = result["dataset"]
    cols = [Col("run", keep=True), Col("job"), Col("partition", keep=True, drop_if_empty=True),
            Col("roles", optional=True), Col("state"), Col("started (UTC)", keep=True),
            Col("ended (UTC)", keep=True, optional=True), Col("version", drop_if_empty=True, optional=True),
            Col("facets", optional=True)]
    rows = [[
        run["run_id"] if wide else run["run_id"][:8], run["job"]["name"], _partition_of(run.get("run_facets") or {}) or "",
        ",".join(run["roles"]), run["state"] or "", render.iso_seconds(run["started_at"]),
        render.iso_seconds(run["ended_at"]), (run["dataset_version"] or "")[: None if wide else 12],
        ", ".join(sorted({n for scope in run["facets"].values() for n in scope})),
    ] for run in result["runs"]]
    render.table(f"runs touching {dataset['name']} ({result['total_runs']} total)", cols, rows, wide=wide,
                 note=None if wide else f"namespace: {dataset['namespace']}")


@lineage_app.command("graph")
def graph_command(
    as_of: AsOfOption = None,
    run_id: RunOption = None,
    wide: WideOption = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The whole job/dataset graph, optionally as of a time or a run; jobs show as job:NAME."""
    result = _answer(db, as_json, lambda q, s: q.graph_as_of(s, as_of=as_of, run_id=run_id))
    if result is None:
        return
    when = f" as of {result['as_of']}" if result["as_of"] else ""
    nodes = {n["key"]: n for n in result["nodes"]}
    names = render.Names(nodes.values(), wide)

    def label(key: str) -> str:
        return names.label(nodes[key]) if key in nodes else key

    rows = [[label(e["from"]), label(e["to"]), render.iso_seconds(e["first_seen"])] for e in result["edges"]]
    render.table(f"{len(result['nodes'])} nodes, {len(result['edges'])} edges{when}",
                 [Col("from", keep=True), Col("to", keep=True), Col("first seen (UTC)", keep=True, optional=True)], rows, wide=wide,
                 note=names.note)


@lineage_app.command("datasets")
def datasets_command(
    search: Annotated[str | None, typer.Option(help="Only names containing this text.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
    wide: WideOption = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List stored datasets."""
    result = _answer(db, as_json, lambda q, s: q.list_datasets(s, search=search, limit=limit))
    if result is None:
        return
    single = len({i["namespace"] for i in result}) == 1 and not wide  # then said once, above the names
    render.table(f"{len(result)} dataset(s)", [*([] if single else [Col("namespace")]), Col("name", keep=True)],
                 [[*([] if single else [i["namespace"]]), i["name"]] for i in result], wide=wide,
                 note=f"namespace: {result[0]['namespace']}" if single else None)


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
    latest: bool = typer.Option(False, "--latest", metavar="", help="analyze the most recent recorded failure"),
    namespace: str | None = typer.Option(None, "--namespace", help="when the name is ambiguous"),
    column: str | None = typer.Option(None, "--column", help="focus on one column of the symptom"),
    as_json: JsonOption = False,
    db: DbOption = None,
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

"""`obs incidents list|show|ack|resolve`: incidents grouped from stored failures."""

from __future__ import annotations

import typer

from lineage import cli_render as render
from lineage.cli import DbOption, JsonOption, WideOption, _fail, _open_store, _print_json, out
from lineage.cli_render import Col

incidents_app = typer.Typer(
    name="incidents",
    help="Incidents: the failures one fault causes, grouped, with ranked causes and a lifecycle.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(incidents_app, name="incidents")


def _cause(incident: dict) -> str:
    cause = incident.get("cause") or {}
    column = f".{cause['column']}" if cause.get("column") else ""
    return f"{cause.get('asset', '?')}{column} {cause.get('kind', '')}".strip()


def _minute(iso: str | None) -> str:
    """`2026-03-05 02:14` (UTC): a table reads times to the minute; --json keeps the full ISO time."""
    return (iso or "")[:16].replace("T", " ")


@incidents_app.command("list")
def list_(
    status: str | None = typer.Option(None, "--status", help="open, acknowledged or resolved (default: all)"),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="At most this many."),
    wide: WideOption = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Newest first; syncs with what the store received since the last look."""
    from lineage.analysis import incidents

    if status not in (None, "open", "acknowledged", "resolved"):
        raise _fail(f"unknown status {status!r}", "use --status open, acknowledged or resolved", 2)
    with _open_store(db) as store:
        incidents.sync(store)
        found = incidents.list_incidents(store, status=status, limit=limit)
    if as_json:
        _print_json({"incidents": found})
        return
    if not found:
        out.print("no incidents" + (f" with status {status}" if status else "") + " in the store", highlight=False)
        return
    cols = [Col("id", "right"), Col("status"), Col("severity", optional=True), Col("cause", keep=True),
            Col("partitions", keep=True), Col("affected", "right", optional=True), Col("last seen (UTC)")]
    rows = []
    for i in found:
        parts = i["partitions"]
        span = parts[0] if len(parts) == 1 else (f"{parts[0]}…{parts[-1]}" if parts else "")
        rows.append([str(i["id"]), i["status"], i["severity"], _cause(i), span,
                     str(len({a["dataset"] for a in i["affected"]})), _minute(i["last_seen"])])
    render.table(None, cols, rows, wide=wide)
    if out.console().is_terminal:  # a pipe gets the rows only
        out.print("[dim]next: obs incidents show ID[/]", highlight=False)


@incidents_app.command("show")
def show(incident_id: int = typer.Argument(..., min=1), as_json: JsonOption = False, db: DbOption = None) -> None:
    """One incident: cause, ranked causes with evidence, affected checks, timeline."""
    from lineage.analysis import incidents

    with _open_store(db) as store:
        incidents.sync(store)
        try:
            found = incidents.get_incident(store, incident_id)
        except incidents.IncidentError as exc:
            raise _fail(str(exc), None, 1) from None
    if as_json:
        _print_json(found)
        return
    out.print(f"[bold]Incident {found['id']}[/] {found['status']} · {found['severity']} · {found['title']}",
              highlight=False)
    out.print(f"first seen {found['first_seen']}, last seen {found['last_seen']}", highlight=False)
    for rank, c in enumerate(found["causes"] or [found["cause"]], 1):
        path = " ← ".join(reversed(c.get("column_path") or c.get("path") or []))
        out.print(f"{rank}. [{c.get('score') or 0:.2f}] {_cause({'cause': c})}  {path}", highlight=False)
    for item in found["affected"]:
        failing = [k for k, v in item["checks"].items() if v == "failing"]
        where = f" [{item['partition']}]" if item.get("partition") else ""
        out.print(f"   {item['dataset']}{where}: {', '.join(failing) or 'passing again'}", highlight=False)
    for step in found["timeline"][-10:]:
        out.print(f"[dim]{step['time']} {step['kind']}[/]", highlight=False)


def _transition(action: str, incident_id: int, by: str | None, as_json: bool, db: str | None) -> None:
    from lineage.analysis import incidents

    with _open_store(db) as store:
        try:
            found = getattr(incidents, action)(store, incident_id, by=by)
        except incidents.IncidentError as exc:
            raise _fail(str(exc), None, 1) from None
    if as_json:
        _print_json(found)
    else:
        out.print(f"incident {found['id']} is now {found['status']}", highlight=False)


@incidents_app.command("ack")
def ack(incident_id: int = typer.Argument(..., min=1), by: str | None = typer.Option(None, "--by"),
        as_json: JsonOption = False, db: DbOption = None) -> None:
    """Acknowledge: someone is on it (it still resolves on its own when the checks pass)."""
    _transition("acknowledge", incident_id, by, as_json, db)


@incidents_app.command("resolve")
def resolve(incident_id: int = typer.Argument(..., min=1), by: str | None = typer.Option(None, "--by"),
            as_json: JsonOption = False, db: DbOption = None) -> None:
    """Resolve by hand; a new failure with the same cause then opens a new incident."""
    _transition("resolve", incident_id, by, as_json, db)

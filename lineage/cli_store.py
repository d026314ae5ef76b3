"""`obs store backup|restore|prune|quarantine|release|quarantined|audit`: operating the lineage store.

Every change is recorded in the store's audit log (`obs store audit`); see ``lineage.store.retention``
for what each operation guarantees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lineage.cli import DbOption, JsonOption, _fail, _open_store, _print_json, out

store_app = typer.Typer(name="store", help="Back up, restore, prune and quarantine the lineage store.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")


def _operation(fn, *args, **kwargs):
    from lineage.store.retention import StoreOperationError

    try:
        return fn(*args, **kwargs)
    except StoreOperationError as exc:
        raise _fail(str(exc), code=2) from None


@store_app.command("backup", help="Copy the SQLite store to FILE (consistent while writers run; integrity-checked).")
def backup_cmd(target: Annotated[Path, typer.Argument(help="Backup file to write.")], db: DbOption = None,
               force: Annotated[bool, typer.Option("--force", help="Overwrite FILE.")] = False,
               as_json: JsonOption = False) -> None:
    from lineage.store import retention

    with _open_store(db) as store:
        result = _operation(retention.backup, store, target, overwrite=force)
    if as_json:
        _print_json(result)
    else:
        out.print(f"backed up {result['source']} to {result['target']} ({result['bytes']:,} bytes, integrity ok)",
                  highlight=False)


@store_app.command("restore", help="Replace the store's content by a backup FILE. Stop the server and emitters first.")
def restore_cmd(backup_file: Annotated[Path, typer.Argument(help="A file written by `obs store backup`.")],
                db: DbOption = None, yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
                as_json: JsonOption = False) -> None:
    from lineage.store import retention

    if not yes and not typer.confirm(f"Replace the lineage store's content with {backup_file}?"):
        raise typer.Exit(1)
    with _open_store(db) as store:
        result = _operation(retention.restore, store, backup_file)
    if as_json:
        _print_json(result)
    else:
        out.print(f"restored {result['target']} from {result['restored_from']} ({result['events']} events)",
                  highlight=False)


@store_app.command("prune", help="Delete events older than N days, keeping the current graph; audited.")
def prune_cmd(older_than: Annotated[float, typer.Option("--older-than", min=0, help="Age in days (eventTime).")],
              db: DbOption = None,
              dry_run: Annotated[bool, typer.Option("--dry-run", help="Count only; change nothing.")] = False,
              as_json: JsonOption = False) -> None:
    from lineage.store import retention

    with _open_store(db) as store:
        result = _operation(retention.prune, store, older_than, dry_run=dry_run).as_dict()
    if as_json:
        _print_json(result)
        return
    verb = "would delete" if dry_run else "deleted"
    out.print(f"{verb} {result['events_deleted']} event(s) older than {result['cutoff']} "
              f"({result['derived_rows_deleted']} derived rows); kept {result['kept_for_graph']} that hold the "
              f"current graph" + ("" if dry_run else f"; audit record {result['audit_id']}"), highlight=False)


@store_app.command("quarantine", help="Hide one stored event from every query; it stays in the audit trail.")
def quarantine_cmd(event_id: Annotated[int, typer.Argument(help="Stored event id.")],
                   reason: Annotated[str, typer.Option("--reason", help="Why (kept with the event).")],
                   db: DbOption = None, as_json: JsonOption = False) -> None:
    from lineage.store import retention

    with _open_store(db) as store:
        result = _operation(retention.quarantine, store, event_id, reason)
    if as_json:
        _print_json(result)
    else:
        out.print(f"quarantined event {event_id} ({result['job']}, {result['event_type']}); "
                  f"{result['derived_rows_hidden']} derived rows hidden; `obs store release {event_id}` undoes it",
                  highlight=False)


@store_app.command("release", help="Take an event out of quarantine (stored and derived again).")
def release_cmd(event_id: Annotated[int, typer.Argument(help="Quarantined event id.")], db: DbOption = None,
                as_json: JsonOption = False) -> None:
    from lineage.store import retention

    with _open_store(db) as store:
        result = _operation(retention.release, store, event_id)
    if as_json:
        _print_json(result)
    else:
        out.print(f"released event {event_id}: stored again as {result['new_event_id']}", highlight=False)


@store_app.command("quarantined", help="List quarantined events.")
def quarantined_cmd(db: DbOption = None, as_json: JsonOption = False) -> None:
    from lineage.store import retention

    with _open_store(db) as store:
        rows = retention.quarantined_events(store)
    if as_json:
        _print_json(rows)
        return
    for r in rows:
        out.print(f"{r['event_id']}  {r['quarantined_at']}  {r['actor']}  {r['reason']}", highlight=False)
    if not rows:
        out.print("no quarantined events")


@store_app.command("audit", help="The store's audit log: prunes, quarantines, releases, backups, restores.")
def audit_cmd(db: DbOption = None, limit: Annotated[int, typer.Option(min=1)] = 50, as_json: JsonOption = False) -> None:
    from lineage.store import retention

    with _open_store(db) as store:
        rows = retention.audit_log(store, limit)
    if as_json:
        _print_json(rows)
        return
    for r in rows:
        detail = ", ".join(f"{k}={v}" for k, v in r["detail"].items() if k != "payload")
        out.print(f"{r['id']}  {r['at']}  {r['action']:<10} {r['actor'] or ''}  "
                  f"{'event ' + str(r['event_id']) + '  ' if r['event_id'] else ''}{detail}", highlight=False)

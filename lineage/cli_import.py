"""`obs import marquez`: move a Marquez installation's history into the lineage store.

Reads the raw OpenLineage events Marquez keeps (its `lineage_events` table, column `event` jsonb),
oldest first, streamed in batches, and ingests them the lenient way (`LineageStore.ingest`).
Idempotent: the store identifies an event by the hash of its canonical JSON, so a re-run (or an
overlapping one) stores nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from lineage.cli import JsonOption, _fail, _open_store, _print_json, err, out

import_app = typer.Typer(name="import", help="Import lineage history from another backend.", no_args_is_help=True)

MarquezDb = Annotated[
    str,
    typer.Option(
        "--db", help="SQLAlchemy URL of Marquez's PostgreSQL database, e.g. postgresql://marquez@host:5432/marquez"
    ),
]
StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="SQLAlchemy URL of the lineage store to fill (default: $OBS_LINEAGE_DB, else $DAGSTER_HOME/lineage.db)"),
]


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


def marquez_events(url: str, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """Batches of the events in Marquez's `lineage_events`, oldest first (server-side cursor)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; the project ships psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    engine = create_engine(parsed)
    try:
        with engine.connect() as conn:
            rows = conn.execution_options(stream_results=True, yield_per=batch_size).execute(
                text("SELECT event FROM lineage_events ORDER BY event_time, created_at NULLS FIRST")
            )
            batch: list[dict[str, Any]] = []
            for (event,) in rows:
                batch.append(event if isinstance(event, dict) else json.loads(event))
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
            if batch:
                yield batch
    finally:
        engine.dispose()


@import_app.command("marquez", help="Ingest every event of a Marquez database's lineage_events table (idempotent).")
def import_marquez(
    db: MarquezDb,
    store_url: StoreOption = None,
    as_json: JsonOption = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per transaction.")] = 500,
) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    totals: dict[str, Any] = {"read": 0, "stored": 0, "duplicates": 0, "warnings": 0, "rejected": []}
    with _open_store(store_url) as store:
        try:
            for batch in marquez_events(db, batch_size):
                result = store.ingest(batch, strict=False)
                offset = totals["read"]
                totals["read"] += result.received
                totals["stored"] += result.stored
                totals["duplicates"] += result.duplicates
                totals["warnings"] += result.warnings
                totals["rejected"] += [{**r, "index": r["index"] + offset} for r in result.rejected]
        except SQLAlchemyError as exc:
            raise _fail(
                f"cannot read Marquez's lineage_events at {db}: {type(exc).__name__}",
                "check --db (a PostgreSQL URL of the Marquez database) and that the table exists",
            ) from None
        totals["store"] = store.url
    _report(totals, as_json)


def _report(totals: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json(totals)
        return
    for r in totals["rejected"]:
        err.print(f"[bold red]not stored:[/] event #{r['index']}: {r['path']}: {r['message']}", highlight=False)
    out.print(
        f"[green]imported[/] {totals['stored']} new event(s) from Marquez ({totals['duplicates']} already stored, "
        f"{totals['read']} read, {totals['warnings']} schema warning(s)) into {totals['store']}",
        highlight=False,
    )

"""`obs outbox status|flush`: the local lineage outbox (events not yet delivered to the backend)."""

from __future__ import annotations

import datetime as dt
import json

import typer
from rich.console import Console


def _fail(exc: Exception, as_json: bool) -> None:
    """One readable line (the outbox file, what is wrong, what to do), no traceback; exit code 2."""
    from lineage.emission.redact import redact

    message = redact(exc)
    if as_json:
        print(json.dumps({"error": {"message": message, "next": None, "exit_code": 2}}, indent=2))  # as `obs lineage`
    else:
        Console(stderr=True).print(f"[red]error[/red]: {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def status(as_json: bool = typer.Option(False, "--json", metavar="", help="Print JSON.")) -> None:
    """Backlog size, oldest pending event's age, dead events, whether the outbox can be written and
    the last delivery error. Exit code 2 when the outbox cannot be read (corrupt file...)."""
    from lineage.emission.outbox import Outbox, OutboxError

    try:
        st = Outbox().status().as_dict()
    except OutboxError as exc:
        _fail(exc, as_json)
    st.update(_spool_status())
    for key in ("last_delivery_at", "last_error_at", "next_attempt_at"):  # epoch seconds → ISO-8601 UTC, as the text shows
        st[key] = _iso(st[key])
    if as_json:
        print(json.dumps(st, indent=2))
    else:
        _print_status(st)


def _spool_status() -> dict:
    from lineage.emission.redact import redact
    from lineage.emission.spool import Spool

    spool = Spool.from_env()
    st: dict = {"spool": redact(spool.root) if spool else None}
    try:
        st["spool_files"] = spool.backlog() if spool else None
    except OSError as exc:
        st["spool_files"], st["spool_error"] = None, redact(f"{type(exc).__name__}: {exc}")
    return st


def _print_status(st: dict) -> None:
    out = Console()
    out.print(f"Outbox: {st['path']}")
    if not st["writable"]:
        out.print(f"[red]Not writable[/red]: {st['problem']}", highlight=False)
    out.print(f"Pending: [bold]{st['pending']}[/bold]" + (
        f" (oldest {st['oldest_pending_age_s']:.0f}s old)" if st["oldest_pending_age_s"] is not None else ""))
    out.print(f"Delivered (retained): {st['delivered']}   Handed over to the spool: {st['spooled']}   "
              f"Dead: {st['dead']}")
    if st["spool"]:
        waiting = st["spool_files"] if st["spool_files"] is not None else f"unreadable ({st['spool_error']})"
        out.print(f"Spool: {st['spool']} — files waiting: {waiting}")
    if st["backend"]:
        out.print(f"Backend: {st['backend']}")
    for label, key in (("Last delivery", "last_delivery_at"), ("Last error at", "last_error_at")):
        if st[key]:
            out.print(f"{label}: {st[key]}")
    if st["last_error"]:
        out.print(f"[red]Last error[/red]: {st['last_error']}")


def flush(
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print JSON."),
    timeout: float | None = typer.Option(None, "--timeout", min=0.1, help="Stop after this many seconds."),
    retry_dead: bool = typer.Option(False, "--retry-dead", metavar="", help="Put rejected (dead) events back first."),
) -> None:
    """Deliver the backlog now, in order. Exit code 1 when events remain undelivered."""
    from lineage.emission.outbox import OutboxError

    try:
        result = _deliver(timeout, retry_dead)
    except OutboxError as exc:
        _fail(exc, as_json)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        out = Console()
        out.print(f"Delivered {result['delivered']}, rejected {result['dead']}, remaining {result['remaining']}")
        if result.get("skipped") == "lease":
            out.print("Another process is delivering right now; try again shortly.")
        if result.get("error"):
            out.print(f"[red]Delivery stopped[/red]: {result['error']}")
    raise typer.Exit(1 if result["remaining"] else 0)


def _deliver(timeout: float | None, retry_dead: bool) -> dict:
    """One flush of the outbox; a backend that cannot be built is reported in the result, not raised
    (the events stay in the outbox). An unreadable outbox raises OutboxError."""
    from lineage.emission.emitter import LineageEmitter
    from lineage.emission.outbox import OutboxError
    from lineage.emission.redact import redact

    emitter = LineageEmitter()
    try:
        requeued = emitter.outbox.requeue_dead() if retry_dead else 0
        try:
            result = emitter.flush(budget_s=timeout).as_dict()
        except OutboxError:
            raise
        except Exception as exc:
            result = {"delivered": 0, "dead": 0, "remaining": emitter.outbox.backlog(), "skipped": None,
                      "error": redact(f"cannot build the lineage backend: {type(exc).__name__}: {exc}")}
        result["requeued"] = requeued
        result["backend"] = emitter.status().backend
        return result
    finally:
        emitter.close()


def register(app: typer.Typer) -> None:
    outbox_app = typer.Typer(
        name="outbox",
        help="The local lineage outbox: OpenLineage events waiting for delivery.",
        no_args_is_help=True,
    )
    outbox_app.command("status")(status)
    outbox_app.command("flush")(flush)
    app.add_typer(outbox_app)

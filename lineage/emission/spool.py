"""A shared hand-over folder for lineage events that a short-lived worker could not deliver.

The outbox is a local SQLite file: on a pod or a Celery worker that goes away, whatever its inline
delivery attempt left behind would go with it, since the flush sensor drains only its own machine's
outbox. With ``$OBS_LINEAGE_SPOOL`` set to a folder every process can reach (NFS, or ``s3://`` /
``gs://`` / ``az://`` through universal-pathlib, like ``OBS_DATA_DIR``), a worker moves its
undelivered events there as one JSON-lines file per hand-over, and the process that flushes (the
daemon's ``outbox_flush_sensor``, ``obs outbox flush``) takes the files into its own outbox, in file
name order, and delivers them.

Nothing is lost on the way: a file is written under a temporary name and renamed (readers list only
finished ``*.jsonl`` files), the worker marks its rows handed over only after the file is written,
and the collector deletes a file only after its events are committed to the local outbox. A crash
between the two steps delivers an event twice, which the lineage store ignores (events are keyed by
content hash).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a spool is made: `obs outbox status` without a spool skips fsspec
    from upath import UPath

log = logging.getLogger(__name__)

SPOOL_ENV = "OBS_LINEAGE_SPOOL"
SUFFIX = ".jsonl"
TAKING = ".taking-"
CLAIM_TIMEOUT_S = 600.0


class SpoolError(RuntimeError):
    """A hand-over file that cannot be read back (the file is kept, renamed ``*.bad``)."""


class Spool:
    def __init__(self, location: str | os.PathLike[str]) -> None:
        from upath import UPath

        self.root = UPath(location)

    @classmethod
    def from_env(cls, explicit: str | None = None) -> Spool | None:
        location = explicit or os.environ.get(SPOOL_ENV)
        return cls(location) if location else None

    def __repr__(self) -> str:
        return f"Spool({str(self.root)!r})"

    def put(self, events: Sequence[dict[str, Any]]) -> UPath:
        """Write one hand-over file; it becomes visible to collectors only once complete."""
        self.root.mkdir(parents=True, exist_ok=True)
        # Time first so collectors replay hand-overs roughly in the order they happened.
        name = f"{time.time_ns():020d}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        body = "".join(json.dumps(e, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n" for e in events)
        part = self.root / f"{name}.part"
        final = self.root / f"{name}{SUFFIX}"
        part.write_text(body)
        part.rename(final)
        return final

    def files(self) -> list[UPath]:
        """Finished hand-over files, oldest first."""
        return [p for p in self._entries() if p.name.endswith(SUFFIX)]

    def backlog(self) -> int:
        return len(self.files())

    def read(self, path: UPath) -> list[dict[str, Any]]:
        try:
            return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        except (ValueError, UnicodeDecodeError) as exc:
            raise SpoolError(f"{path}: not JSON lines ({exc})") from exc

    def collect(self, append: Callable[[list[dict[str, Any]]], Any]) -> int:
        """Move hand-over files into ``append`` (the local outbox's ``append``); returns the events moved.

        A file is claimed by renaming it first, so two collectors never both take it; a claim whose
        collector died (older than ``CLAIM_TIMEOUT_S``) is taken over.
        """
        entries = self._entries()  # one listing (a remote call on object storage)
        moved = 0
        for path in [*_stale_claims(entries), *(p for p in entries if p.name.endswith(SUFFIX))]:
            claimed = path.with_name(f"{path.name.split(TAKING)[0]}{TAKING}{time.time_ns()}")
            try:
                path.rename(claimed)
            except FileNotFoundError:
                continue  # another collector took it
            try:
                events = self.read(claimed)
            except SpoolError as exc:
                # Keep the bytes for a person to look at; never delete what could not be read.
                bad = claimed.with_name(claimed.name.split(TAKING)[0] + ".bad")
                log.error("lineage spool: %s; kept as %s", exc, bad.name)
                claimed.rename(bad)
                continue
            if events:
                append(events)
            claimed.unlink()
            moved += len(events)
        return moved

    def _entries(self) -> list[UPath]:
        if not self.root.exists():
            return []
        return sorted(self.root.iterdir(), key=lambda p: p.name)


def _stale_claims(entries: list[UPath]) -> list[UPath]:
    """Claims older than ``CLAIM_TIMEOUT_S``: their collector died before finishing."""
    now = time.time_ns()
    stale = []
    for path in entries:
        if TAKING not in path.name:
            continue
        try:
            claimed_at = int(path.name.rsplit(TAKING, 1)[1])
        except ValueError:
            continue
        if now - claimed_at > CLAIM_TIMEOUT_S * 1e9:
            stale.append(path)
    return stale

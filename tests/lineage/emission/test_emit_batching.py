"""What makes an emit cheap without changing what is stored: a deferred START delivered with the next emit
(or by a timer), the emitter's own dicts delivered without parsing them back, the collector paused, and
the retention purge found through its index."""

from __future__ import annotations

import gc
import json
import sqlite3
import threading
import time

from openlineage.client import event_v2

from lineage.emission import events as ev
from lineage.emission.emitter import LineageEmitter
from lineage.emission.outbox import Outbox
from lineage.emission.transports import CallableTransport

from tests.lineage.emission.test_emission import sample_event

WAIT_S = 10.0  # upper bound for a timer thread on a loaded machine


class Recorder:
    """A real transport's callable: every batch it was sent, as sent."""

    def __init__(self) -> None:
        self.batches: list[list[dict]] = []
        self.lock = threading.Lock()

    def __call__(self, batch: list[dict]) -> None:
        with self.lock:
            self.batches.append(list(batch))

    @property
    def types(self) -> list[list[str]]:
        return [[e["eventType"] for e in batch] for batch in self.batches]


def _emitter(tmp_path, recorder: Recorder) -> LineageEmitter:
    return LineageEmitter(outbox_path=tmp_path / "outbox.db", transport=CallableTransport.of(recorder), budget_s=5.0)


def _wait(condition, timeout=WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_a_deferred_start_is_stored_at_once_and_sent_with_the_complete(tmp_path):
    recorder = Recorder()
    emitter = _emitter(tmp_path, recorder)
    run_id = "0190e0c8-2d4e-7d8e-8f00-00000000000a"
    assert emitter.emit(sample_event(run_id, event_v2.RunState.START), defer_s=60.0) is None
    assert emitter.outbox.status().pending == 1 and recorder.batches == []  # durable, not yet sent
    result = emitter.emit(sample_event(run_id))
    assert result.delivered == 2 and recorder.types == [["START", "COMPLETE"]]  # one batch: one backend transaction
    assert emitter.outbox.status().pending == 0 and emitter._timer is None  # the timer was cancelled
    emitter.close()


def test_a_deferred_start_alone_is_delivered_by_the_timer(tmp_path):
    recorder = Recorder()
    emitter = _emitter(tmp_path, recorder)
    emitter.emit(sample_event(event_type=event_v2.RunState.START), defer_s=0.05)
    assert _wait(lambda: recorder.types == [["START"]])
    assert _wait(lambda: emitter.outbox.status().pending == 0)
    emitter.close()


def test_closing_the_emitter_delivers_what_was_deferred(tmp_path):
    recorder = Recorder()
    emitter = _emitter(tmp_path, recorder)
    emitter.emit(sample_event(event_type=event_v2.RunState.START), defer_s=60.0)
    emitter.close()
    assert recorder.types == [["START"]] and Outbox(tmp_path / "outbox.db").status().pending == 0


def test_delivered_dicts_equal_the_stored_events(tmp_path):
    """The emitter's own dicts are sent without parsing the outbox row back: they are exactly its JSON."""
    recorder = Recorder()
    emitter = _emitter(tmp_path, recorder)
    events = [sample_event(event_type=event_v2.RunState.START), sample_event()]
    emitter.emit(*events)
    stored = [json.loads(row.payload) for row in emitter.outbox.rows()]
    assert recorder.batches == [stored] and stored == [ev.to_dict(e) for e in events]
    assert emitter.outbox._recent == {}  # kept only until the delivery attempt
    emitter.close()


def test_caller_dicts_and_redeliveries_are_read_from_the_outbox(tmp_path):
    recorder = Recorder()
    emitter = _emitter(tmp_path, recorder)
    mine = ev.to_dict(sample_event())
    emitter.emit(mine)
    assert recorder.batches[0][0] == mine and recorder.batches[0][0] is not mine  # parsed from the stored row
    emitter.close()


def test_an_emit_runs_with_the_collector_paused(tmp_path):
    seen = []
    emitter = LineageEmitter(outbox_path=tmp_path / "outbox.db", budget_s=5.0,
                             transport=CallableTransport.of(lambda batch: seen.append(gc.isenabled())))
    emitter.emit(sample_event())
    assert seen == [False] and gc.isenabled()
    emitter.close()


def test_the_retention_purge_uses_its_index_also_on_an_older_outbox(tmp_path):
    path = tmp_path / "outbox.db"
    Outbox(path)
    with sqlite3.connect(path) as conn:  # an outbox made before the index existed
        conn.execute("DROP INDEX outbox_state_delivered")
    outbox = Outbox(path)
    ids = outbox.append([ev.to_dict(sample_event()) for _ in range(3)])
    outbox.mark_delivered(ids[:2])
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE outbox SET delivered_at = 0 WHERE id = ?", (ids[0],))  # long expired
        plan = conn.execute("EXPLAIN QUERY PLAN DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < 5"
                            ).fetchall()
    assert "outbox_state_delivered" in str(plan)
    outbox.mark_delivered(ids[2:])
    assert [row.id for row in outbox.rows()] == ids[1:]  # the expired row purged, the others kept


def test_a_deferred_start_is_never_lost_when_the_process_stops_first(tmp_path):
    """A deferred START not yet delivered is in the outbox: another emitter (the sensor's) delivers it."""
    first = Recorder()
    emitter = _emitter(tmp_path, first)
    emitter.emit(sample_event(event_type=event_v2.RunState.START), defer_s=60.0)
    emitter._cancel_scheduled()  # as if the process had exited before the timer ran
    later = Recorder()
    result = LineageEmitter(outbox_path=tmp_path / "outbox.db", transport=CallableTransport.of(later)).flush()
    assert result.delivered == 1 and later.types == [["START"]] and first.batches == []

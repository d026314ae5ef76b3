"""``LineageEmitter.deferred_held``: a START waiting for its timer is not delivered alone while the COMPLETE
that will carry it is built, and is still delivered when that build fails (nothing left waiting)."""

from __future__ import annotations

import time

from openlineage.client import event_v2

from tests.lineage.emission.test_emission import sample_event
from tests.lineage.emission.test_emit_batching import Recorder, _emitter, _wait

RUN_ID = "0190e0c8-2d4e-7d8e-8f00-00000000000b"


def test_a_held_start_goes_in_one_batch_with_the_complete_even_past_its_delay(tmp_path):
    recorder = Recorder()
    emitter = _emitter(tmp_path, recorder)
    emitter.emit(sample_event(RUN_ID, event_v2.RunState.START), defer_s=0.2)
    with emitter.deferred_held():
        time.sleep(0.5)  # longer than the delay: an unheld timer would have sent the START alone
        assert recorder.batches == [] and emitter.outbox.status().pending == 1
        result = emitter.emit(sample_event(RUN_ID))
    assert result.delivered == 2 and recorder.types == [["START", "COMPLETE"]]
    assert emitter._timer is None and emitter.outbox.status().pending == 0
    emitter.close()


def test_a_held_start_is_delivered_when_no_event_follows(tmp_path):
    recorder = Recorder()
    emitter = _emitter(tmp_path, recorder)
    emitter.emit(sample_event(RUN_ID, event_v2.RunState.START), defer_s=60.0)
    try:
        with emitter.deferred_held():
            raise RuntimeError("the COMPLETE could not be built")
    except RuntimeError:
        pass
    assert _wait(lambda: recorder.types == [["START"]])  # re-scheduled at once, not after 60 s
    assert _wait(lambda: emitter.outbox.status().pending == 0)
    emitter.close()


def test_holding_without_anything_deferred_schedules_nothing(tmp_path):
    recorder = Recorder()
    emitter = _emitter(tmp_path, recorder)
    with emitter.deferred_held():
        pass
    assert emitter._timer is None and recorder.batches == []
    emitter.close()

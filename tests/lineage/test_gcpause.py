"""One collector pause for every caller: nested and concurrent pauses end with the last one, a caller's own
choice to keep the collector off is kept, and overlapping pauses still collect the young generations."""

from __future__ import annotations

import gc
import threading

import lineage.gcpause as gcpause
from lineage.gcpause import gc_paused


def test_pauses_nest_and_restore_the_collector():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still runs
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_overlapping_pauses_of_two_threads_end_with_the_last_one():
    inside, release = threading.Event(), threading.Event()

    def other():
        with gc_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with gc_paused():
        thread.start()
        assert inside.wait(10)
    assert not gc.isenabled()  # this pause ended first: the other thread's still holds
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_pause_ending_under_overlap_collects_the_young_generations(monkeypatch):
    monkeypatch.setattr(gcpause, "YOUNG_BOUND", 0)
    collected = []
    monkeypatch.setattr(gcpause.gc, "collect", lambda generation=2: collected.append(generation))
    with gc_paused():
        with gc_paused():
            junk = [[] for _ in range(1000)]
        assert collected == [1] and junk
    assert gc.isenabled()

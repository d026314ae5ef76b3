"""The cyclic garbage collector paused while a burst of allocation runs: one pause shared by every caller.

Parsing and storing an ingest batch, building and delivering an event, answering a cold RCA question and
merging a drift window each allocate tens to hundreds of thousands of small acyclic containers. Each burst
of 700 allocations triggers a collection, and the older generations' collections re-scan the whole heap of
the process (Dagster, pandas, everything already built): a fifth to a third of those paths' CPU. Reference
counting still frees everything at once; only cycles wait until the pause ends.

Nested and concurrent pauses (an emission delivering through an in-process store, two ingest threads) end
with the last one, which restores the collector's previous state: a caller that had turned it off keeps it
off. Under constant overlap a pause could last long: past ``YOUNG_BOUND`` allocations, a pause that ends
while others go on collects the young generations (cycles stay bounded; the old heap is not re-scanned).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_BOUND = 200_000

_lock = threading.Lock()
_state = {"pauses": 0, "was_enabled": False}


@contextmanager
def gc_paused() -> Iterator[None]:
    with _lock:
        if _state["pauses"] == 0:
            _state["was_enabled"] = gc.isenabled()
            gc.disable()
        _state["pauses"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["pauses"] -= 1
            if _state["pauses"] == 0 and _state["was_enabled"]:
                gc.enable()
            elif _state["pauses"] and gc.get_count()[0] > YOUNG_BOUND:
                gc.collect(1)

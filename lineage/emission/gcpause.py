"""The cyclic garbage collector paused while one emission runs.

Building, encoding and delivering an event allocates tens of thousands of small acyclic containers
(facet dicts, lists of input fields; ~200k for a 3 MB column-lineage event). Each burst of 700
allocations triggers a collection, and the older generations' collections re-scan the whole heap of
the step process (Dagster, pandas, the frames' objects): about a third of a wide event's emission CPU.
Reference counting still frees everything at once; only cycles wait until the pause ends, when the
collector runs as usual again.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_state = {"pauses": 0, "was_enabled": False}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Collector off for the block; nested and concurrent pauses end with the last one, which restores
    the collector's previous state (a caller that had turned it off keeps it off)."""
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

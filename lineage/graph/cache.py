"""One in-memory `LineageGraph` per open store, created on first use.

The graph layer owns its cache (the store knows nothing of graphs): `graph_for(store)` returns the
same graph for the same store object for as long as that store lives.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from lineage.graph.model import LineageGraph

if TYPE_CHECKING:
    from lineage.store import LineageStore

_graphs: weakref.WeakKeyDictionary[LineageStore, LineageGraph] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def graph_for(store: LineageStore) -> LineageGraph:
    """The store's one graph; `graph.snapshot()` brings it up to date."""
    with _lock:
        graph = _graphs.get(store)
        if graph is None:
            graph = _graphs[store] = LineageGraph(store)
        return graph


def forget(store: LineageStore) -> None:
    """Drop the cached graph of `store` (the next `graph_for` rebuilds it from the store)."""
    with _lock:
        _graphs.pop(store, None)

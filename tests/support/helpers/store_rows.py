"""Row counts of a store's tables, for tests that check what was (not) stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from lineage.store import LineageStore
from lineage.store import tables as t


def count_rows(store: LineageStore, table: Any = t.events) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

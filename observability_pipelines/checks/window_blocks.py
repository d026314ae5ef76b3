"""Pre-merged blocks of a drift window, so a 30-partition window costs what a 7-partition one does.

Partitions are grouped by position (``ordinal // BLOCK_SIZE``, from the checked partition's ordinal and each
earlier one's distance to it). A group whose whole span lies inside the window is replaced by one block
record: its members' profiles merged per column (counts, null/inf counts and moments exactly, in member
order; a numeric column's merged CDF re-cut to ``BLOCK_POINTS`` quantiles, each of weight ``finite /
BLOCK_POINTS``, i.e. a sketched partition). The block is kept in the
:class:`~observability_pipelines.checks.drift_store.DriftStore` with its members and their run ids, and
reused while the window's members of that group are the same partitions of the same runs: a member
re-materialized, flagged as drifted or newly present changes the list and the block is rebuilt from the
members' profiles; a missing or torn block file is rebuilt too. The ends of the window, where it cuts a
group, stay single partitions.

Tolerance: the block's step-CDF is within ``1 / (2 * BLOCK_POINTS)`` of its members' merged CDF (the re-cut
rounds it to a multiple of ``1 / BLOCK_POINTS``), so a window's KS statistic moves by at most ``1/K`` (sketch
or kept-whole partition cut to ``K``) + ``1/(2 * BLOCK_POINTS)`` + ``1/(2 * MERGED_POINTS)`` = 0.00325 from the
exact one, within ``KS_TOLERANCE``; counts are exact (label order unchanged: a block is a contiguous run of
the window), moments within float rounding. A window with a numeric column of at most
``WINDOW_EXACT_LIMIT`` values is not blocked (it is compared exactly, as without blocks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from observability_pipelines.checks.profiles import (
    PROFILE_VERSION,
    WINDOW_EXACT_LIMIT,
    ColumnProfile,
    _levels,
    merge_counts,
    merge_m2,
    merged_cdf,
)

BLOCK_SIZE = 8  # partitions per group: a 7-partition window never holds a whole group (it stays as it was)
BLOCK_POINTS = 1000  # quantiles of a block's numeric column
BLOCK_VERSION = 1 + 100 * PROFILE_VERSION  # a block of another version (or of other profiles) is rebuilt


def block_groups(keys: Sequence[str], offsets: Mapping[str, int], anchor: int | None) -> list[tuple[int, list[str]]]:
    """``(group, members)`` of each group wholly inside the window, members in window order (most recent first).

    ``keys``: the window's members, most recent first; ``offsets[k]``: how many partitions before the checked
    one ``k`` is, minus one (consecutive partitions, flagged ones included); ``anchor``: the checked
    partition's ordinal. A wrong ordinal only costs rebuilt blocks, never a wrong window."""
    if anchor is None or not keys:
        return []
    newest, oldest = anchor - 1, anchor - 1 - offsets[keys[-1]]
    groups: dict[int, list[str]] = {}
    for key in keys:
        groups.setdefault((anchor - 1 - offsets[key]) // BLOCK_SIZE, []).append(key)
    return [(g, members) for g, members in groups.items()
            if g * BLOCK_SIZE >= oldest and (g + 1) * BLOCK_SIZE - 1 <= newest and len(members) > 1]


def block_name(group: int) -> str:
    return f"{BLOCK_SIZE}-{group}"


def members_list(members: Sequence[str], runs: Mapping[str, str]) -> list[list[str]]:
    return [[k, runs[k]] for k in members]


def block_matches(block: Mapping | None, members: list[list[str]], columns: Sequence[str]) -> bool:
    """The stored block merges exactly these members (same runs) for at least these columns."""
    return (isinstance(block, dict) and block.get("block_version") == BLOCK_VERSION
            and block.get("members") == members and set(columns) <= set(block.get("checked") or ()))


def block_record(records: Sequence[Mapping], members: list[list[str]], columns: Sequence[str]) -> dict | None:
    """The members' profile records merged into one record (a profile record plus ``block_version``,
    ``members`` and ``checked``); None when a column is in some members only or its kinds differ (the members
    are then used one by one)."""
    merged: dict[str, dict] = {}
    for column in columns:
        present = [r["columns"][column] for r in records if column in r["columns"]]
        if not present:
            continue  # in no member: absent from the block as from each of them
        profiles = [ColumnProfile.from_dict(c) for c in present]
        if len(present) < len(records) or len({p.kind for p in profiles}) > 1:
            return None
        merged[column] = block_column(profiles).to_dict()
    return {"version": PROFILE_VERSION, "block_version": BLOCK_VERSION, "members": members, "run_id": None,
            "checked": list(columns), "rows": sum(int(r["rows"]) for r in records),
            "frame_columns": list(merged), "columns": merged}


def block_column(profiles: Sequence[ColumnProfile], points: int = BLOCK_POINTS) -> ColumnProfile:
    """One column's profiles merged (see the module): what the window's merge would make of them, re-cut."""
    first = profiles[0]
    dtype = next((p.dtype for p in profiles if p.count > p.nulls), first.dtype)
    out = ColumnProfile(first.kind, sum(p.count for p in profiles), sum(p.nulls for p in profiles),
                        sum(p.infs for p in profiles), dtype=dtype)
    if first.kind != "numeric":
        out.counts = merge_counts(profiles)
        return out
    if all(p.counts or not p.finite for p in profiles):  # exact counts only when every member has them
        out.counts = merge_counts(profiles)
    _, out.mean, out.m2 = merge_m2(profiles)
    sketched = [p for p in profiles if len(p.quantiles)]
    if sketched and all(p.exact for p in sketched) and sum(len(p.quantiles) for p in sketched) <= points:
        out.quantiles, out.exact = np.sort(np.concatenate([p.quantiles for p in sketched])), True
    elif sketched:
        values, cdf = merged_cdf(sketched)
        out.quantiles = values[np.minimum(np.searchsorted(cdf, _levels(points)), len(values) - 1)]
    return out


def small_numeric_column(records: Sequence[Mapping], columns: Sequence[str] | None = None) -> bool:
    """Some numeric column of the window (among ``columns``, default all) holds at most ``WINDOW_EXACT_LIMIT``
    finite values: it is compared exactly from its members' values, so the window is not blocked."""
    finite: dict[str, int] = {}
    wanted = None if columns is None else set(columns)
    for record in records:
        for name, column in record["columns"].items():
            if column["kind"] == "numeric" and (wanted is None or name in wanted):
                finite[name] = (finite.get(name, 0) + column["count"] - column.get("nulls", 0)
                                - column.get("infs", 0))
    return any(n <= WINDOW_EXACT_LIMIT for n in finite.values())

"""Row counts against the change of independent source datasets on the same day.

Volume moves with the calendar (a quiet Sunday has a third fewer rows everywhere), so a dataset's
rows against its own history alone either miss small losses or call every weekend a fault. Source
datasets (no recorded inputs) do not inherit each other's faults; a dataset's deviation from its usual
size minus another source's deviation on the same day removes the calendar, and is judged against
the same difference on past partitions (robust z).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

from lineage.analysis.evidence import Evidence
from lineage.analysis.observations import DatasetSnapshot
from lineage.analysis.weights import WEIGHTS as W

Versions = tuple[DatasetSnapshot, Sequence[DatasetSnapshot]]  # (this version, its clean history)


def _logs(series: Sequence[DatasetSnapshot]) -> dict[str, float]:
    return {s.partition: math.log(s.row_count) for s in series if s.partition and s.row_count}


class DayLevels:
    """Per partition, each source's log rows minus its usual log rows (median of its clean history)."""

    def __init__(self, sources: Mapping[int, tuple[Sequence[DatasetSnapshot], Sequence[DatasetSnapshot]]]):
        self.devs: dict[int, dict[str, float]] = {}
        for dataset_id, (series, history) in sources.items():
            usual = [v for v in _logs(history).values()]
            if len(usual) >= W.volume_min_history:
                center = statistics.median(usual)
                self.devs[dataset_id] = {p: v - center for p, v in _logs(series).items()}

    def others(self, without: int) -> list[dict[str, float]]:
        return [d for i, d in self.devs.items() if i != without]


def relative_volume(dataset_id: int, snap: DatasetSnapshot, history: Sequence[DatasetSnapshot],
                    levels: DayLevels) -> list[Evidence] | None:
    """Volume evidence against every other source's change; ``None`` when too few sources are comparable.

    The dataset is unusual only if its rows moved against *each* other source beyond that pair's usual
    spread: one faulty source (or a noisy one) does not make the others look unusual."""
    usual = _logs(history)
    if snap.partition is None or not snap.row_count or len(usual) < W.volume_min_history:
        return None
    center = statistics.median(usual.values())
    now = math.log(snap.row_count) - center
    judged = [z for other in levels.others(dataset_id) if (z := _pair_z(now, usual, center, snap.partition, other))]
    if len(judged) < W.seasonal_min_sources:
        return None
    z, residual = min(judged, key=lambda x: abs(x[0]))
    if len({x[0] > 0 for x in judged}) > 1 or abs(z) <= W.relative_volume_z or abs(residual) <= W.relative_volume_min_change:
        return []
    kind = "row_loss" if residual < 0 else "duplicate_rows"
    detail = f"{int(snap.row_count)} rows, {math.expm1(residual):+.0%} against other sources' change this day"
    return [Evidence(kind, W.volume, detail, None, "volume", value=residual)]


def _pair_z(now: float, usual: Mapping[str, float], center: float, partition: str,
            other: Mapping[str, float]) -> tuple[float, float] | None:
    """(robust z, residual) of this dataset's deviation minus the other source's, against past partitions."""
    if partition not in other:
        return None
    past = [v - center - other[p] for p, v in usual.items() if p in other]
    if len(past) < W.volume_min_history:
        return None
    mid = statistics.median(past)
    spread = max(statistics.median(abs(r - mid) for r in past) * W.volume_mad_scale, W.relative_volume_min_spread)
    residual = now - other[partition] - mid
    return residual / spread, residual

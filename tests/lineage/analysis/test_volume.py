"""Row counts judged against other sources' change on the same day (lineage.analysis.volume).

Three sources share a weekly calendar (weekends have 40 % fewer rows everywhere) plus a little noise of
their own; the expected residual of a fault is the fault's own size, log(1 - loss), known in advance."""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pytest

from lineage.analysis.observations import DatasetSnapshot
from lineage.analysis.volume import DayLevels, relative_volume

DAYS = [(dt.date(2026, 3, 1) + dt.timedelta(days=i)).isoformat() for i in range(21)]
BASE = {1: 1000, 2: 400, 3: 2500}


def _calendar(day: str) -> float:
    return 0.6 if dt.date.fromisoformat(day).weekday() >= 5 else 1.0


def _series(dataset_id: int, factor: dict[str, float] | None = None, seed: int = 0) -> list[DatasetSnapshot]:
    rng = np.random.default_rng(dataset_id + seed)
    noise = rng.normal(0, 0.01, len(DAYS))
    factor = factor or {}
    return [DatasetSnapshot(dataset_id, day, dt.datetime.fromisoformat(day),
                            row_count=round(BASE[dataset_id] * _calendar(day) * math.exp(e) * factor.get(day, 1.0)))
            for day, e in zip(DAYS, noise)]


def _judge(dataset_id: int, series: dict[int, list[DatasetSnapshot]], day: str):
    history = {i: [s for s in snaps if s.partition < day] for i, snaps in series.items()}
    levels = DayLevels({i: (snaps, history[i]) for i, snaps in series.items()})
    [snap] = [s for s in series[dataset_id] if s.partition == day]
    return relative_volume(dataset_id, snap, history[dataset_id], levels)


def test_a_weekend_drop_shared_by_every_source_is_no_evidence() -> None:
    series = {i: _series(i) for i in BASE}
    saturday = next(d for d in DAYS[10:] if dt.date.fromisoformat(d).weekday() == 5)
    assert _judge(1, series, saturday) == []


@pytest.mark.parametrize(("factor", "kind"), [(0.7, "row_loss"), (1.25, "duplicate_rows")])
def test_a_change_of_one_source_alone_is_named_with_its_size(factor: float, kind: str) -> None:
    day = DAYS[17]
    series = {1: _series(1, {day: factor}), 2: _series(2), 3: _series(3)}
    [evidence] = _judge(1, series, day)
    assert evidence.kind == kind and evidence.source == "volume"
    assert evidence.value == pytest.approx(math.log(factor), abs=0.04)
    rows, percent = re.match(r"(\d+) rows, ([+-]\d+)% against other sources' change", evidence.detail).groups()
    assert int(rows) == next(s.row_count for s in series[1] if s.partition == day)
    assert int(percent) == pytest.approx(100 * (factor - 1), abs=4)


def test_the_unchanged_sources_beside_a_faulty_one_are_not_called_unusual() -> None:
    day = DAYS[17]
    series = {1: _series(1, {day: 0.5}), 2: _series(2), 3: _series(3)}
    assert _judge(2, series, day) == [] and _judge(3, series, day) == []


def test_too_few_comparable_sources_or_too_short_a_history_is_not_judged() -> None:
    day = DAYS[17]
    alone = {1: _series(1, {day: 0.5}), 2: _series(2)}  # one other source: fewer than seasonal_min_sources
    assert _judge(1, alone, day) is None
    early = {i: _series(i) for i in BASE}
    assert _judge(1, early, DAYS[1]) is None  # one earlier partition only

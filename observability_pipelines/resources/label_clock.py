"""When labels exist: a label of an application exists only once "now" passes its observation time.

Labels are stored with ``label_observed_ts`` (application time + the source's label delay). Every consumer
that uses labels (training, evaluation, label-based checks) asks this clock which have arrived. "Now" is the
real clock, or a simulated one for backfills and the demo (the run tag ``obs/label_now``, else
``$OBS_LABEL_NOW``; ISO 8601 UTC), so a backfill of last week does not see outcomes that cannot exist yet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd

NOW_TAG = "obs/label_now"  # run tag: the simulated now of a backfill (the demo sets it)
NOW_ENV = "OBS_LABEL_NOW"
OBSERVED = "label_observed_ts"


@dataclass(frozen=True)
class LabelArrival:
    """How many of a partition's labels exist at ``now``, and when the last one arrives."""

    now: pd.Timestamp
    arrived: int
    total: int
    complete_at: pd.Timestamp | None  # observation time of the partition's last label

    pending: int = 0  # labels whose observation time is still ahead (unreadable times are not pending)

    @property
    def complete(self) -> bool:
        """No label of the partition is still to come (an empty or unreadable frame has nothing to wait for)."""
        return self.pending == 0

    def describe(self) -> str:
        when = f"; all arrive by {self.complete_at:%Y-%m-%d %H:%M} UTC" if self.complete_at is not None else ""
        return f"{self.arrived} of {self.total} labels observed at {self.now:%Y-%m-%d %H:%M} UTC{when}"


def parse_now(value: str | None) -> pd.Timestamp:
    """A naive UTC timestamp (the data's timestamps are naive UTC) from ISO 8601 text, or the real clock."""
    if not value:
        return pd.Timestamp.now(tz="UTC").tz_localize(None)
    try:
        ts = pd.Timestamp(value)
    except ValueError as exc:
        raise dg.Failure(f"label clock: {value!r} is not an ISO 8601 time ({exc}); e.g. 2026-03-08T00:00") from exc
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


@dataclass(frozen=True)
class LabelClock:
    """The current time as far as labels are concerned."""

    now: pd.Timestamp

    @classmethod
    def of_run(cls, context: Any) -> "LabelClock":
        """The run's simulated now (tag ``obs/label_now``), else ``$OBS_LABEL_NOW``, else the real clock."""
        run = getattr(context, "run", None)
        tags = getattr(run, "tags", None) or {}
        return cls(parse_now(tags.get(NOW_TAG) or os.environ.get(NOW_ENV)))

    def arrived(self, labels: pd.DataFrame) -> pd.DataFrame:
        """The labels observed by now (a frame without an observation time has none: nothing is assumed)."""
        if OBSERVED not in labels.columns:
            raise dg.Failure(f"labels have no {OBSERVED!r} column: cannot tell which labels exist yet")
        observed = pd.to_datetime(labels[OBSERVED], errors="coerce")
        return labels[observed <= self.now]

    def arrival(self, labels: pd.DataFrame) -> LabelArrival:
        observed = pd.to_datetime(labels[OBSERVED], errors="coerce") if OBSERVED in labels.columns else pd.Series([])
        last = observed.max() if observed.notna().any() else None
        return LabelArrival(self.now, int((observed <= self.now).sum()), len(labels), last,
                            pending=int((observed > self.now).sum()))

"""Composite health scores, in [0, 100], for datasets (assets) and pipelines.

Dataset score
-------------
For one dataset, from its latest materialization (the latest run that has it as an output) and
the recent window (default: the last 24 h)::

    health = 100 × ( 0.40 · check_pass_rate
                   + 0.25 · (1 − drift_share)
                   + 0.20 · freshness_factor
                   + 0.15 · (1 − failed_run_rate) )

* ``check_pass_rate``: passed / total data-quality assertions of the latest run (its
  ``dataQualityAssertions`` output facet, merged with the assertions that check runs reported
  as input facets since that run started; for the same assertion and column the latest verdict
  wins). No assertion at all counts as 1 (nothing failed).
* ``drift_share``: share of drifted columns in the latest run's ``drift`` facet
  (``shareDrifted`` / ``share_drifted``, else drifted columns / columns), clipped to [0, 1].
  No drift facet counts as 0.
* ``freshness_factor``: with ``age`` = now − the last COMPLETE event of a run producing the
  dataset and ``T`` the expected interval between materializations (default 1 day,
  configurable globally with ``$OBS_HEALTH_EXPECTED_INTERVAL`` in seconds, or per dataset)::

      1                          if age ≤ T
      1 − (age − T) / (2·T)      if T < age < 3·T      (linear decay)
      0                          if age ≥ 3·T, or the dataset never completed

* ``failed_run_rate``: runs producing the dataset that reached FAIL or ABORT in the window,
  divided by all runs producing it with an event in the window. No run in the window counts
  as 0.

The weights sum to 1, so the score is 100 for a fresh dataset whose checks all pass, with no
drift and no failed run, and 0 for a stale one whose checks all fail, with every column drifted
and every recent run failed.

Pipeline score
--------------
The pipeline of a dataset is, by default, the job namespace of its latest producing run (for
the Dagster integration: the code location / repository namespace); the metrics collector
accepts another grouping function. A pipeline's score is the arithmetic mean of its datasets'
scores.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DEFAULT_EXPECTED_INTERVAL_S = 24 * 3600.0
EXPECTED_INTERVAL_ENV = "OBS_HEALTH_EXPECTED_INTERVAL"

WEIGHTS: Mapping[str, float] = {
    "checks": 0.40,
    "drift": 0.25,
    "freshness": 0.20,
    "runs": 0.15,
}


def default_expected_interval() -> float:
    """``$OBS_HEALTH_EXPECTED_INTERVAL`` (seconds, > 0), else one day."""
    raw = os.environ.get(EXPECTED_INTERVAL_ENV)
    if raw:
        try:
            value = float(raw)
        except ValueError:
            value = 0.0
        if value > 0:
            return value
    return DEFAULT_EXPECTED_INTERVAL_S


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def freshness_factor(age_s: float | None, expected_interval_s: float = DEFAULT_EXPECTED_INTERVAL_S) -> float:
    """1 up to the expected interval, then linear down to 0 at three times it; 0 if never completed."""
    if age_s is None:
        return 0.0
    t = expected_interval_s
    if age_s <= t:
        return 1.0
    if age_s >= 3 * t:
        return 0.0
    return 1.0 - (age_s - t) / (2 * t)


@dataclass(frozen=True)
class HealthInputs:
    """The components of one dataset's score (``None``: not observed; see the module docstring)."""

    checks_passed: int = 0
    checks_total: int = 0
    drift_share: float | None = None
    freshness_age_s: float | None = None
    runs_failed: int = 0
    runs_total: int = 0

    @property
    def check_pass_rate(self) -> float:
        return self.checks_passed / self.checks_total if self.checks_total else 1.0

    @property
    def failed_run_rate(self) -> float:
        return _clip01(self.runs_failed / self.runs_total) if self.runs_total else 0.0


def dataset_health(inputs: HealthInputs, expected_interval_s: float = DEFAULT_EXPECTED_INTERVAL_S) -> float:
    """The dataset score in [0, 100] (formula in the module docstring)."""
    score = (
        WEIGHTS["checks"] * _clip01(inputs.check_pass_rate)
        + WEIGHTS["drift"] * (1.0 - _clip01(inputs.drift_share or 0.0))
        + WEIGHTS["freshness"] * freshness_factor(inputs.freshness_age_s, expected_interval_s)
        + WEIGHTS["runs"] * (1.0 - inputs.failed_run_rate)
    )
    return round(100.0 * _clip01(score), 6)


def pipeline_health(scores: Iterable[float]) -> float | None:
    """Mean of the datasets' scores; ``None`` for a pipeline without datasets."""
    values = list(scores)
    return sum(values) / len(values) if values else None

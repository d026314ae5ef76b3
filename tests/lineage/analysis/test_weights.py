"""RCA's weights table: the invariants its comments state hold, so a tuned value cannot break them."""

from __future__ import annotations

import dataclasses

import pytest
from scipy import stats

from lineage.analysis.weights import WEIGHTS, Weights

# Evidence strengths: how sure one piece of evidence is (weights.py: "Strengths are in [0, 1]").
STRENGTHS = ("assertion", "assertion_generic", "test_run_failed", "drift_base", "column_missing", "type_changed",
             "nulls_made_float", "volume", "null_base", "key_duplicates", "redelivered", "same_version",
             "run_failed", "not_materialized")


def test_every_value_is_a_non_negative_number() -> None:
    for f in dataclasses.fields(Weights):
        value = getattr(WEIGHTS, f.name)
        assert isinstance(value, int | float) and not isinstance(value, bool), f.name
        assert value >= 0, f.name


@pytest.mark.parametrize("name", STRENGTHS)
def test_strengths_are_in_the_unit_interval(name: str) -> None:
    assert 0 < getattr(WEIGHTS, name) <= 1


def test_gains_never_take_a_strength_above_one() -> None:
    assert WEIGHTS.drift_base + WEIGHTS.drift_gain <= 1
    assert WEIGHTS.null_base + WEIGHTS.null_gain <= 1
    assert WEIGHTS.assertion + 3 * WEIGHTS.vote_bonus <= 1.2  # a few votes nudge, they do not dominate


def test_discounts_and_ordered_thresholds_mean_what_they_say() -> None:
    assert 0 < WEIGHTS.echo_factor < 1 and 0 < WEIGHTS.off_path_factor < 1
    assert WEIGHTS.history_scan >= WEIGHTS.history
    assert WEIGHTS.key_unique_now < WEIGHTS.key_unique_usual <= 1
    assert WEIGHTS.assertion_generic < WEIGHTS.assertion  # a test naming nothing is weaker evidence
    assert WEIGHTS.distance_bonus < WEIGHTS.vote_bonus  # distance only breaks ties
    assert WEIGHTS.volume_mad_scale == pytest.approx(1 / stats.norm.ppf(0.75), rel=1e-4)  # MAD → σ of a normal


def test_the_table_is_frozen_and_tuned_by_replacing() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        WEIGHTS.volume = 0.9  # type: ignore[misc]
    tuned = dataclasses.replace(WEIGHTS, volume=0.6)
    assert tuned.volume == 0.6 and WEIGHTS.volume == Weights().volume

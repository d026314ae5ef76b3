"""Segments: a fault confined to one region is missed overall and found by segment."""

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from observability_pipelines.checks.model_checks import classification_metrics, performance_drop
from observability_pipelines.checks.segments import (
    MISSING,
    OTHER,
    assign_segments,
    segment_drift,
    segment_performance,
    top_segments,
)

REGIONS = ["north", "south", "east", "west", "central"]
MAX_DROP = {"roc_auc": 0.1, "accuracy": 0.1}


def scored(seed: int, n: int = 3000, broken_region: str | None = None) -> pd.DataFrame:
    """Labels and informative scores; in ``broken_region`` the scores carry no information (a fault there)."""
    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, n)
    y = rng.binomial(1, 0.3, n)
    score = np.clip(0.3 + 0.35 * (y - 0.3) + rng.normal(0, 0.15, n), 0, 1)
    if broken_region:
        hit = region == broken_region
        score[hit] = rng.permutation(score[hit])
    return pd.DataFrame({"region": region, "y_true": y, "score": score, "y_pred": (score >= 0.45).astype(int),
                         "income": rng.lognormal(10, 0.4, n)})


@pytest.fixture(scope="module")
def baseline():
    clean = scored(0)
    m = classification_metrics(clean.y_true, clean.y_pred, clean.score)
    return {k: m[k] for k in ("accuracy", "roc_auc")}


def test_fault_in_one_region_is_missed_overall_and_found_by_segment(baseline):
    today = scored(1, broken_region="east")
    overall = classification_metrics(today.y_true, today.y_pred, today.score)
    assert not performance_drop(overall, baseline, MAX_DROP, metrics=list(MAX_DROP)).failed  # averaged away
    segments = assign_segments(today["region"], top_segments(today["region"]))
    result = segment_performance(today, segments, baseline, MAX_DROP)
    assert result.failed and result.failing == ["east"], result.message
    east = today[today.region == "east"]
    assert result.by_segment["east"]["roc_auc"] == pytest.approx(skm.roc_auc_score(east.y_true, east.score))
    assert "segment east" in result.message and "{" not in result.message


def test_clean_batch_passes_in_every_segment(baseline):
    today = scored(2)
    result = segment_performance(today, assign_segments(today["region"], REGIONS), baseline, MAX_DROP)
    assert not result.failed and set(result.by_segment) == set(REGIONS)


def test_cardinality_is_bounded_and_stable():
    values = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 30 + ["d"] * 5 + [None] * 8 + ["e"])
    top = top_segments(values, top_k=3)
    assert top == ["a", "b", "c"]  # ties by name
    labels = assign_segments(pd.Series(["a", "d", None, "zz"]), top)
    assert labels.tolist() == ["a", OTHER, OTHER, OTHER]
    assert MISSING in top_segments(values, top_k=4)
    with pytest.raises(ValueError, match="top_k"):
        top_segments(values, top_k=0)


def test_small_segments_are_reported_not_failed(baseline):
    today = scored(3, n=600, broken_region="east")
    result = segment_performance(today, assign_segments(today["region"], REGIONS), baseline, MAX_DROP, min_rows=500)
    assert not result.failed and sorted(result.skipped) == sorted(REGIONS)
    # Privacy: a few rows' metric is nearly a row's own outcome, so a small segment carries its size only.
    sizes = today["region"].value_counts()
    assert result.by_segment == {r: {"rows": float(sizes[r])} for r in REGIONS}


def test_drift_confined_to_one_segment_is_found_in_that_segment():
    reference, today = scored(4, n=6000), scored(5, n=1500)
    west = today["region"] == "west"
    today.loc[west, "income"] *= 1.6  # a unit or join fault in one region only
    top = top_segments(reference["region"])
    result = segment_drift(reference, today, assign_segments(reference["region"], top),
                           assign_segments(today["region"], top), ["income"])
    assert result.failing == ["west"] and "west: income drifted" in result.message
    assert result.by_segment["west"]["max_ks"] > 0.3 > max(
        v["max_ks"] for k, v in result.by_segment.items() if k != "west")

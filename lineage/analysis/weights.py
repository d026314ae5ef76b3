"""Every weight and threshold of root-cause analysis, named and explained in one table.

Strengths are in [0, 1]: how sure one piece of evidence is that *this* dataset shows a fault of its
kind. Scores of candidates start from the strongest evidence of their kind and are then discounted
(echo, off the symptom's column path) or nudged (distance). Change a value here, then re-run
``benchmarks/bench_rca.py`` and the RCA sweep: these numbers were set on the reference pipelines'
fault sweep and on the cross-producer corpus under ``tests/data/producers``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Weights:
    # ---- history
    history: int = 14  # earlier partitions / runs of a dataset used as its own baseline
    history_scan: int = 28  # how many earlier ones are looked at to find `history` clean ones

    # ---- assertions (GX expectations, dbt tests, asset checks)
    assertion: float = 0.9  # a failed test whose type maps to a fault kind, or that names a column
    assertion_generic: float = 0.3  # a failed test naming neither a known type nor a column (a whole suite)
    test_run_failed: float = 0.6  # a failed test of a ``test`` run facet (no dataset or column attribution)

    # ---- drift facet
    drift_base: float = 0.55  # a drifted column, however small the distance
    drift_gain: float = 0.35  # added as the drift distance grows to `drift_full_distance`
    drift_full_distance: float = 0.5  # distance (KS, JS, normalised Wasserstein) at which drift counts fully
    drift_unknown_distance: float = 0.3  # distance assumed when the facet reports none
    drift_null_gain: float = 0.4  # null-burst drift: added as the null share rises by `null_full_rise`

    # ---- schema
    column_missing: float = 0.95  # a column of the previous version is gone
    type_changed: float = 0.9  # a column's type differs from the previous version
    nulls_made_float: float = 0.7  # integer → float as nulls appeared (a null burst's side effect)

    # ---- volume (row counts against the dataset's own history)
    volume: float = 0.45  # rows far outside the usual range
    volume_robust_z: float = 4.0  # |log rows - median| / MAD-spread above which rows are unusual
    volume_min_log_change: float = 0.25  # and at least this far in log space (~28 %)
    volume_mad_scale: float = 1.4826  # MAD → standard deviation of a normal distribution
    volume_min_spread: float = 0.05  # floor of the spread (a history of identical counts)
    volume_min_history: int = 3  # earlier row counts needed before volume is judged
    seasonal_tolerance: float = 0.25  # a volume change this close to the common change of all ancestors is seasonal
    seasonal_min_datasets: int = 3  # ancestors with a row history needed to measure the common change
    # ---- volume against the day's level of other source datasets (lineage.analysis.volume)
    seasonal_sources: int = 12  # source datasets (ancestors first, then the nearest others) to compare rows with
    seasonal_scan: int = 400  # lineage nodes looked at to find them
    seasonal_min_sources: int = 2  # other sources recorded in a partition needed to know its level
    relative_volume_z: float = 4.0  # |residual - usual residual| / its MAD-spread above which rows are unusual
    relative_volume_min_change: float = 0.05  # and at least this far in log space (~5 %)
    relative_volume_min_spread: float = 0.015  # floor of the spread (sizes that follow the sources exactly)

    # ---- column metrics
    null_rise: float = 0.05  # null share above its usual level by more than this is a null burst
    null_base: float = 0.5  # strength of a null burst just above `null_rise`
    null_gain: float = 0.4  # added as the rise grows to `null_full_rise`
    null_full_rise: float = 0.3
    key_unique_usual: float = 0.99  # an `*_id` column usually this distinct ...
    key_unique_now: float = 0.98  # ... now below this share is duplicated rows
    key_duplicates: float = 0.7
    redelivered: float = 0.9  # every numeric summary equals an earlier partition's
    redelivered_min_columns: int = 2  # numeric columns needed to call content identical
    same_version: float = 0.85  # the same dataset version as an earlier partition

    # ---- runs
    run_failed: float = 0.7  # the producing run failed
    not_materialized: float = 0.5  # the symptom has no run in the partition at all

    # ---- ranking
    vote_bonus: float = 0.05  # each further piece of evidence of the same kind
    echo_factor: float = 0.25  # an anomaly explained by an anomalous parent feeding its column
    off_path_factor: float = 0.4  # an anomaly on a column that cannot reach the symptom's columns
    distance_bonus: float = 0.01  # per hop from the symptom: between equals, the earlier node explains more
    own_asset_bonus: float = 0.02  # the symptom's own root anomaly, when nothing upstream explains it

    # ---- quantiles (scale change vs mean shift)
    min_quantiles: int = 3  # quantiles present in both current and history to tell them apart
    zero_quantile: float = 1e-12  # a reference quantile this close to 0 has no ratio
    # A low-cardinality numeric column drifting "categorically" was shifted or rescaled when its quantiles
    # moved by one offset or factor this tightly (spread of the differences / ratios relative to the change).
    codes_fit_max_spread: float = 0.25


WEIGHTS = Weights()

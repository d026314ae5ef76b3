"""Performance and drift by segment (pure functions, no Dagster), so a fault in one segment is not averaged away.

A fault confined to one region moves the overall metric by that region's share only: 1/5 of the rows losing
0.2 of AUC moves the whole batch by far less than any sensible margin. Here each segment is judged on its own.
Cardinality is bounded: the ``top_k`` most frequent values of the reference become segments, everything else
(new values included) is ``__other__``, so metadata keys stay few and stable from one partition to the next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from observability_pipelines.checks.model_checks import classification_metrics

TOP_K = 8  # segments kept per attribute; the rest is "__other__"
# The catch-all segment: a name no real category is likely to carry (a category called "other" or
# "OTHER" stays its own segment, and new values never show under their own name).
OTHER = "__other__"
MISSING = "__missing__"  # null values: their own segment, under a name no real value carries
MIN_SEGMENT_ROWS = 50  # fewer rows: a segment's AUC or KS is noise (and nearly a row's own value): rows only, never failed
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


def segment_labels(values: pd.Series) -> pd.Series:
    """Segment values as strings; nulls are their own segment (a null burst is a segment fault too)."""
    return values.astype("string").fillna(MISSING).astype(str)


def top_segments(reference: pd.Series, top_k: int = TOP_K) -> list[str]:
    """The ``top_k`` most frequent segment values of the reference (ties by name, for stable keys)."""
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    counts = segment_labels(reference).value_counts()
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [k for k, _ in ordered[:top_k]]


def assign_segments(values: pd.Series, segments: Sequence[str]) -> pd.Series:
    """Each row's segment: its value when among ``segments``, else ``other``."""
    labels = segment_labels(values)
    return labels.where(labels.isin(list(segments)), OTHER)


@dataclass
class SegmentResult:
    failed: bool
    by_segment: dict[str, dict[str, float | None]]  # segment -> metric -> value (rows included)
    failing: list[str] = field(default_factory=list)  # worst first
    skipped: list[str] = field(default_factory=list)  # too few rows to judge
    message: str = ""


def segment_performance(data: pd.DataFrame, segments: pd.Series, baseline: Mapping[str, float],
                        max_drop: Mapping[str, float], *, label: str = "y_true", decision: str = "y_pred",
                        score: str = "score", min_rows: int = MIN_SEGMENT_ROWS) -> SegmentResult:
    """Classification metrics per segment; a segment fails when a metric drops below the baseline by more
    than its ``max_drop`` plus one standard error (drop = baseline − segment value)."""
    by_segment: dict[str, dict[str, float | None]] = {}
    worst: dict[str, float] = {}
    skipped: list[str] = []
    for name, rows in data.groupby(segments.to_numpy(), sort=True):
        if len(rows) < min_rows:  # the row count only: a metric of a few rows is nearly a row's own outcome
            skipped.append(str(name))
            by_segment[str(name)] = {"rows": float(len(rows))}
            continue
        m = classification_metrics(rows[label].astype(int), rows[decision].astype(int), rows[score].astype(float))
        by_segment[str(name)] = {"rows": float(len(rows)), **{k: m[k] for k in METRICS}}
        y = rows[label].astype(int).to_numpy()
        excess = [_excess(m.get(k), baseline.get(k), t, standard_error(k, m.get(k), y)) for k, t in max_drop.items()]
        if any(e > 0 for e in excess):
            worst[str(name)] = max(excess)
    failing = sorted(worst, key=worst.get, reverse=True)
    result = SegmentResult(bool(failing), by_segment, failing, skipped)
    result.message = describe_performance(result, baseline, max_drop)
    return result


def standard_error(metric: str, value: float | None, y: np.ndarray) -> float:
    """Sampling error of a segment's metric: Hanley & McNeil (1982) for ROC AUC, binomial for the rates."""
    if value is None or not len(y):
        return float("inf")
    if metric != "roc_auc":
        return float(np.sqrt(value * (1 - value) / len(y)))
    n1, n0 = int(y.sum()), int(len(y) - y.sum())
    if n1 == 0 or n0 == 0:
        return float("inf")
    q1, q2 = value / (2 - value), 2 * value**2 / (1 + value)
    var = (value * (1 - value) + (n1 - 1) * (q1 - value**2) + (n0 - 1) * (q2 - value**2)) / (n1 * n0)
    return float(np.sqrt(max(var, 0.0)))


def _excess(value: float | None, base: float | None, max_drop: float, se: float) -> float:
    # A segment fails only when its drop exceeds the margin by more than one standard error: small segments
    # are noisy, and seven segments a day would otherwise alarm on chance alone.
    return -1.0 if value is None or base is None else (base - value) - se - max_drop


def describe_performance(r: SegmentResult, baseline: Mapping[str, float], max_drop: Mapping[str, float]) -> str:
    if not r.failing:
        return (f"every segment within bounds of the evaluation ({len(r.by_segment)} segments"
                f"{f', {len(r.skipped)} too small to judge' if r.skipped else ''})")
    parts = []
    for seg in r.failing:
        drops = [f"{k} {r.by_segment[seg][k]:.3f} vs {baseline[k]:.3f} (drop {baseline[k] - r.by_segment[seg][k]:.3f},"
                 f" max {t:g})" for k, t in max_drop.items()
                 if r.by_segment[seg].get(k) is not None and baseline.get(k) is not None
                 and baseline[k] - r.by_segment[seg][k] > t]  # the significant ones among these failed it
        parts.append(f"segment {seg} ({int(r.by_segment[seg]['rows'])} rows): " + ", ".join(drops))
    return f"{len(r.failing)} of {len(r.by_segment)} segments below the evaluation: " + "; ".join(parts)


def segment_drift(reference: pd.DataFrame, current: pd.DataFrame, ref_segments: pd.Series,
                  cur_segments: pd.Series, columns: Sequence[str], *, min_rows: int = MIN_SEGMENT_ROWS,
                  min_ks: float = 0.1, min_js: float = 0.05) -> SegmentResult:
    """Drift of ``columns`` within each segment: the segment today against the same segment in the reference,
    with the pipeline's tests and effect-size floors (:mod:`~observability_pipelines.checks.drift_observer`)."""
    from observability_pipelines.checks.drift import detect_drift
    from observability_pipelines.checks.drift_observer import material, pipeline_drift_config

    config = pipeline_drift_config()
    config.columns = list(columns)
    by_segment: dict[str, dict[str, float | None]] = {}
    drifted: dict[str, list[str]] = {}
    skipped: list[str] = []
    for name in sorted(set(cur_segments.unique())):
        cur, ref = current[cur_segments.to_numpy() == name], reference[ref_segments.to_numpy() == name]
        if len(cur) < min_rows or len(ref) < min_rows:
            skipped.append(str(name))
            by_segment[str(name)] = {"rows": float(len(cur))}
            continue
        result = detect_drift(ref, cur, config)
        hits = [c for c, r in result.columns.items() if material(r, min_ks, min_js)]
        by_segment[str(name)] = {"rows": float(len(cur)), "drifted_columns": float(len(hits)),
                                 "max_ks": max((r.ks_stat or 0.0 for r in result.columns.values()), default=0.0)}
        if hits:
            drifted[str(name)] = hits
    failing = sorted(drifted, key=lambda s: -by_segment[s]["max_ks"])
    result = SegmentResult(bool(failing), by_segment, failing, skipped)
    result.message = (
        "; ".join(f"segment {s}: {', '.join(drifted[s])} drifted (max KS {by_segment[s]['max_ks']:.3f})"
                  for s in failing)
        or f"no drift within any of {len(by_segment) - len(skipped)} segments")
    return result

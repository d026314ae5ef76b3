"""Evidence rules: what one dataset version shows against its own history.

Each rule reads one kind of facet of a :class:`~lineage.analysis.observations.DatasetSnapshot` and
returns :class:`Evidence` (a fault kind, a strength from :mod:`lineage.analysis.weights`, a readable
detail and, when known, the column). Producers differ in what they send; every rule works with what
is there and says nothing when its facet is missing.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from lineage.analysis.assertion_kinds import kind_of_assertion
from lineage.analysis.observations import DatasetSnapshot
from lineage.analysis.weights import WEIGHTS as W
from lineage.facets import ColumnDrift

DEFAULT_LABEL_COLUMNS = frozenset({"label", "target", "y", "defaulted", "churned", "is_fraud"})
# A model's predicted class (``predicted_<label>``, ``prediction``, ``<label>_pred``): its classes moving is a
# shift of the predicted label, like the label's own.
_PREDICTED_CLASS = re.compile(r"^(predicted_\w+|prediction|predicted_class|\w+_pred(iction)?)$", re.IGNORECASE)
_INTEGER_TYPE = re.compile(r"^(u?int\d*|integer|bigint|smallint|tinyint|long|short)$", re.IGNORECASE)
_NUMERIC_TYPE = re.compile(r"^(u?int\d*|integer|bigint|smallint|tinyint|long|short|float\d*|double( precision)?|"
                           r"real|number|numeric|decimal.*)$", re.IGNORECASE)


@dataclass
class Evidence:
    kind: str
    strength: float
    detail: str
    column: str | None = None
    source: str = ""  # assertion | drift | schema | volume | metrics | version | run | freshness
    value: float | None = None  # e.g. the log row-count ratio of volume evidence

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def gather_evidence(snap: DatasetSnapshot, history: Sequence[DatasetSnapshot],
                    label_columns: frozenset[str] = DEFAULT_LABEL_COLUMNS) -> list[Evidence]:
    """Every anomaly of ``snap`` against ``history`` (its earlier, clean versions, oldest first)."""
    out = assertion_evidence(snap, history, label_columns) + drift_evidence(snap, history, label_columns)
    if history:
        out += schema_evidence(snap, history) + volume_evidence(snap, history)
        out += null_evidence(snap, history) + key_evidence(snap, history) + staleness_evidence(snap, history)
    return out + run_evidence(snap)


# --------------------------------------------------------------------------- helpers
def median(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(kept) if kept else None


def _quantiles(metric: Any) -> dict[str, float]:
    return dict(getattr(metric, "quantiles", None) or {})


def scale_or_shift(current: Any, history: Sequence[Any]) -> str | None:
    """Multiplication keeps quantile ratios constant, a shift keeps quantile differences constant."""
    fit = shift_fit(current, history)
    return fit[0] if fit else None


def shift_fit(current: Any, history: Sequence[Any]) -> tuple[str, float] | None:
    """(``scale_change`` or ``mean_shift``, how badly the better one fits: 0 = exactly), from quantiles."""
    cur = _quantiles(current)
    ref = {k: m for k in cur if (m := median(_quantiles(h).get(k) for h in history)) is not None}
    keys = [k for k in cur if k in ref and abs(ref[k]) > W.zero_quantile]
    if len(keys) < W.min_quantiles:
        return None
    ratios = [cur[k] / ref[k] for k in keys]
    diffs = [cur[k] - ref[k] for k in keys]
    mean_r, mean_d = statistics.fmean(ratios), statistics.fmean(diffs)
    # Spread of the ratios relative to the change they describe (a small shift keeps ratios near 1).
    cv_r = statistics.pstdev(ratios) / abs(mean_r - 1) if mean_r != 1 else math.inf
    cv_d = statistics.pstdev(diffs) / abs(mean_d) if mean_d else math.inf
    return ("scale_change", cv_r) if cv_r < cv_d else ("mean_shift", cv_d)


def _column_history(history: Sequence[DatasetSnapshot], column: str) -> list[Any]:
    return [m for h in history if (m := h.column_metrics.get(column)) is not None]


def _null_rise(snap: DatasetSnapshot, history: Sequence[DatasetSnapshot], column: str, minimum: float) -> bool:
    """The column's share of nulls rose by more than ``minimum`` (metrics against history), or drift says so."""
    drift = snap.drift.columns.get(column) if snap.drift else None
    if drift is not None and drift.is_null_burst:
        return True
    metric = snap.column_metrics.get(column)
    share = _share(metric.nullCount, snap) if metric is not None else None
    base = median(_share(m.nullCount, h) for h in history if (m := h.column_metrics.get(column)) is not None)
    return share is not None and share - (base or 0.0) > minimum


def nulls_made_float(snap: DatasetSnapshot, history: Sequence[DatasetSnapshot], column: str | None) -> bool:
    """An integer column that turned float as nulls appeared: frame libraries (pandas, numpy) hold missing
    integers as floating-point NaN, so the type change is the null burst's side effect, not a fault of its own."""
    if not column or not history:
        return False
    before, now = history[-1].column_types.get(column), snap.column_types.get(column)
    return (before is not None and now is not None and bool(_INTEGER_TYPE.match(before))
            and bool(_NUMERIC_TYPE.match(now)) and not _INTEGER_TYPE.match(now)
            and _null_rise(snap, history, column, 0.0))  # any new null explains the float type, however few


def numeric_codes_kind(snap: DatasetSnapshot, history: Sequence[DatasetSnapshot], column: str) -> str | None:
    """A numeric column with few distinct values drifts "categorically" (a drift test treats it so); when its
    quantiles moved by one common offset or factor, its values were shifted or rescaled, not re-coded."""
    column_type = snap.column_types.get(column)
    if not column_type or not _NUMERIC_TYPE.match(column_type):
        return None
    fit = shift_fit(snap.column_metrics.get(column), _column_history(history, column))
    return fit[0] if fit is not None and fit[1] <= W.codes_fit_max_spread else None


# --------------------------------------------------------------------------- rules
def assertion_evidence(snap: DatasetSnapshot, history: Sequence[DatasetSnapshot],
                       label_columns: frozenset[str] = DEFAULT_LABEL_COLUMNS) -> list[Evidence]:
    out = []
    for a in snap.failed_assertions:
        for column in _columns(a.column):
            kind = assertion_kind(a, column, snap, history, label_columns)
            # A check that names neither a known test nor one column (a whole suite, a column pair) says little.
            strength = W.assertion if (kind != "unknown" or (column and column == a.column)) else W.assertion_generic
            label = a.name if a.name and a.name != a.assertion else a.assertion
            out.append(Evidence(kind, strength, f"failed {label}" + (f" on {a.column}" if a.column else ""),
                                column, "assertion"))
    return out


def _columns(column: str | None) -> list[str | None]:
    """A multi-column assertion (GX pair / compound expectations report ``"a,b"``) counts on each column."""
    if not column or "," not in column:
        return [column]
    return [c.strip() for c in column.split(",") if c.strip()] or [None]


def assertion_kind(a: Any, column: str | None, snap: DatasetSnapshot, history: Sequence[DatasetSnapshot],
                   label_columns: frozenset[str]) -> str:
    column_type = snap.column_types.get(column) if column else None
    kind = kind_of_assertion(a.assertion, column_type)
    if kind == "unknown" and a.name:
        kind = kind_of_assertion(a.name, column_type)
    drift = snap.drift.columns.get(column) if snap.drift and column else None
    if kind == "scale_change" and drift is not None and drift.has_new_infinities:
        return "inf_values"  # infinite values fail range and mean checks too
    if kind == "type_change" and nulls_made_float(snap, history, column):
        return "null_burst"
    if kind in ("scale_change", "mean_shift", "category_remap") and column in label_columns:
        return "label_shift"  # the label's mean or classes moving is a label shift
    if kind == "category_remap" and column:
        return numeric_codes_kind(snap, history, column) or kind  # a set check fails on shifted codes too
    if kind == "scale_change" and column:
        # A range check fails for a unit change and for a shift alike: the quantiles tell them apart.
        return scale_or_shift(snap.column_metrics.get(column), _column_history(history, column)) or kind
    return kind


def drift_kind(name: str, col: ColumnDrift, snap: DatasetSnapshot, history: Sequence[DatasetSnapshot],
               label_columns: frozenset[str]) -> str:
    if col.status == "missing_column":
        return "column_drop"
    if col.status == "type_mismatch":
        return "null_burst" if nulls_made_float(snap, history, name) else "type_change"
    if col.has_new_infinities:
        return "inf_values"
    if col.is_null_burst:
        return "null_burst"
    if name in label_columns or (col.kind == "categorical" and _PREDICTED_CLASS.match(name)):
        return "label_shift"
    if col.kind == "categorical":
        return numeric_codes_kind(snap, history, name) or "category_remap"
    return scale_or_shift(snap.column_metrics.get(name), _column_history(history, name)) or "mean_shift"


def drift_evidence(snap: DatasetSnapshot, history: Sequence[DatasetSnapshot],
                   label_columns: frozenset[str]) -> list[Evidence]:
    out = []
    for name, col in (snap.drift.columns.items() if snap.drift else ()):
        if not col.drifted:
            continue
        kind = drift_kind(name, col, snap, history, label_columns)
        distance = col.score if col.score is not None else W.drift_unknown_distance
        strength = W.drift_base + W.drift_gain * min(1.0, distance / W.drift_full_distance)
        detail = f"drift ({col.test} {col.statistic:.3g})" if col.statistic is not None else f"drift ({col.status})"
        rise = (col.nullFractionCurrent or 0.0) - (col.nullFractionReference or 0.0)
        if kind == "inf_values":
            detail = f"{col.infiniteCurrent} infinite values (reference {col.infiniteReference or 0})"
        elif kind == "null_burst" and col.nullFractionCurrent is not None and rise > 0:
            strength = W.drift_base + W.drift_null_gain * min(1.0, rise / W.null_full_rise)
            detail = f"{col.nullFractionCurrent:.0%} null (reference {col.nullFractionReference or 0:.0%})"
        elif kind == "null_burst":
            detail = "share of null or invalid values rose (drift)"
        elif kind == "category_remap" and col.newCategories:
            detail += f", {col.newCategories} new categories"
        out.append(Evidence(kind, strength, detail, name, "drift"))
    return out


def schema_evidence(snap: DatasetSnapshot, history: Sequence[DatasetSnapshot]) -> list[Evidence]:
    before, now = history[-1].column_types, snap.column_types
    if not before or not now:
        return []
    out = []
    for column, kind in before.items():
        if column not in now:
            out.append(Evidence("column_drop", W.column_missing, f"column {column} missing from schema", column,
                                "schema"))
        elif now[column] != kind and nulls_made_float(snap, history, column):
            out.append(Evidence("null_burst", W.nulls_made_float, f"type {kind}→{now[column]} as nulls appeared",
                                column, "schema"))
        elif now[column] != kind:
            out.append(Evidence("type_change", W.type_changed, f"type {kind}→{now[column]}", column, "schema"))
    return out


def log_row_change(snap: DatasetSnapshot, history: Sequence[DatasetSnapshot]) -> float | None:
    """log(rows) minus the median log(rows) of the history (``None`` without enough history)."""
    past = [h.row_count for h in history if h.row_count]
    if snap.row_count is None or len(past) < W.volume_min_history:
        return None
    return math.log(max(snap.row_count, 1.0)) - statistics.median(math.log(r) for r in past)


def volume_evidence(snap: DatasetSnapshot, history: Sequence[DatasetSnapshot]) -> list[Evidence]:
    change = log_row_change(snap, history)
    if change is None:
        return []
    logs = [math.log(h.row_count) for h in history if h.row_count]
    center = statistics.median(logs)
    spread = max(statistics.median(abs(x - center) for x in logs) * W.volume_mad_scale, W.volume_min_spread)
    if abs(change) / spread <= W.volume_robust_z or abs(change) <= W.volume_min_log_change:
        return []
    kind = "row_loss" if change < 0 else "duplicate_rows"
    return [Evidence(kind, W.volume, f"{int(snap.row_count or 0)} rows vs median {math.exp(center):.0f}", None,
                     "volume", value=change)]


def _share(count: int | None, snap: DatasetSnapshot) -> float | None:
    return None if count is None or not snap.row_count else float(count) / max(snap.row_count, 1.0)


def null_evidence(snap: DatasetSnapshot, history: Sequence[DatasetSnapshot]) -> list[Evidence]:
    out = []
    for column, metric in snap.column_metrics.items():
        share = _share(metric.nullCount, snap)
        base = median(_share(m.nullCount, h) for h in history if (m := h.column_metrics.get(column)) is not None)
        if share is None or base is None or share - base <= W.null_rise:
            continue
        strength = W.null_base + W.null_gain * min(1.0, (share - base) / W.null_full_rise)
        out.append(Evidence("null_burst", strength, f"{share:.0%} null (usually {base:.0%})", column, "metrics"))
    return out


def key_evidence(snap: DatasetSnapshot, history: Sequence[DatasetSnapshot]) -> list[Evidence]:
    """An identifier column that is usually all distinct and now is not: rows were duplicated."""
    out = []
    for column, metric in snap.column_metrics.items():
        if not column.endswith("_id"):
            continue
        share = _share(metric.distinctCount, snap)
        base = median(_share(m.distinctCount, h) for h in history if (m := h.column_metrics.get(column)) is not None)
        if share is not None and base is not None and base > W.key_unique_usual and share < W.key_unique_now:
            out.append(Evidence("duplicate_rows", W.key_duplicates, f"{column} {share:.1%} distinct (usually 100%)",
                                None, "metrics"))
    return out


def _fingerprint(snap: DatasetSnapshot) -> Mapping[str, tuple]:
    return {c: (m.min, m.max, json.dumps(m.quantiles, sort_keys=True))
            for c, m in snap.column_metrics.items() if m.quantiles}


def staleness_evidence(snap: DatasetSnapshot, history: Sequence[DatasetSnapshot]) -> list[Evidence]:
    """Re-delivery: every numeric summary, or the dataset version, equal to an earlier partition's."""
    out = []
    current = _fingerprint(snap)
    if len(current) >= W.redelivered_min_columns:
        same = next((h for h in history if h.partition != snap.partition and _fingerprint(h) == current), None)
        if same is not None:
            out.append(Evidence("stale_partition", W.redelivered, f"content identical to partition {same.partition}",
                                None, "metrics"))
    if snap.version and any(h.version == snap.version for h in history):
        out.append(Evidence("stale_partition", W.same_version, "same dataset version as an earlier partition", None,
                            "version"))
    return out


def run_evidence(snap: DatasetSnapshot) -> list[Evidence]:
    if not snap.failed:
        return []
    return [Evidence("unknown", W.run_failed, f"run failed: {(snap.error or 'no error message')[:160]}", None, "run")]

"""Fault plans: what to break, where, and how, to exercise checks and root-cause analysis.

A plan is a JSON or YAML list of ``{asset, partition, kind, column?, magnitude?}`` (or a mapping with a
``faults`` list). Each fault changes the output of exactly one asset for exactly one partition.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from observability_pipelines.data.contracts import (
    CATEGORICAL,
    CONTRACTS,
    INTEGER,
    NUMERIC,
    STRING,
    TIMESTAMP,
)

FAULT_KINDS = (
    "null_burst",
    "scale_change",
    "mean_shift",
    "category_remap",
    "column_drop",
    "type_change",
    "duplicate_rows",
    "stale_partition",
    "row_loss",
    "label_shift",
    "inf_values",
)
# Kinds that act on one named column, and the column types each accepts.
_COLUMN_KINDS: dict[str, tuple[str, ...]] = {
    "null_burst": (NUMERIC, INTEGER, CATEGORICAL, STRING, TIMESTAMP),
    "scale_change": (NUMERIC, INTEGER),
    "mean_shift": (NUMERIC, INTEGER),
    # On a string key it garbles every key into a 3-letter code (the key-integrity case).
    "category_remap": (CATEGORICAL, STRING),
    "column_drop": (NUMERIC, INTEGER, CATEGORICAL, STRING, TIMESTAMP),
    "type_change": (NUMERIC, INTEGER, CATEGORICAL, TIMESTAMP),
    # Integer columns cannot hold inf without becoming float (a type change of its own): numeric only.
    "inf_values": (NUMERIC,),
}
DEFAULT_MAGNITUDE = {
    "null_burst": 0.3,
    "scale_change": 100.0,
    "mean_shift": 1.0,
    "duplicate_rows": 0.1,
    "row_loss": 0.3,
    "label_shift": 0.15,
    "inf_values": 0.05,
}
_UNPARTITIONED = ("model_evaluation",)


class FaultPlanError(ValueError):
    """A fault plan that cannot be applied; the message lists every problem and how to fix it."""


@dataclass(frozen=True)
class Fault:
    asset: str
    partition: str | None
    kind: str
    column: str | None = None
    magnitude: float | None = None

    @property
    def effective_magnitude(self) -> float | None:
        return self.magnitude if self.magnitude is not None else DEFAULT_MAGNITUDE.get(self.kind)

    def to_record(self) -> dict[str, Any]:
        """The plan entry for this fault (unset column / magnitude left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def describe(self) -> str:
        where = f"{self.asset}[{self.partition}]" + (f".{self.column}" if self.column else "")
        mag = self.effective_magnitude
        return f"{self.kind} on {where}" + (f" (magnitude {mag:g})" if mag is not None else "")

    def _rng(self) -> np.random.Generator:
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _check_fault(i: int, raw: Any) -> tuple[Fault | None, list[str]]:
    where = f"fault #{i}"
    if not isinstance(raw, Mapping):
        return None, [f"{where}: expected a mapping with asset, partition, kind, got {type(raw).__name__}"]
    unknown_keys = set(raw) - {"asset", "partition", "kind", "column", "magnitude"}
    errors = [f"{where}: unknown field(s) {sorted(unknown_keys)}"] if unknown_keys else []
    asset, kind, column = raw.get("asset"), raw.get("kind"), raw.get("column")
    partition, magnitude = raw.get("partition"), raw.get("magnitude")
    contract = CONTRACTS.get(asset) if isinstance(asset, str) else None
    if contract is None:
        errors.append(f"{where}: unknown asset {asset!r}; faults can target {sorted(CONTRACTS)}")
    if kind not in FAULT_KINDS:
        errors.append(f"{where}: unknown kind {kind!r}; known kinds: {', '.join(FAULT_KINDS)}")
    if partition is None:
        if asset not in _UNPARTITIONED:
            errors.append(f"{where}: 'partition' (a daily key YYYY-MM-DD) is required")
    else:
        try:
            dt.date.fromisoformat(str(partition))
        except ValueError:
            errors.append(f"{where}: partition {partition!r} is not a daily key YYYY-MM-DD")
    if magnitude is not None and (isinstance(magnitude, bool) or not isinstance(magnitude, (int, float))):
        errors.append(f"{where}: magnitude must be a number, got {magnitude!r}")
        magnitude = None
    if errors or contract is None:
        return None, errors

    if kind in _COLUMN_KINDS:
        if column is None:
            errors.append(f"{where}: kind {kind} needs a 'column' of {asset}")
        elif column not in contract.columns:
            errors.append(f"{where}: unknown column {column!r} of {asset}; columns: {', '.join(contract.columns)}")
        elif contract.columns[column] not in _COLUMN_KINDS[kind]:
            errors.append(
                f"{where}: {kind} does not apply to {contract.columns[column]} column {asset}.{column}"
            )
    elif kind == "label_shift":
        if contract.label is None:
            labelled = [a for a, c in CONTRACTS.items() if c.label]
            errors.append(f"{where}: {asset} has no label column; label_shift applies to {labelled}")
        elif column not in (None, contract.label):
            errors.append(f"{where}: label_shift acts on the label column {contract.label!r}, not {column!r}")
        column = contract.label
    elif kind == "stale_partition" and not contract.source:
        sources = [a for a, c in CONTRACTS.items() if c.source]
        errors.append(f"{where}: stale_partition (re-delivery) applies to source assets {sources}")
    elif column is not None:
        errors.append(f"{where}: kind {kind} acts on whole rows; remove 'column'")

    m = magnitude if magnitude is not None else DEFAULT_MAGNITUDE.get(kind)
    if m is not None:
        if kind in ("null_burst", "row_loss", "duplicate_rows", "inf_values") and not 0 < m <= 1:
            errors.append(f"{where}: magnitude for {kind} is a fraction of rows in (0, 1], got {m}")
        if kind == "scale_change" and (m <= 0 or m == 1):
            errors.append(f"{where}: magnitude for scale_change is a positive multiplier other than 1, got {m}")
        if kind == "mean_shift" and m == 0:
            errors.append(f"{where}: magnitude for mean_shift is a non-zero shift in standard deviations")
        if kind == "label_shift" and not (-1 <= m <= 1 and m != 0):
            errors.append(f"{where}: magnitude for label_shift is a change of the positive rate in [-1, 1], not 0")
    if errors:
        return None, errors
    return Fault(asset, None if partition is None else str(partition), kind, column,
                 None if magnitude is None else float(magnitude)), []


@dataclass(frozen=True)
class FaultPlan:
    faults: tuple[Fault, ...] = ()

    @classmethod
    def from_records(cls, records: Any, source: str = "fault plan") -> FaultPlan:
        if isinstance(records, Mapping) and "faults" in records:
            records = records["faults"]
        if records is None:
            return cls()
        if not isinstance(records, list):
            raise FaultPlanError(f"{source}: expected a list of faults (or {{faults: [...]}}), got {type(records).__name__}")
        faults, errors = [], []
        for i, raw in enumerate(records):
            fault, errs = _check_fault(i, raw)
            errors += errs
            if fault:
                faults.append(fault)
        seen: set[tuple] = set()
        for f in faults:
            ident = (f.asset, f.partition, f.kind, f.column)
            if ident in seen:
                errors.append(f"duplicate fault {f.describe()}")
            seen.add(ident)
        if errors:
            raise FaultPlanError(f"{source} is invalid:\n  - " + "\n  - ".join(errors))
        return cls(tuple(faults))

    @classmethod
    def from_file(cls, path: str | Path) -> FaultPlan:
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise FaultPlanError(f"cannot read fault plan {path}: {exc.strerror}; check OBS_FAULT_PLAN / --fault-plan") from exc
        try:
            records = yaml.safe_load(text)  # YAML is a superset of JSON
        except yaml.YAMLError as exc:
            raise FaultPlanError(f"fault plan {path} is not valid JSON or YAML: {exc}") from exc
        return cls.from_records(records, source=f"fault plan {path}")

    def for_asset(self, asset: str, partition: str | None) -> list[Fault]:
        return [f for f in self.faults if f.asset == asset and f.partition == partition]

    def to_records(self) -> list[dict[str, Any]]:
        return [f.to_record() for f in self.faults]


def _as_float(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype("float64")


def _keep_integer(original: pd.Series, changed: pd.Series) -> pd.Series:
    """A value fault on an integer column keeps it integer: the values change, not the type."""
    if pd.api.types.is_integer_dtype(original) and changed.notna().all():
        return changed.round().astype(original.dtype)
    return changed


def apply_fault(
    df: pd.DataFrame, fault: Fault, previous: Callable[[], pd.DataFrame] | None = None
) -> pd.DataFrame:
    """Return a changed copy of ``df``; the input frame is left untouched."""
    rng = fault._rng()
    m = fault.effective_magnitude
    out = df.copy()
    n = len(out)
    col = fault.column
    if fault.kind == "null_burst":
        rows = rng.random(n) < m
        series = out[col]
        if pd.api.types.is_integer_dtype(series) or pd.api.types.is_bool_dtype(series):
            series = series.astype("float64")
        out[col] = series.mask(rows)
    elif fault.kind == "scale_change":
        out[col] = _keep_integer(out[col], _as_float(out[col]) * m)
    elif fault.kind == "mean_shift":
        values = _as_float(out[col])
        out[col] = _keep_integer(out[col], values + m * float(values.std(ddof=0) or 1.0))
    elif fault.kind == "category_remap":
        counts = out[col].value_counts()
        # Upstream switched to short codes and merged its two rarest categories into one.
        mapping = {v: str(v)[:3].upper() for v in counts.index}
        if len(counts) > 2:
            for rare in counts.index[-2:]:
                mapping[rare] = "OTHER"
        out[col] = out[col].map(mapping)
    elif fault.kind == "inf_values":
        # A division by zero upstream: a fraction of the rows (at least one) becomes +inf or -inf.
        k = min(n, max(1, int(round(m * n)))) if n else 0
        rows = rng.choice(n, size=k, replace=False)
        values = _as_float(out[col]).to_numpy(copy=True)
        values[rows] = np.where(rng.random(k) < 0.5, np.inf, -np.inf)
        out[col] = pd.Series(values, index=out.index, name=col)
    elif fault.kind == "column_drop":
        out = out.drop(columns=[col])
    elif fault.kind == "type_change":
        series = out[col]
        if pd.api.types.is_datetime64_any_dtype(series):
            out[col] = series.astype("int64") // 10**6  # epoch milliseconds instead of timestamps
        elif pd.api.types.is_numeric_dtype(series):
            out[col] = series.map(lambda v: "" if pd.isna(v) else f"{v:,.2f}")  # "12,345.00" strings
        else:
            out[col] = pd.factorize(series)[0].astype("int64")  # integer codes instead of labels
    elif fault.kind == "duplicate_rows":
        dup = out.iloc[rng.choice(n, size=int(round(m * n)), replace=False)] if n else out.iloc[:0]
        out = pd.concat([out, dup]).iloc[rng.permutation(n + len(dup))].reset_index(drop=True)
    elif fault.kind == "row_loss":
        out = out.iloc[np.sort(rng.choice(n, size=n - int(round(m * n)), replace=False))].reset_index(drop=True)
    elif fault.kind == "stale_partition":
        if previous is None:
            raise FaultPlanError(f"{fault.describe()}: no previous partition is available to re-deliver")
        out = previous().copy()
    elif fault.kind == "label_shift":
        labels = out[col].astype("int64").to_numpy().copy()
        flips = int(round(abs(m) * n))
        pool = np.flatnonzero(labels == (0 if m > 0 else 1))
        labels[rng.choice(pool, size=min(flips, pool.size), replace=False)] = 1 if m > 0 else 0
        out[col] = labels
    else:  # pragma: no cover - kinds are validated when the plan is read
        raise FaultPlanError(f"unknown fault kind {fault.kind}")
    return out


def apply_faults(
    df: pd.DataFrame, faults: Iterable[Fault], previous: Callable[[], pd.DataFrame] | None = None
) -> pd.DataFrame:
    for fault in faults:
        df = apply_fault(df, fault, previous)
    return df

"""Great Expectations suites as Dagster asset checks.

``validate_dataframe`` validates an in-memory pandas DataFrame against a suite stored in ``expectations/``
(GX's own JSON; override the directory with ``OBS_EXPECTATIONS_DIR``) with one ephemeral GX context per
process, and returns a typed :class:`SuiteValidation`. :class:`GreatExpectationsObserver` plugs a suite into
an ``observed_asset`` as two checks: ``ge_<suite>_errors`` (blocking) and ``ge_<suite>_warnings``.

Results hold counts, percentages and aggregate observations only: no row values (``partial_unexpected_list``
and the like) unless ``OBS_GE_INCLUDE_UNEXPECTED=1``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Set before GX is imported: no usage analytics from pipeline workers.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

if TYPE_CHECKING:
    import great_expectations as gx

__all__ = [
    "ERROR",
    "WARN",
    "ExpectationOutcome",
    "SuiteValidation",
    "SuiteError",
    "GreatExpectationsObserver",
    "expectations_dir",
    "list_suites",
    "load_suite",
    "suite_info",
    "suite_parameters",
    "validate_dataframe",
    "include_unexpected_values",
]

ERROR, WARN = "error", "warn"
_GX_SEVERITY = {"critical": ERROR, "warning": WARN, "info": WARN}
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_UNEXPECTED_KEYS = (
    "partial_unexpected_list",
    "partial_unexpected_counts",
    "partial_unexpected_index_list",
    "unexpected_list",
    "unexpected_index_list",
    "unexpected_index_query",
    "unexpected_rows",
)
_MAX_UNEXPECTED = 20


class SuiteError(ValueError):
    """A suite that cannot be found, read or applied; the message says what to do."""


# --------------------------------------------------------------------------- suites


def expectations_dir() -> Path:
    """``OBS_EXPECTATIONS_DIR`` if set, else ``<project root>/expectations``."""
    override = os.environ.get("OBS_EXPECTATIONS_DIR")
    return Path(override).expanduser() if override else _PROJECT_ROOT / "expectations"


def list_suites(directory: str | Path | None = None) -> list[str]:
    root = Path(directory) if directory else expectations_dir()
    return sorted(p.stem for p in root.glob("*.json")) if root.is_dir() else []


def _suite_path(name: str, directory: str | Path | None) -> Path:
    root = Path(directory) if directory else expectations_dir()
    path = root / f"{name}.json"
    if not path.is_file():
        known = list_suites(root)
        hint = f"known suites: {', '.join(known)}" if known else f"{root} holds no suites; set OBS_EXPECTATIONS_DIR"
        raise SuiteError(f"no expectation suite {name!r} in {root} ({hint})")
    return path


@lru_cache(maxsize=64)
def _read_suite_json(path: str, mtime_ns: int) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SuiteError(f"cannot read expectation suite {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise SuiteError(f"{path} is not a Great Expectations suite (no 'expectations' list)")
    return data


def suite_info(name: str, directory: str | Path | None = None) -> dict:
    """The suite's JSON (GX format), read once per file version."""
    path = _suite_path(name, directory)
    return _read_suite_json(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _build_suite(path: str, mtime_ns: int) -> gx.ExpectationSuite:
    import great_expectations as gx

    _quiet_gx()
    data = dict(_read_suite_json(path, mtime_ns))
    try:
        return gx.ExpectationSuite(**data)
    except Exception as exc:  # GX raises various types for malformed expectations
        raise SuiteError(f"{path} is not a valid Great Expectations suite: {exc}") from exc


def load_suite(name: str, directory: str | Path | None = None) -> gx.ExpectationSuite:
    """The suite as a GX object, cached per process (and per file version)."""
    path = _suite_path(name, directory)
    return _build_suite(str(path), path.stat().st_mtime_ns)


def _severity(exp: Mapping[str, Any]) -> str:
    sev = (exp.get("meta") or {}).get("severity")
    if sev in (ERROR, WARN):
        return sev
    return _GX_SEVERITY.get(str(exp.get("severity") or "critical").lower(), ERROR)


def _required_parameters(data: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, Mapping):
            if "$PARAMETER" in v:
                found.add(str(v["$PARAMETER"]))
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(data.get("expectations", []))
    return found


_OFFSET_PARAMETER = re.compile(r"^partition_(start|end)(?:_(plus|minus)_(\d+)d)?$")


def suite_parameters(partition: str | dt.date | None, names: Iterable[str] = ()) -> dict[str, str]:
    """Suite parameters of a daily partition (ISO timestamps, naive UTC like the data).

    ``partition_start`` / ``partition_end``: the day; any of ``names`` of the form
    ``partition_start_minus_30d`` or ``partition_end_plus_2d``: that bound moved by whole days (windows
    around the day, such as a history before it or outcomes observed later). Other names are left to the
    caller."""
    if partition is None:
        return {}
    day = partition if isinstance(partition, dt.date) else dt.date.fromisoformat(str(partition))
    bounds = {"start": dt.datetime.combine(day, dt.time())}
    bounds["end"] = bounds["start"] + dt.timedelta(days=1)
    out = {"partition_start": bounds["start"].isoformat(), "partition_end": bounds["end"].isoformat()}
    for name in names:
        match = _OFFSET_PARAMETER.match(str(name))
        if match:
            bound, sign, days = match.groups()
            shift = dt.timedelta(days=int(days or 0)) * (-1 if sign == "minus" else 1)
            out[str(name)] = (bounds[bound] + shift).isoformat()
    return out


def describe_windows(names: Iterable[str]) -> list[str]:
    """Readable time windows of suite parameters: ``day``, ``day -30d..+2d`` (start and end offsets)."""
    offsets: dict[str, set[str]] = {"start": set(), "end": set()}
    other = []
    for name in names:
        match = _OFFSET_PARAMETER.match(str(name))
        if not match:
            other.append(str(name))
            continue
        bound, sign, days = match.groups()
        offsets[bound].add(f"{'-' if sign == 'minus' else '+'}{days}d" if days else "")
    windows = [f"day {a or '+0d'}..{b or '+0d'}" if a or b else "day"
               for a, b in zip(sorted(offsets["start"]), sorted(offsets["end"]))]
    return sorted(set(windows)) + sorted(other)


# --------------------------------------------------------------------------- GX context


def _quiet_gx() -> None:
    for name in ("great_expectations", "great_expectations.core", "great_expectations.expectations"):
        logging.getLogger(name).setLevel(logging.ERROR)


class _Runtime:
    """One ephemeral context, pandas data source, dataframe asset and batch definition per process."""

    _lock = threading.RLock()
    _batch_definition = None
    _pid: int | None = None

    @classmethod
    def batch_definition(cls):
        with cls._lock:
            if cls._batch_definition is None or cls._pid != os.getpid():
                import great_expectations as gx
                from great_expectations.data_context.types.base import ProgressBarsConfig

                _quiet_gx()
                context = gx.get_context(mode="ephemeral")
                context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
                asset = context.data_sources.add_pandas("obs_pandas").add_dataframe_asset("obs_frame")
                cls._batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")
                cls._pid = os.getpid()
            return cls._batch_definition


# --------------------------------------------------------------------------- results


def include_unexpected_values() -> bool:
    return os.environ.get("OBS_GE_INCLUDE_UNEXPECTED", "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's outcome: counts and aggregates, never row values (unless explicitly allowed)."""

    expectation_type: str
    column: str | None
    severity: str
    success: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    element_count: int | None = None
    observed_value: Any = None
    message: str = ""
    exception: str | None = None
    unexpected_values: list | None = None  # only with OBS_GE_INCLUDE_UNEXPECTED=1
    kwargs: dict = field(default_factory=dict)  # the expectation's parameters (as configured)

    @property
    def label(self) -> str:
        return self.column or "_table"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["unexpected_values"] is None:
            d.pop("unexpected_values")
        return _jsonable(d)


@dataclass(frozen=True)
class SuiteValidation:
    suite: str
    outcomes: tuple[ExpectationOutcome, ...]
    parameters: dict[str, str] = field(default_factory=dict)
    rows: int = 0

    @property
    def evaluated(self) -> int:
        return len(self.outcomes)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    @property
    def success(self) -> bool:
        return not self.failures

    @property
    def success_percent(self) -> float:
        return 100.0 if not self.outcomes else 100.0 * (self.evaluated - len(self.failures)) / self.evaluated

    def of_severity(self, severity: str) -> SuiteValidation:
        return SuiteValidation(
            self.suite, tuple(o for o in self.outcomes if o.severity == severity), self.parameters, self.rows
        )

    def summary(self) -> str:
        if self.success:
            return f"{self.suite}: all {self.evaluated} expectations passed"
        head = f"{self.suite}: {len(self.failures)} of {self.evaluated} expectations failed"
        return head + ": " + "; ".join(o.message for o in self.failures)

    def markdown(self) -> str:
        if not self.failures:
            return f"All {self.evaluated} expectations passed."
        lines = ["| severity | expectation | column | unexpected % | message |", "|---|---|---|---|---|"]
        for o in self.failures:
            pct = "" if o.unexpected_percent is None else f"{o.unexpected_percent:.2f}"
            msg = o.message.replace("|", "\\|")
            lines.append(f"| {o.severity} | {o.expectation_type} | {o.column or ''} | {pct} | {msg} |")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "success": self.success,
            "success_percent": self.success_percent,
            "evaluated": self.evaluated,
            "failed": len(self.failures),
            "rows": self.rows,
            "parameters": dict(self.parameters),
            "results": [o.to_dict() for o in self.outcomes],
        }


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, str, int)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "item"):  # numpy scalars
        try:
            return _jsonable(v.item())
        except (TypeError, ValueError):
            pass
    if isinstance(v, (dt.datetime, dt.date, pd.Timestamp)):
        return v.isoformat()
    return str(v)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, Mapping) and "$PARAMETER" in v:
        return f"${v['$PARAMETER']}"
    return str(v)


def _is_aggregate(value: Any) -> bool:
    return isinstance(value, (bool, int, float, str)) or value is None


# Expectation types whose observed_value is a list of schema names, not row values.
_SCHEMA_OBSERVATIONS = {"expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list"}
# Statistics that are one row's value (the minimum, the maximum, a median or quantile of an odd sample):
# rounded like the numbers of lineage events (lineage.emission.privacy) before they reach metadata or messages.
_ROW_VALUE_STATISTICS = {"expect_column_min_to_be_between", "expect_column_max_to_be_between",
                         "expect_column_median_to_be_between", "expect_column_quantile_values_to_be_between"}


def _coarsened(exp_type: str, observed: Any) -> Any:
    if exp_type not in _ROW_VALUE_STATISTICS:
        return observed
    from lineage.emission import privacy

    digits = privacy.precision_from_env()

    def walk(value: Any) -> Any:
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float, np.integer, np.floating)):
            return privacy.coarsen(float(value), digits)
        if isinstance(value, Mapping):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        return value

    return walk(observed)


def _message(exp_type: str, column: str | None, kw: Mapping[str, Any], res: Mapping[str, Any],
             observed: Any, exception: str | None, infinite: int = 0) -> str:
    where = column or "table"
    if exception:
        if "does not exist" in exception or "not found" in exception.lower():
            return f"{where}: column missing ({exp_type})"
        return f"{where}: could not be evaluated ({exp_type}: {exception})"
    pct = res.get("unexpected_percent")
    mostly = kw.get("mostly")
    expect_all = "all rows" if mostly in (None, 1, 1.0) else f"mostly {_fmt(mostly)}"
    if exp_type == "expect_column_values_to_not_be_null":
        return f"{where}: {pct:.1f}% null ({expect_all} expected non-null)" if pct is not None else f"{where}: nulls"
    if exp_type == "expect_column_values_to_be_unique":
        return f"{where}: {pct:.1f}% of rows have duplicated values (a key must be unique)"
    if exp_type == "expect_column_values_to_be_between":
        rng = f"[{_fmt(kw.get('min_value'))}, {_fmt(kw.get('max_value'))}]"
        return f"{where}: {pct:.1f}% outside {rng} ({expect_all} expected inside)"
    if exp_type == "expect_column_values_to_be_in_set":
        n = len(kw.get("value_set") or [])
        return f"{where}: {pct:.1f}% not in the expected set of {n} values ({expect_all} expected in it)"
    if exp_type in ("expect_column_values_to_be_of_type", "expect_column_values_to_be_in_type_list"):
        want = kw.get("type_") or kw.get("type_list")
        return f"{where}: unexpected type {observed} (expected {want})"
    if exp_type == "expect_column_to_exist":
        return f"{where}: column missing"
    if exp_type == "expect_table_columns_to_match_set":
        want = set(kw.get("column_set") or [])
        have = set(observed or []) if isinstance(observed, list) else set()
        missing, extra = sorted(want - have), sorted(have - want)
        parts = [f"missing {missing}" if missing else "", f"unexpected {extra}" if extra and kw.get("exact_match", True) else ""]
        return "table: columns differ from the contract: " + ", ".join(p for p in parts if p)
    if exp_type == "expect_table_row_count_to_be_between":
        lo, hi = kw.get("min_value"), kw.get("max_value")
        band = (f"at least {_fmt(lo)}" if hi is None else f"at most {_fmt(hi)}" if lo is None
                else f"between {_fmt(lo)} and {_fmt(hi)}")
        return f"table: {observed} rows{', the partition is empty' if observed == 0 else ''} (expected {band})"
    if exp_type == "expect_column_pair_values_a_to_be_greater_than_b":
        op = ">=" if kw.get("or_equal") else ">"
        return f"{kw.get('column_A')} {op} {kw.get('column_B')} fails on {pct:.1f}% of rows"
    if pct is not None:
        return f"{where}: {pct:.1f}% unexpected ({exp_type}, {expect_all})"
    if observed is not None and _is_aggregate(observed):
        lo, hi = kw.get("min_value"), kw.get("max_value")
        band = f" (expected between {_fmt(lo)} and {_fmt(hi)})" if lo is not None or hi is not None else ""
        return f"{where}: observed {_fmt(observed)}{band} ({exp_type})"
    raw = res.get("observed_value")
    if column and ((isinstance(raw, float) and not math.isfinite(raw)) or (raw is None and infinite)):
        # e.g. the mean of a column holding inf (GX reports +inf and -inf together as no value)
        return f"{where}: the observed statistic is not a finite number ({exp_type})"
    if column and raw is None:
        return f"{where}: no non-null values to evaluate ({exp_type})"
    return f"{where}: failed {exp_type}"


def _frame_facts(df: pd.DataFrame) -> tuple[frozenset[str], dict[str, int]]:
    """Column names present and, per float column holding any, the count of infinite values (no values)."""
    infinite: dict[str, int] = {}
    for name in df.columns:
        series = df[name]
        if pd.api.types.is_float_dtype(series.dtype):
            n = int(np.isinf(series.to_numpy(dtype="float64", na_value=np.nan)).sum())
            if n:
                infinite[str(name)] = n
    return frozenset(str(c) for c in df.columns), infinite


def _outcome(r: Any, include_unexpected: bool,
             facts: tuple[frozenset[str], dict[str, int]] | None = None) -> ExpectationOutcome:
    cfg = r.expectation_config
    kw = dict(cfg.kwargs)
    exp_type = cfg.type
    column = kw.get("column") or (f"{kw['column_A']},{kw['column_B']}" if "column_A" in kw else None)
    severity = _severity({"meta": cfg.meta or {}, "severity": getattr(cfg, "severity", None)})
    res = dict(r.result or {})
    info = r.exception_info or {}
    exception = None
    if info.get("raised_exception"):
        exception = str(info.get("exception_message") or "exception").splitlines()[0][:200]
    else:  # several expectations in a graph may report exceptions keyed by metric id
        for v in info.values() if isinstance(info, Mapping) else ():
            if isinstance(v, Mapping) and v.get("raised_exception"):
                exception = str(v.get("exception_message") or "exception").splitlines()[0][:200]
                break
    observed = res.get("observed_value")
    if exp_type not in _SCHEMA_OBSERVATIONS and not _is_aggregate(observed):
        observed = None  # e.g. distinct values: row values, not an aggregate
    if isinstance(observed, float) and not math.isfinite(observed):
        observed = None
    observed = _coarsened(exp_type, observed)
    unexpected = None
    if include_unexpected and not r.success:
        values = res.get("partial_unexpected_list")
        if values is not None:
            unexpected = _jsonable(list(values)[:_MAX_UNEXPECTED])
    pct = res.get("unexpected_percent")
    count = res.get("unexpected_count")
    col = kw.get("column") if isinstance(kw.get("column"), str) else None
    present, infinite = facts if facts is not None else (None, {})
    n_inf = infinite.get(col, 0) if col else 0
    message = "" if r.success else _message(exp_type, col, kw, res, observed, exception, n_inf)
    if not r.success and col:
        if present is not None and col not in present and exp_type != "expect_column_to_exist":
            message = f"{col}: column missing ({exp_type})"  # GX's own errors for it vary and are cryptic
        elif n_inf:
            message += f"; {col} holds {n_inf} infinite value{'s' if n_inf != 1 else ''} (inf/-inf)"
    return ExpectationOutcome(
        expectation_type=exp_type,
        column=column,
        severity=severity,
        success=bool(r.success),
        unexpected_count=None if count is None else int(count),
        unexpected_percent=None if pct is None else float(pct),
        element_count=None if res.get("element_count") is None else int(res["element_count"]),
        observed_value=_jsonable(observed),
        message=message,
        exception=exception,
        unexpected_values=unexpected,
        kwargs=_jsonable({k: v for k, v in kw.items() if k not in ("batch_id",)}),
    )


def validate_dataframe(
    df: pd.DataFrame,
    suite: str,
    partition: str | dt.date | None = None,
    *,
    parameters: Mapping[str, Any] | None = None,
    directory: str | Path | None = None,
    include_unexpected: bool | None = None,
) -> SuiteValidation:
    """Validate ``df`` against the stored suite ``suite`` with the partition's suite parameters.

    Raises :class:`SuiteError` when the suite is missing or needs parameters that are not supplied
    (pass ``partition`` or ``parameters``).
    """
    from great_expectations.validator.v1_validator import Validator as V1Validator

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"validate_dataframe takes a pandas DataFrame, got {type(df).__name__}")
    gx_suite = load_suite(suite, directory)
    required = _required_parameters(suite_info(suite, directory))
    params = {**suite_parameters(partition, required), **dict(parameters or {})}
    missing = required - set(params)
    if missing:
        raise SuiteError(
            f"suite {suite!r} needs suite parameters {sorted(missing)}; pass the daily partition key "
            f"(YYYY-MM-DD) so they can be derived, or supply them explicitly"
        )
    include = include_unexpected_values() if include_unexpected is None else include_unexpected
    result_format = {
        "result_format": "BASIC",
        "partial_unexpected_count": _MAX_UNEXPECTED if include else 0,
        "include_unexpected_rows": False,
    }
    validator = V1Validator(
        batch_definition=_Runtime.batch_definition(),
        batch_parameters={"dataframe": df},
        result_format=result_format,
    )
    with _Runtime._lock:  # one GX validation at a time per process (the context is shared)
        result = validator.validate_expectation_suite(gx_suite, expectation_parameters=params or None)
    facts = None if result.success else _frame_facts(df)  # only failure messages use them
    outcomes = tuple(_outcome(r, include, facts) for r in result.results)
    return SuiteValidation(suite=suite, outcomes=outcomes, parameters=params, rows=len(df))


def __getattr__(name: str) -> Any:
    # The Dagster observer lives in great_expectations_dagster (it imports dagster, which the CLI's validation
    # path does not need); kept importable from here for the asset definitions and callers of the old path.
    if name in ("GreatExpectationsObserver", "check_metadata"):
        from observability_pipelines.checks import great_expectations_dagster

        return getattr(great_expectations_dagster, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Build the Great Expectations suites of the reference pipelines: ``expectations/<asset>.json``.

Run ``python expectations/build_suites.py`` after changing a contract; the runtime reads the JSON files
(GX's own ``ExpectationSuite.to_json_dict()`` format), so commit them.

Severity (``meta.severity``, mirrored in GX's own ``severity`` field):

* ``error`` (blocking): schema (columns, types), row count >= 1, keys (not null, unique; at the sources
  also their format), the partition
  window of each table's own time column (a stale re-delivery of another day), and hard domain invariants
  (shares and scores in [0, 1], binary labels, ordinal encodings in {-1..k}).
* ``warn``: plausible ranges, categorical vocabularies, nulls in non-key columns, means, row relationships.

Time windows use suite parameters supplied at validation time from the partition key (see
``observability_pipelines.checks.great_expectations.suite_parameters``):
``partition_start`` / ``partition_end`` (the day), ``partition_start_minus_30d`` / ``partition_end_plus_2d``
(the transactions: 30 days before the day to 2 days after it), ``partition_start_plus_90d`` /
``partition_end_plus_90d`` (the labels: the day + 90 days).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
if str(ROOT.parent) not in sys.path:  # runnable as a plain script from anywhere
    sys.path.insert(0, str(ROOT.parent))

import great_expectations as gx  # noqa: E402
from great_expectations.expectations.metadata_types import FailureSeverity  # noqa: E402

from observability_pipelines.data.contracts import (  # noqa: E402
    CATEGORICAL,
    CONTRACTS,
    INTEGER,
    NUMERIC,
    STRING,
    TIMESTAMP,
    VOCABULARIES,
)
from observability_pipelines.data.generator import (  # noqa: E402
    CHANNELS,
    GENDERS,
    MERCHANT_CATEGORIES,
)

E = gx.expectations
ERROR, WARN = "error", "warn"

# Column dtypes as GX's expect_column_values_to_be_of_type sees them on pandas: it compares the dtype's
# scalar type, so "int64" accepts both numpy int64 and the nullable Int64 the clean layer uses, "str"
# accepts pandas 3's str dtype, and "datetime64" any datetime64 unit.
GX_TYPES = {NUMERIC: "float64", INTEGER: "int64", CATEGORICAL: "str", STRING: "str", TIMESTAMP: "datetime64"}

TIME_WINDOWS = {
    "partition": ("partition_start", "partition_end"),
    # the generic offset form of checks/great_expectations.suite_parameters: a window around the day
    "transactions": ("partition_start_minus_30d", "partition_end_plus_2d"),
    "labels": ("partition_start_plus_90d", "partition_end_plus_90d"),
}

CUSTOMER_RANGES = {  # observed over a year of generated data, with a wide margin
    "age": (18, 85),
    "employment_years": (0, 60),
    "income": (1_000, 5_000_000),
    "loan_amount": (100, 5_000_000),
}
TERMS = [12, 24, 36, 60]
# Key formats as the generator writes them (C + day + 5 digits, T + day + 7 digits), on every source
# column holding a key: a garbled or re-coded key fails at the source that delivered it.
KEY_FORMATS = {"customer_id": r"^C\d{13}$", "transaction_id": r"^T\d{15}$"}


def _x(cls: type, severity: str, notes: str | None = None, **kwargs: Any):
    return cls(
        **kwargs,
        meta={"severity": severity},
        severity=FailureSeverity.CRITICAL if severity == ERROR else FailureSeverity.WARNING,
        notes=notes,
    )


def _param(name: str) -> dict[str, str]:
    return {"$PARAMETER": name}


def schema(asset: str, *, exact: bool = True) -> list:
    contract = CONTRACTS[asset]
    out = [
        _x(E.ExpectTableColumnsToMatchSet, ERROR, "Schema: the contract's columns" + (", nothing else" if exact else ""),
           column_set=list(contract.columns), exact_match=exact),
        _x(E.ExpectTableRowCountToBeBetween, ERROR, "At least one row per materialization", min_value=1),
    ]
    for column, kind in contract.columns.items():
        out.append(_x(E.ExpectColumnToExist, ERROR, column=column))
        out.append(_x(E.ExpectColumnValuesToBeOfType, ERROR, f"{kind} column", column=column, type_=GX_TYPES[kind]))
    for column in contract.key:
        out.append(_x(E.ExpectColumnValuesToNotBeNull, ERROR, "Key", column=column))
        out.append(_x(E.ExpectColumnValuesToBeUnique, ERROR, "Key", column=column))
    return out


def key_formats(asset: str) -> list:
    return [_x(E.ExpectColumnValuesToMatchRegex, ERROR, "Key format", column=c, regex=KEY_FORMATS[c])
            for c in CONTRACTS[asset].columns if c in KEY_FORMATS]


def not_null(columns, severity: str = WARN, mostly: float | None = None) -> list:
    kwargs = {"mostly": mostly} if mostly is not None else {}
    return [_x(E.ExpectColumnValuesToNotBeNull, severity, column=c, **kwargs) for c in columns]


def between(column: str, lo, hi, severity: str = WARN, notes: str | None = None, **kwargs) -> Any:
    return _x(E.ExpectColumnValuesToBeBetween, severity, notes, column=column, min_value=lo, max_value=hi, **kwargs)


def in_set(column: str, values, severity: str = WARN, notes: str | None = None) -> Any:
    return _x(E.ExpectColumnValuesToBeInSet, severity, notes, column=column, value_set=list(values))


def time_window(column: str, window: str, notes: str) -> Any:
    start, end = TIME_WINDOWS[window]
    return between(column, _param(start), _param(end), ERROR, notes)


def customers(asset: str, *, raw: bool) -> list:
    genders = GENDERS if raw else [g.lower() for g in GENDERS]
    return [
        *schema(asset, exact=not raw),
        *(key_formats(asset) if raw else []),
        *not_null(["application_ts"], ERROR),
        *not_null([c for c in CONTRACTS[asset].columns if c not in ("customer_id", "application_ts")]),
        time_window("application_ts", "partition", "Applications of the partition day only (catches stale re-deliveries)"),
        *[between(c, lo, hi) for c, (lo, hi) in CUSTOMER_RANGES.items()],
        in_set("term_months", TERMS),
        in_set("gender", genders),
        in_set("region", VOCABULARIES["region"]),
        in_set("home_ownership", VOCABULARIES["home_ownership"]),
        in_set("loan_purpose", VOCABULARIES["loan_purpose"]),
        _x(E.ExpectColumnPairValuesAToBeGreaterThanB, WARN, "Nobody worked longer than they lived",
           column_A="age", column_B="employment_years", ignore_row_if="either_value_is_missing"),
        _x(E.ExpectColumnMeanToBeBetween, WARN, "Typical income level", column="income", min_value=20_000, max_value=200_000),
    ]


def transactions(asset: str, *, raw: bool) -> list:
    return [
        *schema(asset, exact=not raw),
        *(key_formats(asset) if raw else []),
        *not_null(["customer_id", "transaction_ts"], ERROR),
        *not_null(["amount", "merchant_category", "channel"]),
        time_window("transaction_ts", "transactions",
                    "Transactions of the day's applicants: from 30 days before to 2 days after (catches stale re-deliveries)"),
        between("amount", 0.01, 50_000),
        in_set("merchant_category", MERCHANT_CATEGORIES),
        in_set("channel", CHANNELS),
        _x(E.ExpectColumnMeanToBeBetween, WARN, "Typical ticket size", column="amount", min_value=20, max_value=500),
        # Volume normalised by the day's applicants, so weekday seasonality cancels: ~12 transactions per
        # applicant means ~8.3% distinct customer ids (0.075-0.093 raw, 0.082-0.101 after cleaning, over a
        # year at 100 applicants/day). Lost rows raise the share (30% loss: >= 0.105), duplicates lower it.
        _x(E.ExpectColumnProportionOfUniqueValuesToBeBetween, WARN,
           "Volume: transactions per applicant (a higher share of distinct applicants means lost rows)",
           column="customer_id", min_value=0.05, max_value=0.099 if raw else 0.108),
    ]


def labels(asset: str, *, raw: bool) -> list:
    return [
        *schema(asset, exact=not raw),
        *(key_formats(asset) if raw else []),
        *not_null(["defaulted", "label_observed_ts"], ERROR),
        in_set("defaulted", [0, 1], ERROR, "Binary label"),
        time_window("label_observed_ts", "labels", "Outcomes of the partition day's applications, observed 90 days later"),
        _x(E.ExpectColumnMeanToBeBetween, WARN, "Default rate in a plausible band", column="defaulted",
           min_value=0.05, max_value=0.6),
    ]


def features(asset: str) -> list:
    share_cols = ["online_share_30d", "gambling_share_30d"]
    txn_cols = ["txn_amount_sum_30d", "txn_amount_mean_30d", *share_cols]
    out = [
        *schema(asset),
        *not_null(["application_ts"], ERROR),
        *not_null(["gender", "age", "income", "employment_years", "loan_amount", "term_months",
                   "loan_to_income", "monthly_payment_ratio", "txn_count_30d"]),
        # Applicants without a transaction in the window have no aggregates (well under 1% of them).
        *not_null(txn_cols, WARN, mostly=0.97),
        *not_null(["region_code", "home_ownership_code", "purpose_code"]),
        time_window("application_ts", "partition", "Applications of the partition day only"),
        in_set("gender", [g.lower() for g in GENDERS]),
        *[between(c, lo, hi) for c, (lo, hi) in CUSTOMER_RANGES.items()],
        in_set("term_months", TERMS),
        between("loan_to_income", 0, 3),
        between("monthly_payment_ratio", 0, 3),
        between("txn_count_30d", 0, 150),
        between("txn_amount_sum_30d", 0, 200_000),
        between("txn_amount_mean_30d", 0, 50_000),
        *[between(c, 0, 1, ERROR, "A share") for c in share_cols],
        in_set("region_code", range(-1, len(VOCABULARIES["region"])), ERROR, "Ordinal encoding, -1 = unknown"),
        in_set("home_ownership_code", range(-1, len(VOCABULARIES["home_ownership"])), ERROR, "Ordinal encoding, -1 = unknown"),
        in_set("purpose_code", range(-1, len(VOCABULARIES["loan_purpose"])), ERROR, "Ordinal encoding, -1 = unknown"),
        _x(E.ExpectColumnPairValuesAToBeGreaterThanB, WARN, "A sum of positive amounts is at least their mean",
           column_A="txn_amount_sum_30d", column_B="txn_amount_mean_30d", or_equal=True,
           ignore_row_if="either_value_is_missing"),
        _x(E.ExpectColumnMeanToBeBetween, WARN, "Typical transaction activity", column="txn_count_30d",
           min_value=3, max_value=40),
    ]
    return out


def training(asset: str) -> list:
    return [
        *features(asset),  # the schema part follows the training_set contract
        *not_null(["defaulted", "label_observed_ts", "split"], ERROR),
        in_set("defaulted", [0, 1], ERROR, "Binary label"),
        in_set("split", ["train", "test"], ERROR, "Deterministic train/test split"),
        time_window("label_observed_ts", "labels", "Outcomes of the partition day's applications"),
        _x(E.ExpectColumnPairValuesAToBeGreaterThanB, ERROR, "Point in time: the label is observed after the application",
           column_A="label_observed_ts", column_B="application_ts", ignore_row_if="either_value_is_missing"),
        _x(E.ExpectColumnMeanToBeBetween, WARN, "Default rate in a plausible band", column="defaulted",
           min_value=0.05, max_value=0.6),
    ]


def evaluation(asset: str) -> list:
    return [
        *schema(asset),
        in_set("metric", ["accuracy", "precision", "recall", "f1", "roc_auc"], ERROR, "Known metrics"),
        _x(E.ExpectTableRowCountToBeBetween, WARN, "Every metric reported", min_value=5, max_value=5),
        between("value", 0, 1, ERROR, "Metrics are proportions"),
        *not_null(["value", "test_rows"]),
        *not_null(["model_version"], ERROR),
        between("test_rows", 1, None, WARN, "A non-empty test split"),
        _x(E.ExpectColumnUniqueValueCountToBeBetween, WARN, "One model version per evaluation",
           column="model_version", min_value=1, max_value=1),
    ]


def predictions(asset: str) -> list:
    return [
        *schema(asset),
        *not_null(["application_ts", "score", "predicted_default", "model_version"], ERROR),
        *not_null(["gender"]),
        time_window("application_ts", "partition", "Applications of the partition day only"),
        in_set("gender", [g.lower() for g in GENDERS]),
        between("score", 0, 1, ERROR, "A probability"),
        in_set("predicted_default", [0, 1], ERROR, "Binary decision"),
        _x(E.ExpectColumnUniqueValueCountToBeBetween, WARN, "One model version per batch",
           column="model_version", min_value=1, max_value=1),
        _x(E.ExpectColumnMeanToBeBetween, WARN, "Approval policy sanity: not everybody declined",
           column="predicted_default", min_value=0, max_value=0.9),
    ]


BUILDERS = {
    "raw_customers": lambda: customers("raw_customers", raw=True),
    "raw_transactions": lambda: transactions("raw_transactions", raw=True),
    "raw_labels": lambda: labels("raw_labels", raw=True),
    "clean_customers": lambda: customers("clean_customers", raw=False),
    "clean_transactions": lambda: transactions("clean_transactions", raw=False),
    "clean_labels": lambda: labels("clean_labels", raw=False),
    "customer_features": lambda: features("customer_features"),
    "training_set": lambda: training("training_set"),
    "model_evaluation": lambda: evaluation("model_evaluation"),
    "batch_predictions": lambda: predictions("batch_predictions"),
}


def _parameters(suite_json: dict) -> list[str]:
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if "$PARAMETER" in v:
                found.add(v["$PARAMETER"])
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(suite_json["expectations"])
    return sorted(found)


def build(asset: str) -> dict:
    suite = gx.ExpectationSuite(
        name=asset,
        expectations=BUILDERS[asset](),
        meta={"asset": asset, "generated_by": "expectations/build_suites.py"},
    )
    data = suite.to_json_dict()
    data["meta"]["suite_parameters"] = _parameters(data)
    data["meta"].pop("great_expectations_version", None)  # keep the files stable across GX patch releases
    return data


def main(out_dir: Path = ROOT) -> list[Path]:
    written = []
    for asset in BUILDERS:
        path = out_dir / f"{asset}.json"
        path.write_text(json.dumps(build(asset), indent=2, sort_keys=False) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT):
        print(p)

"""Cross-asset checks Great Expectations cannot express: row relationships between tables of one partition.

Each check is a Dagster ``@asset_check`` with ``additional_ins`` (it runs in its own step, after the
tables exist), partitioned like its asset; the additional inputs share the daily partitions and map to the
same partition. The logic lives in plain functions (``orphan_transactions`` ...) that take DataFrames and
return a ``dg.AssetCheckResult`` with numeric metadata, so it can be tested and reused without Dagster runs.
Results carry counts and ratios only, never row values.

The three sources share one key (``customer_id``); when two disagree, the third decides which one is wrong,
so a key fault fails at the source where it happened: lost applicants at raw_customers, lost or garbled
labels at raw_labels, garbled or foreign transaction keys at raw_transactions.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
import pandas as pd

from observability_pipelines.assets.partitions import daily_partitions

__all__ = [
    "DEFAULT_TRANSACTIONS_BAND",
    "TRANSACTIONS_BAND_FACTORS",
    "orphan_transactions",
    "transactions_have_applicants",
    "transactions_per_applicant",
    "labels_cover_applicants",
    "features_match_customers",
    "training_rows_match_join",
    "expected_transactions_per_customer",
    "relationship_checks",
]

ORPHAN_TOLERANCE = 0.001  # share of transactions whose applicant is unknown
LABEL_RATIO_TOLERANCE = 0.01  # |labels / applicants - 1|
# Relative band around the generator's configured mean (12 by default -> 9 .. 15.6 transactions per
# applicant). Clean days stay within about 11 .. 13 at 150..1700 applicants a day; losing 30% of the
# transactions gives ~8.4, losing 30% of the applicants ~17.
TRANSACTIONS_BAND_FACTORS = (0.75, 1.3)
# When the expectation is unknown (the user's own files), a wide absolute band.
DEFAULT_TRANSACTIONS_BAND = (6.0, 20.0)


# Partitioned like the checked asset (without it, a check's additional inputs would load every partition);
# the additional inputs share the same daily partitions and so map to the same day.
_PARTITIONED: dict = {"partitions_def": daily_partitions}


def _asset_check(**kwargs):
    """A partitioned ``dg.asset_check`` whose evaluations are also reported as OpenLineage events."""
    from observability_pipelines.observe.openlineage import reported_asset_check

    return reported_asset_check(**kwargs)


def _missing(df: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    return [c for c in columns if c not in df.columns]


def _cannot_evaluate(check: str, problems: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=check,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"cannot evaluate: {'; '.join(problems)}",
        metadata={"evaluated": dg.MetadataValue.bool(False)},
    )


def _keys(s: pd.Series) -> pd.Series:
    return s.dropna().astype("str")


def _key_set(df: pd.DataFrame | None) -> set[str] | None:
    return None if df is None or "customer_id" not in df.columns else set(_keys(df["customer_id"]))


def orphan_transactions(
    customers: pd.DataFrame, transactions: pd.DataFrame, labels: pd.DataFrame | None = None,
    tolerance: float = ORPHAN_TOLERANCE, check_name: str = "orphan_transactions",
) -> dg.AssetCheckResult:
    """Share of transactions whose applicant is missing from the day's applicants (0 normally).

    With ``labels``, the third source decides who is wrong: an orphan whose applicant the labels know was
    lost by the customers table (this check fails); one the labels do not know either belongs to a garbled
    or foreign key in the transactions (``transactions_have_applicants`` fails there instead).
    """
    problems = [f"{name} has no customer_id column" for name, df in (("raw_customers", customers), ("raw_transactions", transactions))
                if _missing(df, ["customer_id"])]
    if problems:
        return _cannot_evaluate(check_name, problems)
    known = set(_keys(customers["customer_id"]))
    tx_ids = _keys(transactions["customer_id"])
    orphan = ~tx_ids.isin(known)
    witnessed = _key_set(labels)
    lost = orphan & tx_ids.isin(witnessed) if witnessed is not None else orphan
    share = float(lost.sum()) / len(tx_ids) if len(tx_ids) else 0.0
    applicants_without_tx = len(known - set(tx_ids)) / len(known) if known else 0.0
    passed = share <= tolerance
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{share:.2%} of {len(tx_ids)} transactions belong to an applicant missing from the day's applicants"
            + (" (the labels know them)" if witnessed is not None else "") + f" (tolerance {tolerance:.2%})"
            + ("" if passed else ": applicants were lost")
        ),
        metadata={
            "orphan_share": dg.MetadataValue.float(share),
            "orphan_transactions": dg.MetadataValue.int(int(lost.sum())),
            "unattributed_orphan_transactions": dg.MetadataValue.int(int((orphan & ~lost).sum())),
            "transactions": dg.MetadataValue.int(len(tx_ids)),
            "applicants": dg.MetadataValue.int(len(known)),
            "applicants_without_transactions_share": dg.MetadataValue.float(float(applicants_without_tx)),
            "tolerance": dg.MetadataValue.float(float(tolerance)),
        },
    )


def transactions_have_applicants(
    customers: pd.DataFrame, transactions: pd.DataFrame, labels: pd.DataFrame,
    tolerance: float = ORPHAN_TOLERANCE, check_name: str = "transactions_have_applicants",
) -> dg.AssetCheckResult:
    """Share of transactions whose customer_id neither the applicants nor the labels know (0 normally):
    garbled keys, or another day's transactions."""
    problems = [f"{name} has no customer_id column" for name, df in
                (("raw_customers", customers), ("raw_transactions", transactions), ("raw_labels", labels))
                if _missing(df, ["customer_id"])]
    if problems:
        return _cannot_evaluate(check_name, problems)
    tx_ids = _keys(transactions["customer_id"])
    unknown = ~tx_ids.isin(set(_keys(customers["customer_id"])) | set(_keys(labels["customer_id"])))
    share = float(unknown.sum()) / len(tx_ids) if len(tx_ids) else 0.0
    passed = share <= tolerance
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{share:.2%} of {len(tx_ids)} transactions have a customer_id unknown to both the applicants and the "
            f"labels (tolerance {tolerance:.2%})" + ("" if passed else ": garbled keys or another day's transactions")
        ),
        metadata={
            "unknown_customer_share": dg.MetadataValue.float(share),
            "unknown_customer_transactions": dg.MetadataValue.int(int(unknown.sum())),
            "transactions": dg.MetadataValue.int(len(tx_ids)),
            "tolerance": dg.MetadataValue.float(float(tolerance)),
        },
    )


def transactions_per_applicant(
    customers: pd.DataFrame, transactions: pd.DataFrame, expected: float | None = None,
    check_name: str = "transactions_per_applicant", labels: pd.DataFrame | None = None,
) -> dg.AssetCheckResult:
    """Transactions per applicant within a band around the expected mean (or 6..20 when unknown).

    With ``labels``, the applicants are the keys at least two of the three sources know, so a fault in the
    customers table (lost applicants, another day's applicants) does not make the transactions look wrong.
    """
    if expected:
        lo, hi = (f * expected for f in TRANSACTIONS_BAND_FACTORS)
    else:
        lo, hi = DEFAULT_TRANSACTIONS_BAND
    n_c, n_t = len(customers), len(transactions)
    labelled, known, tx_keys = _key_set(labels), _key_set(customers), _key_set(transactions)
    if labelled is not None and known is not None and tx_keys is not None:
        n_c = len((known & tx_keys) | (known & labelled) | (tx_keys & labelled))
    ratio = n_t / n_c if n_c else float("inf") if n_t else 0.0
    passed = n_c > 0 and lo <= ratio <= hi
    direction = "too few transactions (lost rows?)" if ratio < lo else "too many transactions or too few applicants"
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{ratio:.2f} transactions per applicant ({n_t} / {n_c}); expected {lo:.1f} .. {hi:.1f}"
            + ("" if passed else f": {direction}")
        ),
        metadata={
            "transactions_per_applicant": dg.MetadataValue.float(float(ratio) if n_c else 0.0),
            "band_low": dg.MetadataValue.float(float(lo)),
            "band_high": dg.MetadataValue.float(float(hi)),
            "expected_mean": dg.MetadataValue.float(float(expected or 0.0)),
            "transactions": dg.MetadataValue.int(n_t),
            "applicants": dg.MetadataValue.int(n_c),
        },
    )


def labels_cover_applicants(
    customers: pd.DataFrame, labels: pd.DataFrame, transactions: pd.DataFrame | None = None,
    tolerance: float = LABEL_RATIO_TOLERANCE, check_name: str = "labels_cover_applicants",
) -> dg.AssetCheckResult:
    """One label per applicant: no duplicates, no unlabelled applicants, no labels for unknown applicants.

    With ``transactions``, the third source decides who is wrong when applicants and labels disagree: an
    unlabelled applicant counts only if the transactions know it too (else the applicant row is the odd
    one), and a label for an applicant missing from the customers counts only if the transactions do not
    know that applicant either (else the customers table lost it: ``orphan_transactions`` fails there).
    """
    problems = [f"{name} has no customer_id column" for name, df in (("raw_customers", customers), ("raw_labels", labels))
                if _missing(df, ["customer_id"])]
    if problems:
        return _cannot_evaluate(check_name, problems)
    applicants = set(_keys(customers["customer_id"]))
    label_ids = _keys(labels["customer_id"])
    n_labels = len(labels)
    ratio = n_labels / len(applicants) if applicants else (0.0 if not n_labels else float("inf"))
    duplicates = int(label_ids.duplicated().sum())
    labelled = set(label_ids)
    witnessed = _key_set(transactions)
    expected = applicants & witnessed if witnessed is not None else applicants
    foreign = labelled - applicants - (witnessed or set())
    unlabelled = len(expected - labelled) / len(expected) if expected else 0.0
    unknown = len(foreign) / len(labelled) if labelled else 0.0
    passed = bool(applicants) and duplicates == 0 and unlabelled <= tolerance and unknown <= tolerance
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{n_labels} labels for {len(applicants)} applicants (ratio {ratio:.3f}); {duplicates} duplicated, "
            f"{unlabelled:.1%} applicants unlabelled, {unknown:.1%} labels for unknown applicants"
            + ("" if witnessed is None else f"; {len(labelled - applicants - foreign)} labelled applicants "
               "missing from the customers but known to the transactions (not the labels' fault)")
        ),
        metadata={
            "label_ratio": dg.MetadataValue.float(float(ratio) if applicants else 0.0),
            "labels": dg.MetadataValue.int(n_labels),
            "applicants": dg.MetadataValue.int(len(applicants)),
            "duplicate_labels": dg.MetadataValue.int(duplicates),
            "unlabelled_share": dg.MetadataValue.float(float(unlabelled)),
            "unknown_applicant_share": dg.MetadataValue.float(float(unknown)),
            "tolerance": dg.MetadataValue.float(float(tolerance)),
        },
    )


def features_match_customers(
    customers: pd.DataFrame, features: pd.DataFrame, check_name: str = "rows_match_clean_customers",
) -> dg.AssetCheckResult:
    """One feature row per clean applicant: same row count and the same ids."""
    n_c, n_f = len(customers), len(features)
    same_ids = None
    if not _missing(customers, ["customer_id"]) and not _missing(features, ["customer_id"]):
        same_ids = set(_keys(customers["customer_id"])) == set(_keys(features["customer_id"]))
    passed = n_c == n_f and same_ids is not False
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{n_f} feature rows for {n_c} clean applicants" + ("" if same_ids is not False else "; the ids differ"),
        metadata={
            "feature_rows": dg.MetadataValue.int(n_f),
            "customer_rows": dg.MetadataValue.int(n_c),
            "row_difference": dg.MetadataValue.int(n_f - n_c),
            "same_ids": dg.MetadataValue.bool(bool(same_ids)) if same_ids is not None else dg.MetadataValue.bool(False),
        },
    )


def training_rows_match_join(
    features: pd.DataFrame, labels: pd.DataFrame, training: pd.DataFrame,
    check_name: str = "rows_match_features_join_labels",
) -> dg.AssetCheckResult:
    """Training rows == features inner-joined with labels observed after the application (point in time)."""
    need = {"customer_features": (features, ["customer_id", "application_ts"]),
            "clean_labels": (labels, ["customer_id", "label_observed_ts"])}
    problems = [f"{name} lacks {miss}" for name, (df, cols) in need.items() if (miss := _missing(df, cols))]
    if problems:
        return _cannot_evaluate(check_name, problems)
    joined = features[["customer_id", "application_ts"]].merge(
        labels[["customer_id", "label_observed_ts"]], on="customer_id", how="inner"
    )
    expected = int((joined["label_observed_ts"] > joined["application_ts"]).sum())
    n = len(training)
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=n == expected,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{n} training rows; the point-in-time join of features and labels gives {expected}",
        metadata={
            "training_rows": dg.MetadataValue.int(n),
            "expected_rows": dg.MetadataValue.int(expected),
            "row_difference": dg.MetadataValue.int(n - expected),
            "feature_rows": dg.MetadataValue.int(len(features)),
            "label_rows": dg.MetadataValue.int(len(labels)),
        },
    )


def expected_transactions_per_customer(raw_data: object | None) -> float | None:
    """The generator's configured mean, unless the raw data comes from the user's files (unknown)."""
    if raw_data is None:
        return None
    if any(getattr(raw_data, f"{s}_path", None) for s in ("customers", "transactions", "labels")):
        return None
    value = getattr(raw_data, "transactions_per_customer", None)
    return float(value) if value else None


# --------------------------------------------------------------------------- Dagster definitions


@_asset_check(
    asset="raw_customers",
    name="orphan_transactions",
    description="Share of the day's transactions whose applicant the labels know but raw_customers lacks "
    "(catches lost applicants).",
    additional_ins={"raw_transactions": dg.AssetIn("raw_transactions"), "raw_labels": dg.AssetIn("raw_labels")},
    **_PARTITIONED,
)
def raw_customers_orphan_transactions(
    raw_customers: pd.DataFrame, raw_transactions: pd.DataFrame, raw_labels: pd.DataFrame
) -> dg.AssetCheckResult:
    return orphan_transactions(raw_customers, raw_transactions, raw_labels)


@_asset_check(
    asset="raw_transactions",
    name="transactions_have_applicants",
    description="Share of the day's transactions whose customer_id neither raw_customers nor raw_labels knows "
    "(catches garbled keys and another day's transactions).",
    additional_ins={"raw_customers": dg.AssetIn("raw_customers"), "raw_labels": dg.AssetIn("raw_labels")},
    **_PARTITIONED,
)
def raw_transactions_have_applicants(
    raw_transactions: pd.DataFrame, raw_customers: pd.DataFrame, raw_labels: pd.DataFrame
) -> dg.AssetCheckResult:
    return transactions_have_applicants(raw_customers, raw_transactions, raw_labels)


@_asset_check(
    asset="raw_transactions",
    name="transactions_per_applicant",
    description="Transactions per applicant within a band around the source's expected mean (catches lost transactions).",
    additional_ins={"raw_customers": dg.AssetIn("raw_customers"), "raw_labels": dg.AssetIn("raw_labels")},
    required_resource_keys={"raw_data"},
    **_PARTITIONED,
)
def raw_transactions_per_applicant(
    context, raw_transactions: pd.DataFrame, raw_customers: pd.DataFrame, raw_labels: pd.DataFrame
) -> dg.AssetCheckResult:
    expected = expected_transactions_per_customer(getattr(context.resources, "raw_data", None))
    return transactions_per_applicant(raw_customers, raw_transactions, expected, labels=raw_labels)


@_asset_check(
    asset="raw_labels",
    name="labels_cover_applicants",
    description="Exactly one label per applicant of the day, the transactions deciding disagreements "
    "(catches lost, duplicated and garbled labels).",
    additional_ins={"raw_customers": dg.AssetIn("raw_customers"), "raw_transactions": dg.AssetIn("raw_transactions")},
    **_PARTITIONED,
)
def raw_labels_cover_applicants(
    raw_labels: pd.DataFrame, raw_customers: pd.DataFrame, raw_transactions: pd.DataFrame
) -> dg.AssetCheckResult:
    return labels_cover_applicants(raw_customers, raw_labels, raw_transactions)


@_asset_check(
    asset="customer_features",
    name="rows_match_clean_customers",
    description="One feature row per clean applicant (same count, same ids).",
    additional_ins={"clean_customers": dg.AssetIn("clean_customers")},
    **_PARTITIONED,
)
def customer_features_rows_match(customer_features: pd.DataFrame, clean_customers: pd.DataFrame) -> dg.AssetCheckResult:
    return features_match_customers(clean_customers, customer_features)


@_asset_check(
    asset="training_set",
    name="rows_match_features_join_labels",
    description="Training rows equal the point-in-time join of customer_features and clean_labels.",
    additional_ins={"customer_features": dg.AssetIn("customer_features"), "clean_labels": dg.AssetIn("clean_labels")},
    **_PARTITIONED,
)
def training_set_rows_match(
    training_set: pd.DataFrame, customer_features: pd.DataFrame, clean_labels: pd.DataFrame
) -> dg.AssetCheckResult:
    return training_rows_match_join(customer_features, clean_labels, training_set)


relationship_checks: list[dg.AssetChecksDefinition] = [
    raw_customers_orphan_transactions,
    raw_transactions_per_applicant,
    raw_transactions_have_applicants,
    raw_labels_cover_applicants,
    customer_features_rows_match,
    training_set_rows_match,
]

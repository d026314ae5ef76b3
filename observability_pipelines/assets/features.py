"""Feature table: applicant attributes, point-in-time transaction aggregates and categorical encodings."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd

from observability_pipelines.assets.partitions import daily_partitions
from observability_pipelines.data.contracts import CONTRACTS, FEATURES, INTEGER, NUMERIC, TIMESTAMP, VOCABULARIES
from observability_pipelines.data.generator import TRANSACTION_WINDOW_DAYS
from observability_pipelines.observe.asset import observed_asset
from observability_pipelines.assets.observers import standard_observers

_C, _T = "clean_customers", "clean_transactions"
_TXN = [f"{_T}.transaction_ts", f"{_C}.application_ts", f"{_T}.customer_id"]
FEATURE_LINEAGE = {
    "customer_id": [f"{_C}.customer_id"],
    "application_ts": [f"{_C}.application_ts"],
    "gender": [f"{_C}.gender"],
    "age": [f"{_C}.age"],
    "income": [f"{_C}.income"],
    "employment_years": [f"{_C}.employment_years"],
    "loan_amount": [f"{_C}.loan_amount"],
    "term_months": [f"{_C}.term_months"],
    "loan_to_income": [f"{_C}.loan_amount", f"{_C}.income"],
    "monthly_payment_ratio": [f"{_C}.loan_amount", f"{_C}.term_months", f"{_C}.income"],
    "txn_count_30d": [f"{_T}.transaction_id", *_TXN],
    "txn_amount_sum_30d": [f"{_T}.amount", *_TXN],
    "txn_amount_mean_30d": [f"{_T}.amount", *_TXN],
    "online_share_30d": [f"{_T}.channel", *_TXN],
    "gambling_share_30d": [f"{_T}.merchant_category", *_TXN],
    "region_code": [f"{_C}.region"],
    "home_ownership_code": [f"{_C}.home_ownership"],
    "purpose_code": [f"{_C}.loan_purpose"],
}
assert set(FEATURE_LINEAGE) == set(FEATURES)


def encode(values: pd.Series, vocabulary: tuple[str, ...]) -> pd.Series:
    """Ordinal code in a fixed vocabulary; unknown or missing values are -1."""
    return values.map({v: i for i, v in enumerate(vocabulary)}).fillna(-1).astype("Int64")


def build_features(customers: pd.DataFrame, transactions: pd.DataFrame) -> pd.DataFrame:
    app = customers[["customer_id", "application_ts"]]
    tx = transactions.merge(app, on="customer_id", how="inner")
    # Point in time: only what was known before the application, within the trailing window.
    window = tx[
        (tx["transaction_ts"] < tx["application_ts"])
        & (tx["transaction_ts"] >= tx["application_ts"] - pd.Timedelta(days=TRANSACTION_WINDOW_DAYS))
    ]
    by_customer = window.groupby("customer_id")
    agg = pd.DataFrame(
        {
            "txn_count_30d": by_customer["transaction_id"].count(),
            "txn_amount_sum_30d": by_customer["amount"].sum(min_count=1),
            "txn_amount_mean_30d": by_customer["amount"].mean(),
            "online_share_30d": (window["channel"] == "online").groupby(window["customer_id"]).mean(),
            "gambling_share_30d": (window["merchant_category"] == "gambling").groupby(window["customer_id"]).mean(),
        }
    )
    out = customers.merge(agg, left_on="customer_id", right_index=True, how="left")
    out["txn_count_30d"] = out["txn_count_30d"].fillna(0).astype("Int64")
    out["txn_amount_sum_30d"] = out["txn_amount_sum_30d"].astype("float64")
    income = out["income"].astype("float64").where(lambda s: s > 0)
    out["loan_to_income"] = out["loan_amount"] / income
    out["monthly_payment_ratio"] = (out["loan_amount"] / out["term_months"].astype("float64")) / (income / 12)
    out["region_code"] = encode(out["region"], VOCABULARIES["region"])
    out["home_ownership_code"] = encode(out["home_ownership"], VOCABULARIES["home_ownership"])
    out["purpose_code"] = encode(out["loan_purpose"], VOCABULARIES["loan_purpose"])
    out = out[list(FEATURES)]
    for column in ("loan_to_income", "monthly_payment_ratio"):
        out[column] = out[column].replace([np.inf, -np.inf], np.nan).astype("float64")
    return out.reset_index(drop=True)


def input_problems(**frames: pd.DataFrame) -> list[str]:
    """What keeps the inputs from being featurized: contract columns missing or of the wrong type.

    Names columns and dtypes only, never values (a pandas parsing error would quote the offending value).
    """
    problems = []
    for asset, df in frames.items():
        columns = CONTRACTS[asset].columns
        missing = [c for c in columns if c not in df.columns]
        if missing:
            problems.append(f"{asset} lacks column(s) {missing}")
        wrong = [
            f"{c} is {df[c].dtype}, expected {kind}"
            for c, kind in columns.items()
            if c in df.columns and (
                (kind in (NUMERIC, INTEGER) and not pd.api.types.is_numeric_dtype(df[c].dtype))
                or (kind == TIMESTAMP and not pd.api.types.is_datetime64_any_dtype(df[c].dtype))
            )
        ]
        if wrong:
            problems.append(f"{asset}: {'; '.join(wrong)}")
    return problems


@observed_asset(
    name="customer_features",
    ins={"clean_customers": dg.AssetIn(), "clean_transactions": dg.AssetIn()},
    partitions_def=daily_partitions,
    column_lineage=FEATURE_LINEAGE,
    observers=standard_observers("customer_features"),
    group_name="features",
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"pandas", "parquet"},
    tags={"layer": "features"},
)
def customer_features(context: dg.AssetExecutionContext, clean_customers: pd.DataFrame, clean_transactions: pd.DataFrame):
    """One row per application: attributes, 30-day transaction aggregates (before the application), encodings."""
    problems = input_problems(clean_customers=clean_customers, clean_transactions=clean_transactions)
    if problems:
        # The inputs were stored but failed their blocking checks (ge_<asset>_errors); featurizing them
        # would crash on a KeyError or quote a raw value in a parse error.
        raise dg.Failure(
            description=f"customer_features[{context.partition_key}] not built: {'; '.join(problems)}. "
            "Fix the source data (see the failed ge_*_errors checks of these inputs) and re-materialize them "
            "before customer_features.",
            metadata={"input_problems": dg.MetadataValue.int(len(problems))},
        )
    return build_features(clean_customers, clean_transactions)

"""Column contracts of the reference pipelines: names, logical types, and what each asset is keyed by.

Cleaning conforms data to these contracts, the fault plan validates column names against them, and the
Great Expectations suites are written for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NUMERIC = "numeric"
INTEGER = "integer"
CATEGORICAL = "categorical"
STRING = "string"
TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class AssetContract:
    columns: dict[str, str]
    key: tuple[str, ...] = ()
    label: str | None = None
    source: bool = False
    sensitive: tuple[str, ...] = field(default=())

    @property
    def descriptions(self) -> dict[str, str]:
        """Column → what it holds, for the asset page's column table (``dagster/column_schema``)."""
        return {column: DESCRIPTIONS[column] for column in self.columns}


CUSTOMERS = {
    "customer_id": STRING,
    "application_ts": TIMESTAMP,
    "age": INTEGER,
    "gender": CATEGORICAL,
    "region": CATEGORICAL,
    "home_ownership": CATEGORICAL,
    "employment_years": NUMERIC,
    "income": NUMERIC,
    "loan_purpose": CATEGORICAL,
    "loan_amount": NUMERIC,
    "term_months": INTEGER,
}
TRANSACTIONS = {
    "transaction_id": STRING,
    "customer_id": STRING,
    "transaction_ts": TIMESTAMP,
    "amount": NUMERIC,
    "merchant_category": CATEGORICAL,
    "channel": CATEGORICAL,
}
LABELS = {"customer_id": STRING, "defaulted": INTEGER, "label_observed_ts": TIMESTAMP}

FEATURES = {
    "customer_id": STRING,
    "application_ts": TIMESTAMP,
    "gender": CATEGORICAL,
    "age": INTEGER,
    "income": NUMERIC,
    "employment_years": NUMERIC,
    "loan_amount": NUMERIC,
    "term_months": INTEGER,
    "loan_to_income": NUMERIC,
    "monthly_payment_ratio": NUMERIC,
    "txn_count_30d": INTEGER,
    "txn_amount_sum_30d": NUMERIC,
    "txn_amount_mean_30d": NUMERIC,
    "online_share_30d": NUMERIC,
    "gambling_share_30d": NUMERIC,
    "region_code": INTEGER,
    "home_ownership_code": INTEGER,
    "purpose_code": INTEGER,
}
# What the model sees: the sensitive attribute and identifiers stay out.
MODEL_FEATURES = [
    c for c in FEATURES if c not in ("customer_id", "application_ts", "gender")
]
TRAINING_SET = {**FEATURES, "defaulted": INTEGER, "label_observed_ts": TIMESTAMP, "split": CATEGORICAL}
PREDICTIONS = {
    "customer_id": STRING,
    "application_ts": TIMESTAMP,
    "gender": CATEGORICAL,
    "score": NUMERIC,
    "predicted_default": INTEGER,
    "model_version": STRING,
}
EVALUATION = {"metric": CATEGORICAL, "value": NUMERIC, "model_version": STRING, "test_rows": INTEGER}

# What each column holds, one text per name: a column keeps its meaning in every asset it appears in.
DESCRIPTIONS: dict[str, str] = {
    "customer_id": "Applicant identifier (key shared by customers, transactions and labels).",
    "application_ts": "When the loan application was made (UTC); the feature time.",
    "age": "Applicant age in years.",
    "gender": "Applicant gender; the sensitive attribute (fairness checks only, never a model feature).",
    "region": "Region of residence (north, south, east, west, central).",
    "home_ownership": "Housing status: rent, own or mortgage.",
    "employment_years": "Years in current employment.",
    "income": "Annual income.",
    "loan_purpose": "What the loan is for (car, home_improvement, education, business, debt_consolidation).",
    "loan_amount": "Amount applied for.",
    "term_months": "Loan term in months.",
    "transaction_id": "Card transaction identifier.",
    "transaction_ts": "When the card transaction happened (UTC).",
    "amount": "Transaction amount.",
    "merchant_category": "Merchant category of the transaction.",
    "channel": "Where the transaction was made: online or in_store.",
    "defaulted": "1 if the loan defaulted, 0 if not; observed 90 days after the application (the label).",
    "label_observed_ts": "When the default outcome was observed (UTC).",
    "loan_to_income": "Loan amount divided by annual income.",
    "monthly_payment_ratio": "Monthly instalment (loan amount / term) as a share of monthly income.",
    "txn_count_30d": "Card transactions in the 30 days before the application.",
    "txn_amount_sum_30d": "Total transaction amount in the 30 days before the application.",
    "txn_amount_mean_30d": "Mean transaction amount in the 30 days before the application.",
    "online_share_30d": "Share of the 30-day transactions made online.",
    "gambling_share_30d": "Share of the 30-day transactions at gambling merchants.",
    "region_code": "Ordinal code of region (-1: unknown value).",
    "home_ownership_code": "Ordinal code of home_ownership (-1: unknown value).",
    "purpose_code": "Ordinal code of loan_purpose (-1: unknown value).",
    "split": "train or test: deterministic 80/20 split by customer.",
    "score": "Predicted probability of default.",
    "predicted_default": "1 if the score is at or above the decision threshold, else 0.",
    "model_version": "Version of the trained model artifact that produced the row.",
    "metric": "Evaluation metric (accuracy, precision, recall, f1, roc_auc).",
    "value": "The metric's value on the held-out split.",
    "test_rows": "Rows in the held-out split the metric was computed on.",
}

CONTRACTS: dict[str, AssetContract] = {
    "raw_customers": AssetContract(CUSTOMERS, key=("customer_id",), source=True, sensitive=("gender",)),
    "raw_transactions": AssetContract(TRANSACTIONS, key=("transaction_id",), source=True),
    "raw_labels": AssetContract(LABELS, key=("customer_id",), label="defaulted", source=True),
    "clean_customers": AssetContract(CUSTOMERS, key=("customer_id",), sensitive=("gender",)),
    "clean_transactions": AssetContract(TRANSACTIONS, key=("transaction_id",)),
    "clean_labels": AssetContract(LABELS, key=("customer_id",), label="defaulted"),
    "customer_features": AssetContract(FEATURES, key=("customer_id",), sensitive=("gender",)),
    "training_set": AssetContract(TRAINING_SET, key=("customer_id",), label="defaulted", sensitive=("gender",)),
    "model_evaluation": AssetContract(EVALUATION, key=("metric",)),
    "batch_predictions": AssetContract(PREDICTIONS, key=("customer_id",), label="predicted_default", sensitive=("gender",)),
}
# Columns whose values never leave the process, in any asset: lineage events carry counts only for them
# (OpenLineageResource.private_columns; see lineage.emission.privacy). A numeric column listed here also
# loses its quantile evidence in root-cause analysis.
SENSITIVE_COLUMNS: tuple[str, ...] = tuple(sorted({c for contract in CONTRACTS.values() for c in contract.sensitive}))

# Assets that are not tables (the model artifact) take no faults and have no column contract.
ARTIFACT_ASSETS = ("trained_model",)

# Fixed vocabularies for the ordinal encodings; anything else encodes as -1 (unknown).
VOCABULARIES = {
    "region": ("north", "south", "east", "west", "central"),
    "home_ownership": ("rent", "own", "mortgage"),
    "loan_purpose": ("car", "home_improvement", "education", "business", "debt_consolidation"),
}

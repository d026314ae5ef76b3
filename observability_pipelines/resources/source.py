"""Where raw data comes from: the seeded generator by default, or the user's own CSV/Parquet files."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from observability_pipelines.data.contracts import CONTRACTS, TIMESTAMP
from observability_pipelines.data.generator import LABEL_DELAY_DAYS, GeneratorConfig, generate_partition

_TIME_COLUMNS = {"customers": "application_ts", "transactions": "transaction_ts", "labels": "label_observed_ts"}


@lru_cache(maxsize=8)
def _generated(partition: str, seed: int, customers_per_day: int, transactions_per_customer: float,
               label_delay_days: float):
    return generate_partition(
        partition, GeneratorConfig(seed, customers_per_day, transactions_per_customer, label_delay_days))


class RawDataSource(dg.ConfigurableResource):
    """Raw credit-risk sources for one daily partition.

    ``*_path`` may name a CSV or Parquet file; ``{partition}`` in it is replaced by the daily key,
    otherwise the file is filtered to the rows whose time column falls on that day
    (labels: the applications of that day, i.e. observed ``label_delay_days`` later).
    """

    seed: int = 7
    customers_per_day: int = 1500
    transactions_per_customer: float = 12.0
    label_delay_days: float = Field(default=LABEL_DELAY_DAYS, ge=0, description="Days from an application to "
                                    "the observation of its outcome (the label's label_observed_ts).")
    customers_path: str | None = None
    transactions_path: str | None = None
    labels_path: str | None = None

    def load(self, source: str, partition: str) -> pd.DataFrame:
        path = getattr(self, f"{source}_path")
        if path:
            return self._read_user_file(source, path, partition)
        frames = _generated(partition, self.seed, self.customers_per_day, self.transactions_per_customer,
                            float(self.label_delay_days))
        return frames[source].copy()

    def _read_user_file(self, source: str, template: str, partition: str) -> pd.DataFrame:
        path = Path(template.replace("{partition}", partition))
        if not path.exists():
            raise dg.Failure(f"{source} file {path} does not exist; check {source}_path in the raw_data resource config")
        if path.suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            # CSV has no types: parse the contract's timestamp columns, as a Parquet file would carry them.
            contract = CONTRACTS[f"raw_{source}"].columns
            df = pd.read_csv(path)
            for column in df.columns.intersection([c for c, k in contract.items() if k == TIMESTAMP]):
                df[column] = pd.to_datetime(df[column], errors="coerce").astype("datetime64[us]")
        if "{partition}" in template:
            return df
        column = _TIME_COLUMNS[source]
        if column not in df.columns:
            raise dg.Failure(
                f"{path} holds several days but has no {column!r} column to select partition {partition} by"
            )
        day = dt.date.fromisoformat(partition)
        when = pd.to_datetime(df[column], errors="coerce")
        if source == "labels":
            when = when - pd.Timedelta(days=self.label_delay_days)
        return df[when.dt.date == day].reset_index(drop=True)

"""Deterministic synthetic credit-risk data: loan applicants, their card transactions and default labels.

One daily partition holds the applicants of that day, the transactions of those applicants in the 30 days
before (and a few after) their application, and the default outcome observed 90 days later. The same seed
and date always give the same frames; different days differ through weekday and annual seasonality.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

REGIONS = ("north", "south", "east", "west", "central")
HOME_OWNERSHIP = ("rent", "own", "mortgage")
LOAN_PURPOSES = ("car", "home_improvement", "education", "business", "debt_consolidation")
MERCHANT_CATEGORIES = ("grocery", "restaurants", "travel", "electronics", "utilities", "gambling")
CHANNELS = ("online", "in_store")
GENDERS = ("F", "M")

LABEL_DELAY_DAYS = 90
TRANSACTION_WINDOW_DAYS = 30


@dataclass(frozen=True)
class GeneratorConfig:
    seed: int = 7
    customers_per_day: int = 1500
    transactions_per_customer: float = 12.0
    label_delay_days: float = LABEL_DELAY_DAYS  # outcome observed this long after the application


def _rng(seed: int, day: dt.date, stream: str) -> np.random.Generator:
    # A separate stream per source keeps one source's draws independent of another's sizes.
    digest = hashlib.sha256(f"{seed}:{day.isoformat()}:{stream}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _season(day: dt.date) -> tuple[float, float]:
    """(volume factor, level factor): fewer applicants at weekends, a mild annual cycle in money amounts."""
    weekday_volume = (1.0, 1.05, 1.05, 1.0, 0.95, 0.7, 0.6)[day.weekday()]
    annual = np.sin(2 * np.pi * day.timetuple().tm_yday / 365.25)
    return weekday_volume * (1 + 0.05 * annual), 1 + 0.03 * annual


def parse_partition(partition: str | dt.date) -> dt.date:
    if isinstance(partition, dt.date):
        return partition
    return dt.date.fromisoformat(partition)


def generate_customers(day: dt.date, cfg: GeneratorConfig) -> pd.DataFrame:
    rng = _rng(cfg.seed, day, "customers")
    volume, level = _season(day)
    n = max(int(rng.poisson(cfg.customers_per_day * volume)), 1)

    age = np.clip(rng.normal(42, 12, n), 18, 85).round().astype("int64")
    gender = rng.choice(GENDERS, n)
    region = rng.choice(REGIONS, n, p=[0.22, 0.2, 0.18, 0.25, 0.15])
    home = rng.choice(HOME_OWNERSHIP, n, p=[0.45, 0.2, 0.35])
    employment = np.clip(rng.gamma(2.0, 3.0, n), 0, age - 17).round(1)
    region_level = pd.Series(region).map(
        {"north": 1.05, "south": 0.92, "east": 1.0, "west": 1.12, "central": 0.95}
    ).to_numpy()
    # A small gender income gap makes the fairness metrics non-trivial, as in real lending data.
    gender_level = np.where(gender == "M", 1.04, 0.96)
    income = (
        np.exp(rng.normal(10.75, 0.45, n)) * region_level * gender_level * level * (1 + 0.012 * employment)
    ).round(2)
    purpose = rng.choice(LOAN_PURPOSES, n, p=[0.3, 0.2, 0.1, 0.15, 0.25])
    loan_amount = (income * np.clip(rng.lognormal(np.log(0.28), 0.5, n), 0.02, 2.5)).round(2)
    term = rng.choice(np.array([12, 24, 36, 60], dtype="int64"), n, p=[0.15, 0.3, 0.35, 0.2])

    start = pd.Timestamp(day)
    seconds = np.sort(rng.integers(6 * 3600, 23 * 3600, n))
    return pd.DataFrame(
        {
            "customer_id": [f"C{day:%Y%m%d}{i:05d}" for i in range(n)],
            "application_ts": start + pd.to_timedelta(seconds, unit="s"),
            "age": age,
            "gender": gender,
            "region": region,
            "home_ownership": home,
            "employment_years": employment,
            "income": income,
            "loan_purpose": purpose,
            "loan_amount": loan_amount,
            "term_months": term,
        }
    )


def generate_transactions(day: dt.date, cfg: GeneratorConfig, customers: pd.DataFrame) -> pd.DataFrame:
    rng = _rng(cfg.seed, day, "transactions")
    _, level = _season(day)
    n_cust = len(customers)
    # Riskier customers (a latent trait) gamble more and spend more online.
    risk = _latent_risk(day, cfg, n_cust)
    counts = rng.poisson(cfg.transactions_per_customer * (0.6 + 0.8 * rng.random(n_cust)))
    idx = np.repeat(np.arange(n_cust), counts)
    n = idx.size
    gamble_p = np.clip(0.02 + 0.12 * risk[idx], 0, 0.6)
    u = rng.random(n)
    base_p = np.array([0.38, 0.2, 0.07, 0.1, 0.25])
    other = rng.choice(np.array(MERCHANT_CATEGORIES[:5]), n, p=base_p / base_p.sum())
    category = np.where(u < gamble_p, "gambling", other)
    mean_by_cat = pd.Series(category).map(
        {"grocery": 45.0, "restaurants": 35.0, "travel": 320.0, "electronics": 210.0, "utilities": 95.0, "gambling": 60.0}
    ).to_numpy()
    amount = (mean_by_cat * rng.lognormal(-0.18, 0.6, n) * level).round(2)
    online_p = np.clip(0.35 + 0.15 * risk[idx], 0.05, 0.95)
    channel = np.where(rng.random(n) < online_p, "online", "in_store")
    app_ts = customers["application_ts"].to_numpy()[idx]
    # ~8% of transactions happen after the application: a leakage trap that point-in-time joins must drop.
    offset_s = np.where(
        rng.random(n) < 0.08,
        -rng.integers(60, 2 * 86400, n),
        rng.integers(60, TRANSACTION_WINDOW_DAYS * 86400, n),
    )
    ts = app_ts - offset_s.astype("timedelta64[s]")
    order = np.lexsort((ts, idx))
    return pd.DataFrame(
        {
            "transaction_id": [f"T{day:%Y%m%d}{i:07d}" for i in range(n)],
            "customer_id": customers["customer_id"].to_numpy()[idx][order],
            "transaction_ts": pd.to_datetime(ts[order]),
            "amount": amount[order],
            "merchant_category": category[order],
            "channel": channel[order],
        }
    )


def _latent_risk(day: dt.date, cfg: GeneratorConfig, n: int) -> np.ndarray:
    return _rng(cfg.seed, day, "latent").random(n)


def generate_labels(
    day: dt.date, cfg: GeneratorConfig, customers: pd.DataFrame, transactions: pd.DataFrame
) -> pd.DataFrame:
    rng = _rng(cfg.seed, day, "labels")
    risk = _latent_risk(day, cfg, len(customers))
    before = transactions[transactions["transaction_ts"] < transactions["customer_id"].map(
        customers.set_index("customer_id")["application_ts"]
    )]
    gambling_share = (
        (before["merchant_category"] == "gambling").groupby(before["customer_id"]).mean()
        .reindex(customers["customer_id"]).fillna(0).to_numpy()
    )
    lti = (customers["loan_amount"] / customers["income"]).to_numpy()
    monthly_burden = lti * 12 / customers["term_months"].to_numpy()
    logit = (
        -3.9
        + 3.0 * lti
        + 9.0 * monthly_burden
        + 7.0 * gambling_share
        - 0.08 * customers["employment_years"].to_numpy()
        - 0.6 * (customers["home_ownership"].to_numpy() == "own")
        + 0.9 * (customers["age"].to_numpy() < 25)
        + 0.5 * risk
        + rng.normal(0, 0.2, len(customers))
    )
    p = 1 / (1 + np.exp(-logit))
    defaulted = (rng.random(len(customers)) < p).astype("int64")
    return pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy(),
            "defaulted": defaulted,
            "label_observed_ts": customers["application_ts"] + pd.Timedelta(days=cfg.label_delay_days),
        }
    )


def generate_partition(partition: str | dt.date, cfg: GeneratorConfig | None = None) -> dict[str, pd.DataFrame]:
    """All three raw sources for one day, consistent with each other."""
    cfg = cfg or GeneratorConfig()
    day = parse_partition(partition)
    customers = generate_customers(day, cfg)
    transactions = generate_transactions(day, cfg, customers)
    labels = generate_labels(day, cfg, customers, transactions)
    return {"customers": customers, "transactions": transactions, "labels": labels}

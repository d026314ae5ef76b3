"""Plain ``@dg.asset``s on daily partitions and Dagster's default IO manager; nothing of the toolkit.

Its own code writes ``orders.amount`` in cents on ``BUGGY_DAY``."""

import dagster as dg
import numpy as np
import pandas as pd

daily = dg.DailyPartitionsDefinition(start_date="2026-03-01")
BUGGY_DAY = "2026-03-05"


@dg.asset(partitions_def=daily)
def orders(context: dg.AssetExecutionContext) -> pd.DataFrame:
    day = context.partition_key
    rng = np.random.default_rng(int(day.replace("-", "")))
    n = 300
    df = pd.DataFrame({"order_id": [f"{day}-{i}" for i in range(n)],
                       "region": rng.choice(["north", "south", "east", "west"], n),
                       "amount": rng.gamma(4.0, 12.0, n).round(2), "quantity": rng.integers(1, 5, n)})
    if day == BUGGY_DAY:
        df["amount"] = df["amount"] * 100
    return df

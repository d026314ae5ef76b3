"""A small shop's own Dagster project: plain ``@dg.asset``s on daily partitions, the default filesystem IO
manager (pickles), standard ``dagster/*`` metadata, and nothing of the observability toolkit.

Its own code has a bug on one day: a currency change ships early on ``BUGGY_DAY`` and ``orders.amount`` is
written in cents (x100) for that day only.
"""


import dagster as dg
import numpy as np
import pandas as pd

daily = dg.DailyPartitionsDefinition(start_date="2026-03-01")
BUGGY_DAY = "2026-03-09"
REGIONS = ["north", "south", "east", "west"]


def _schema(df: pd.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(str(c), str(t)) for c, t in df.dtypes.items()])


@dg.asset(partitions_def=daily, group_name="shop")
def orders(context: dg.AssetExecutionContext) -> pd.DataFrame:
    """The day's orders."""
    day = context.partition_key
    rng = np.random.default_rng(int(day.replace("-", "")))
    n = 400
    df = pd.DataFrame({
        "order_id": [f"{day}-{i}" for i in range(n)],
        "region": rng.choice(REGIONS, n),
        "amount": rng.gamma(4.0, 12.0, n).round(2),
        "quantity": rng.integers(1, 5, n),
    })
    if day == BUGGY_DAY:
        df["amount"] = df["amount"] * 100  # the bug: cents instead of euros
    context.add_output_metadata({"dagster/column_schema": _schema(df), "dagster/row_count": len(df)})
    return df


@dg.asset(partitions_def=daily, group_name="shop")
def revenue_by_region(context: dg.AssetExecutionContext, orders: pd.DataFrame) -> pd.DataFrame:
    """Revenue and order count per region and day."""
    df = orders.groupby("region", as_index=False).agg(revenue=("amount", "sum"), orders=("order_id", "count"))
    df["avg_order"] = df["revenue"] / df["orders"]
    lineage = dg.TableColumnLineage(deps_by_column={
        "region": [dg.TableColumnDep(asset_key=dg.AssetKey("orders"), column_name="region")],
        "revenue": [dg.TableColumnDep(asset_key=dg.AssetKey("orders"), column_name="amount")],
        "orders": [dg.TableColumnDep(asset_key=dg.AssetKey("orders"), column_name="order_id")],
        "avg_order": [dg.TableColumnDep(asset_key=dg.AssetKey("orders"), column_name="amount"),
                      dg.TableColumnDep(asset_key=dg.AssetKey("orders"), column_name="order_id")],
    })
    context.add_output_metadata({"dagster/column_schema": _schema(df), "dagster/row_count": len(df),
                                 "dagster/column_lineage": lineage})
    return df


shop_assets = [orders, revenue_by_region]

"""ColumnDescriptions: a real Dagster materialization's column schema carries the given descriptions."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from observability_pipelines.observe.asset import observed_asset
from observability_pipelines.observe.descriptions import ColumnDescriptions

TEXT = {"id": "Order identifier.", "amount": "Order total in EUR.", "gone": "A column the frame lacks."}


def _schema(observers) -> dg.TableSchema:
    @observed_asset(name="orders", observers=observers)
    def orders(context):
        return pd.DataFrame({"id": [1, 2], "amount": [3.5, 4.0], "note": ["a", "b"]})

    result = dg.materialize([orders], resources={"io_manager": dg.mem_io_manager})
    [materialization] = result.asset_materializations_for_node("orders")
    return materialization.metadata["dagster/column_schema"].schema


def test_described_columns_show_their_text_and_the_rest_stay_empty() -> None:
    schema = _schema([ColumnDescriptions(TEXT)])
    assert [(c.name, c.type, c.description) for c in schema.columns] == [
        ("id", "integer", "Order identifier."), ("amount", "double", "Order total in EUR."), ("note", "string", None)]


def test_without_the_observer_the_schema_has_no_descriptions() -> None:
    assert [c.description for c in _schema([]).columns] == [None, None, None]


@pytest.mark.parametrize("bad", [{"id": ""}, {"id": "  "}, {"id": None}, {"id": 3}])
def test_empty_or_non_text_descriptions_are_refused_by_name(bad) -> None:
    with pytest.raises(ValueError, match="not so for: id"):
        ColumnDescriptions(bad)

"""Column descriptions on the asset page: an observer that fills the Description column of
``dagster/column_schema`` from a mapping column → text (for example a data contract)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from observability_pipelines.observe.asset import Observation, Observer
from observability_pipelines.observe.metadata import table_schema

COLUMN_SCHEMA = "dagster/column_schema"


class ColumnDescriptions(Observer):
    """Describes the columns of a table-valued asset in its materialization's column schema.

    Columns the mapping does not name keep an empty description; names the frame lacks (a dropped column)
    are ignored, so the schema always shows the columns actually stored."""

    def __init__(self, descriptions: Mapping[str, str]) -> None:
        bad = sorted(str(c) for c, text in descriptions.items() if not isinstance(text, str) or not text.strip())
        if bad:
            raise ValueError(f"column descriptions must be non-empty text; not so for: {', '.join(bad)}")
        self.descriptions = dict(descriptions)

    def on_output(self, obs: Observation) -> None:
        if isinstance(obs.value, pd.DataFrame):
            obs.metadata[COLUMN_SCHEMA] = table_schema(obs.value, self.descriptions)

"""Raw sources: applicants, their card transactions, and default labels, one partition per day."""

from __future__ import annotations

import dagster as dg

from observability_pipelines.assets.partitions import daily_partitions, previous_day
from observability_pipelines.observe.asset import observed_asset
from observability_pipelines.assets.observers import standard_observers

_SOURCES = {
    "raw_customers": ("customers", "Loan applicants of the day with their declared attributes."),
    "raw_transactions": ("transactions", "Card transactions of the day's applicants (30 days before application)."),
    "raw_labels": ("labels", "Default outcome of the day's applications, observed 90 days later."),
}


def raw_asset(name: str, source: str, description: str) -> dg.AssetsDefinition:
    @observed_asset(
        name=name,
        partitions_def=daily_partitions,
        observers=standard_observers(
            name, previous=lambda context: context.resources.raw_data.load(source, previous_day(context.partition_key))),
        required_resource_keys=["raw_data"],
        group_name="ingest",
        description=description,
        kinds={"python", "parquet"},
        tags={"layer": "raw"},
    )
    def _raw(context: dg.AssetExecutionContext):
        return context.resources.raw_data.load(source, context.partition_key)

    return _raw


raw_assets = [raw_asset(name, source, text) for name, (source, text) in _SOURCES.items()]

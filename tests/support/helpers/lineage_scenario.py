"""A small ML pipeline's lineage, built with openlineage-python the way a real producer would.

raw.orders (postgres://shop) + raw.customers --etl.build_features--> features.customer_features
features.customer_features --train.churn_model--> models.churn (datasetType MODEL)
models.churn + features.customer_features --score.churn--> serving.churn_predictions

A second `raw.orders` lives in s3://lake (same name, other namespace) so name lookups can be
ambiguous. Each job runs once per day, START then COMPLETE, one day apart.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    data_quality_metrics_dataset,
    dataset_type_dataset,
    dataset_version_dataset,
    schema_dataset,
)
from openlineage.client.serde import Serde

PRODUCER = "https://github.com/example/observability-pipelines/tests"
SHOP = "postgres://shop"
LAKE = "s3://lake"
JOBS_NS = "dagster"
DAY0 = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)


@attr.define
class DriftDatasetFacet(DatasetFacet):
    """A custom (non-standard) facet, as the project's drift checks would send."""

    psi: float
    drifted: bool

    @staticmethod
    def _get_schema() -> str:
        return "https://example.com/spec/facets/1-0-0/DriftDatasetFacet.json"


def _schema(*columns: str) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=c, type="VARCHAR") for c in columns]
    )


def _field(ns: str, name: str, field: str, kind: str, subtype: str) -> column_lineage_dataset.InputField:
    return column_lineage_dataset.InputField(
        namespace=ns,
        name=name,
        field=field,
        transformations=[column_lineage_dataset.Transformation(type=kind, subtype=subtype)],
    )


def run_pair(
    job: str,
    inputs: list[InputDataset],
    outputs: list[OutputDataset],
    start: datetime,
    run_id: str | None = None,
) -> list[RunEvent]:
    run_id = run_id or str(uuid.uuid4())
    events = []
    for state, when in ((RunState.START, start), (RunState.COMPLETE, start + timedelta(minutes=5))):
        events.append(
            RunEvent(
                eventType=state,
                eventTime=when.isoformat(),
                run=Run(runId=run_id),
                job=Job(namespace=JOBS_NS, name=job),
                inputs=inputs,
                outputs=outputs,
                producer=PRODUCER,
            )
        )
    return events


def build_features_outputs(version: str, null_count: int, psi: float) -> list[OutputDataset]:
    lineage = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            "customer_id": column_lineage_dataset.Fields(
                inputFields=[_field(SHOP, "raw.customers", "id", "DIRECT", "IDENTITY")]
            ),
            "total_spend": column_lineage_dataset.Fields(
                inputFields=[_field(SHOP, "raw.orders", "amount", "DIRECT", "AGGREGATION")]
            ),
        },
        dataset=[_field(SHOP, "raw.orders", "status", "INDIRECT", "FILTER")],
    )
    return [
        OutputDataset(
            namespace=SHOP,
            name="features.customer_features",
            facets={
                "schema": _schema("customer_id", "total_spend"),
                "columnLineage": lineage,
                "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version),
                "dataQualityMetrics": data_quality_metrics_dataset.DataQualityMetricsDatasetFacet(
                    rowCount=1000,
                    columnMetrics={
                        "total_spend": data_quality_metrics_dataset.ColumnMetrics(nullCount=null_count, min=0.0)
                    },
                ),
                "drift": DriftDatasetFacet(psi=psi, drifted=psi > 0.2),
            },
        )
    ]


def pipeline_events(day0: datetime = DAY0) -> list[RunEvent]:
    """Two days of the pipeline: the second day's features drift and have nulls."""
    orders = InputDataset(
        namespace=SHOP,
        name="raw.orders",
        facets={"schema": _schema("order_id", "customer_id", "amount", "status")},
        inputFacets={
            "dataQualityAssertions": data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
                assertions=[data_quality_assertions_dataset.Assertion(assertion="not_null", success=True, column="amount")]
            )
        },
    )
    customers = InputDataset(namespace=SHOP, name="raw.customers", facets={"schema": _schema("id", "region")})
    features_in = InputDataset(namespace=SHOP, name="features.customer_features")
    model_lineage = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            "churn_score": column_lineage_dataset.Fields(
                inputFields=[
                    _field(SHOP, "features.customer_features", "total_spend", "INDIRECT", "AGGREGATION")
                ]
            )
        }
    )
    model = OutputDataset(
        namespace="mlflow://models",
        name="models.churn",
        facets={
            "datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(datasetType="MODEL"),
            "columnLineage": model_lineage,
        },
    )
    model_in = InputDataset(namespace="mlflow://models", name="models.churn")
    predictions = OutputDataset(
        namespace=SHOP,
        name="serving.churn_predictions",
        facets={
            "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(
                fields={
                    "score": column_lineage_dataset.Fields(
                        inputFields=[
                            _field("mlflow://models", "models.churn", "churn_score", "DIRECT", "TRANSFORMATION")
                        ]
                    )
                }
            )
        },
    )
    events: list[RunEvent] = []
    for day, (null_count, psi) in enumerate([(0, 0.05), (120, 0.4)]):
        base = day0 + timedelta(days=day)
        events += run_pair("etl.build_features", [orders, customers], build_features_outputs(f"v{day + 1}", null_count, psi), base)
        events += run_pair("train.churn_model", [features_in], [model], base + timedelta(hours=6))
        events += run_pair("score.churn", [model_in, features_in], [predictions], base + timedelta(hours=12))
    # Same dataset name in another namespace, read by another job.
    events += run_pair(
        "lake.export",
        [InputDataset(namespace=LAKE, name="raw.orders")],
        [OutputDataset(namespace=LAKE, name="exports.orders_daily")],
        day0 - timedelta(days=1),
    )
    return events


def as_dicts(events: list[Any]) -> list[dict[str, Any]]:
    return [Serde.to_dict(e) for e in events]

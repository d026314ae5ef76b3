"""One typed class per OpenLineage facet the project writes and reads.

Every class is an attrs class with the fields of openlineage-python's ``facet_v2`` class of its key (the
custom facets on the same ``DatasetFacet`` base), declared in :mod:`lineage.facets._base` and here so that a
reader does not import the client (~0.3 s); ``Serde`` serializes them as it does the client's classes, so the
object emission builds is the object a reader parses::

    facet = AssertionsFacet.build([{"assertion": "not_null", "success": False, "column": "id"}])
    Serde.to_dict(facet)                              # what goes into an event
    AssertionsFacet.from_payload(stored_json_dict)    # -> AssertionsFacet | None

``from_payload(dict) -> Self | None`` reads any producer's facet: missing optional fields stay
``None``, a malformed field is dropped, a malformed facet gives ``None``; it never raises.

==========================  ==========================  =========================================
facet key                   class                       builder / helpers
==========================  ==========================  =========================================
``drift`` (custom)          :class:`DriftDatasetFacet`  ``from_fact(drift_result_dict)``,
                                                        ``.drifted_columns``, column ``.is_null_burst``
``dataQualityAssertions``   :class:`AssertionsFacet`    ``build(dicts)``, ``.failed``
``dataQualityMetrics``      :class:`MetricsFacet`       ``build(rows, {col: ColumnMetrics})``
``schema``                  :class:`SchemaFacet`        ``build([(name, type)])``, ``.types``
``columnLineage``           :class:`ColumnLineageFacet` ``build({col: [(ns, name, field)]})``
``outputStatistics``        :class:`OutputStatisticsFacet`  ``build(rows, size)``
``version``                 :class:`VersionFacet`       ``build(version)``
``nominalTime``             :class:`NominalTimeFacet`   ``build(start, end)``, ``.window``
``errorMessage``            :class:`ErrorMessageFacet`  ``build(exception)``, ``.headline``
``tags`` (run)              :class:`TagsFacet`          ``build({k: v})``, ``.as_dict()``
``test`` (run, read only)   :class:`TestRunFacet`       ``.failed``
``modelPerformance`` (custom)  :class:`ModelPerformanceDatasetFacet`  ``from_check(metadata)``, metric ``.drop``
``explanationDrift``, ``metricRegression``, ``metricAnomaly``, ``segments`` (custom): see
:mod:`lineage.facets.monitoring` (``from_result``)
==========================  ==========================  =========================================

Partition keys: :func:`partition_facets(key)` (encoder: run facets for a key) and
:func:`partition_key(run_facets)` (decoder); daily, hourly and multi-dimensional Dagster keys come
back as they went in (see :mod:`lineage.facets.partition`). :func:`parse(key, payload)` parses by
facet key (``None`` for keys without a class).
"""

from __future__ import annotations

from typing import Any

from lineage.facets.dataset import ColumnLineageFacet, OutputStatisticsFacet, SchemaFacet, VersionFacet
from lineage.facets.drift import DRIFT_SCHEMA_ID, DRIFT_SCHEMA_URL, ColumnDrift, DriftDatasetFacet, drift_schema
from lineage.facets.model import MODEL_SCHEMA_ID, MODEL_SCHEMA_URL, MetricEstimate, ModelPerformanceDatasetFacet
from lineage.facets.monitoring import (
    MONITORING_FACETS,
    MONITORING_SCHEMA_ID,
    AnomalyDatasetFacet,
    ExplanationDriftDatasetFacet,
    RegressionDatasetFacet,
    SegmentsDatasetFacet,
)
from lineage.facets.partition import (
    PARTITION_TAG,
    check_partition_key,
    partition_dimensions,
    partition_facets,
    partition_key,
)
from lineage.facets.quality import Assertion, AssertionsFacet, ColumnMetrics, MetricsFacet, TestRunFacet
from lineage.facets.run import ErrorMessageFacet, NominalTimeFacet, TagsFacet, dedupe_message, parse_time

FACET_CLASSES = {
    cls.KEY: cls
    for cls in (DriftDatasetFacet, AssertionsFacet, MetricsFacet, SchemaFacet, ColumnLineageFacet,
                OutputStatisticsFacet, VersionFacet, NominalTimeFacet, ErrorMessageFacet, TagsFacet, TestRunFacet,
                ModelPerformanceDatasetFacet, *MONITORING_FACETS)
}


def parse(key: str, payload: Any) -> Any | None:
    """The typed facet for a facet key and its JSON payload (``None`` if unknown key or malformed)."""
    cls = FACET_CLASSES.get(key)
    return cls.from_payload(payload) if cls is not None else None


__all__ = [
    "DRIFT_SCHEMA_ID",
    "DRIFT_SCHEMA_URL",
    "FACET_CLASSES",
    "MODEL_SCHEMA_ID",
    "MODEL_SCHEMA_URL",
    "MONITORING_SCHEMA_ID",
    "AnomalyDatasetFacet",
    "ExplanationDriftDatasetFacet",
    "RegressionDatasetFacet",
    "SegmentsDatasetFacet",
    "MetricEstimate",
    "ModelPerformanceDatasetFacet",
    "PARTITION_TAG",
    "Assertion",
    "AssertionsFacet",
    "ColumnDrift",
    "ColumnLineageFacet",
    "ColumnMetrics",
    "DriftDatasetFacet",
    "ErrorMessageFacet",
    "MetricsFacet",
    "NominalTimeFacet",
    "OutputStatisticsFacet",
    "SchemaFacet",
    "TagsFacet",
    "TestRunFacet",
    "VersionFacet",
    "check_partition_key",
    "dedupe_message",
    "drift_schema",
    "parse",
    "parse_time",
    "partition_dimensions",
    "partition_facets",
    "partition_key",
]

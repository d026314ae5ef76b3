"""The facet classes are declared in lineage.facets (not subclassed from openlineage-python, whose import a
reader does not need): they must keep the client classes' fields, defaults, checks and ``skip_redact``, and
``Serde.to_json`` must give the bytes the client's classes give, for built and parsed facets, alone and in an
event. The reference is the client's own classes: each facet is rebuilt from its field values as the client
class it mirrors (a custom facet: as the class it was before, its own fields on the client's DatasetFacet)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from typing import Any

import attr
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openlineage.client.constants import DEFAULT_PRODUCER
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    data_quality_assertions_dataset,
    data_quality_metrics_input_dataset,
    dataset_version_dataset,
    error_message_run,
    nominal_time_run,
    output_statistics_output_dataset,
    schema_dataset,
    tags_run,
)
from openlineage.client.generated import base as client_base
from openlineage.client.generated import test_run
from openlineage.client.serde import Serde

from lineage import facets as f
from lineage.emission import events as ev
from lineage.facets import _base, dataset, quality, run

CLIENT_CLASS: dict[type, type] = {
    _base.BaseFacet: client_base.BaseFacet,
    _base.DatasetFacet: client_base.DatasetFacet,
    _base.InputDatasetFacet: client_base.InputDatasetFacet,
    _base.OutputDatasetFacet: client_base.OutputDatasetFacet,
    _base.RunFacet: client_base.RunFacet,
    f.SchemaFacet: schema_dataset.SchemaDatasetFacet,
    dataset.SchemaField: schema_dataset.SchemaDatasetFacetFields,
    f.ColumnLineageFacet: column_lineage_dataset.ColumnLineageDatasetFacet,
    dataset.ColumnInputs: column_lineage_dataset.Fields,
    dataset.InputField: column_lineage_dataset.InputField,
    dataset.Transformation: column_lineage_dataset.Transformation,
    f.OutputStatisticsFacet: output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet,
    f.VersionFacet: dataset_version_dataset.DatasetVersionDatasetFacet,
    f.AssertionsFacet: data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet,
    quality.Assertion: data_quality_assertions_dataset.Assertion,
    f.MetricsFacet: data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet,
    quality.ColumnMetrics: data_quality_metrics_input_dataset.ColumnMetrics,
    f.TestRunFacet: test_run.TestRunFacet,
    quality.TestExecution: test_run.TestExecution,
    f.NominalTimeFacet: nominal_time_run.NominalTimeRunFacet,
    f.ErrorMessageFacet: error_message_run.ErrorMessageRunFacet,
    f.TagsFacet: tags_run.TagsRunFacet,
    run.Tag: tags_run.TagsRunFacetFields,
}
CUSTOM = [cls for cls in f.FACET_CLASSES.values() if cls not in CLIENT_CLASS]


def former_class(cls: type) -> type:
    """A custom facet as it was: its own fields on the client's DatasetFacet."""
    base_names = {a.name for a in attr.fields(_base.DatasetFacet)}
    own = {a.name: attr.field(default=a.default, validator=a.validator, kw_only=a.kw_only, init=a.init)
           for a in attr.fields(cls) if a.name not in base_names}
    former = attr.make_class(cls.__name__, own, bases=(client_base.DatasetFacet,), slots=True)
    former._get_schema = staticmethod(cls._get_schema)
    former._additional_skip_redact = cls._additional_skip_redact
    return former


CLIENT_CLASS.update({cls: former_class(cls) for cls in CUSTOM})


def as_client(value: Any) -> Any:
    """The same value built from the client's classes (field by field, through their __init__)."""
    if attr.has(type(value)):
        target = CLIENT_CLASS.get(type(value), type(value))  # nested classes of custom facets: unchanged
        fields = {a.alias: as_client(getattr(value, a.name)) for a in attr.fields(type(value)) if a.init}
        return target(**fields)
    if isinstance(value, dict):
        return {k: as_client(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_client(v) for v in value]
    return value


def assert_same_json(facet: Any) -> None:
    client = as_client(facet)
    assert type(client) is not type(facet)
    assert Serde.to_json(facet) == Serde.to_json(client)
    assert list(Serde.to_dict(facet)) == list(Serde.to_dict(client))  # key order too, before sort_keys


def signature(cls: type) -> list[tuple]:
    return [(a.name, a.alias, a.default, a.kw_only, a.init, a.validator is None) for a in attr.fields(cls)]


@pytest.mark.parametrize("ours", list(CLIENT_CLASS), ids=lambda c: c.__name__)
def test_fields_defaults_and_checks_are_the_clients(ours: type) -> None:
    theirs = CLIENT_CLASS[ours]
    assert signature(ours) == signature(theirs)
    assert getattr(ours, "_get_schema", None) is None or ours._get_schema() == theirs._get_schema()
    assert getattr(ours, "_skip_redact", []) == getattr(theirs, "_skip_redact", [])
    for name in ("_base_skip_redact", "_additional_skip_redact"):
        assert getattr(ours, name, None) == getattr(theirs, name, None)


def test_every_facet_class_has_a_reference() -> None:
    assert set(f.FACET_CLASSES.values()) <= set(CLIENT_CLASS)
    assert all(issubclass(cls, _base.BaseFacet) for cls in f.FACET_CLASSES.values())


def test_the_default_producer_is_the_clients_current_one() -> None:
    assert f.VersionFacet.build("1")._producer == DEFAULT_PRODUCER
    assert _base._client_default_producer() == DEFAULT_PRODUCER
    try:
        client_base.set_producer("https://example.com/set-by-an-integration")
        facet = f.TagsFacet.build({"a": "b"})
        assert facet._producer == client_base.PRODUCER == as_client(facet)._producer
    finally:
        client_base.set_producer(DEFAULT_PRODUCER)


def test_without_the_client_imported_facets_get_its_default_producer() -> None:
    code = ("import sys, json\nfrom lineage import facets as f\nfrom lineage.facets import _base\n"
            "facet = f.VersionFacet.build('1')\n"
            "print(json.dumps([facet._producer, facet._schemaURL, [m for m in sys.modules if m.startswith('openlineage.')]]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                          env={**os.environ, "PYTHONWARNINGS": "error"})
    producer, schema_url, loaded = json.loads(done.stdout)
    assert producer == DEFAULT_PRODUCER and schema_url == dataset_version_dataset.DatasetVersionDatasetFacet._get_schema()
    assert loaded == []


def test_the_default_producer_without_a_plain_constants_file(monkeypatch) -> None:
    """A zipped install (no openlineage/client/constants.py on disk): the client's constant, imported."""
    from importlib import util

    monkeypatch.setattr(util, "find_spec", lambda name: None)
    _base._client_default_producer.cache_clear()
    try:
        assert _base._client_default_producer() == DEFAULT_PRODUCER
    finally:
        _base._client_default_producer.cache_clear()


@pytest.mark.parametrize(("build", "error"), [
    (lambda cls: cls(nominalStartTime="2026-03-01"), ValueError),  # a date without a time
    (lambda cls: cls(nominalStartTime="2026-03-01T00:00:00Z", nominalEndTime="soon"), ValueError),
    (lambda cls: cls(nominalStartTime="2026-03-01T00:00:00Z", producer="http://[broken"), ValueError),
])
def test_the_clients_checks_reject_what_they_rejected(build, error) -> None:
    with pytest.raises(error):
        build(nominal_time_run.NominalTimeRunFacet)
    with pytest.raises(error):
        build(f.NominalTimeFacet)


def test_metrics_last_updated_is_checked_as_the_client_does() -> None:
    with pytest.raises(ValueError):
        data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(columnMetrics={}, lastUpdated="2026")
    with pytest.raises(ValueError):
        f.MetricsFacet(columnMetrics={}, lastUpdated="2026")
    assert_same_json(f.MetricsFacet(columnMetrics={}, lastUpdated="2026-03-01T10:00:00Z"))


def test_skip_redact_of_instances() -> None:
    for facet in (f.NominalTimeFacet.build(*f.partition.time_window("2026-03-02")), f.OutputStatisticsFacet.build(3),
                  f.DriftDatasetFacet(drifted=True, shareDrifted=1.0)):
        assert facet.skip_redact == as_client(facet).skip_redact
    field = dataset.InputField(namespace="n", name="t", field="c")
    assert field.skip_redact == as_client(field).skip_redact == ["namespace", "name", "field"]


# Varied facets: JSON payloads of every facet key, some fields of the wrong type (dropped by the parsers).
JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                        st.text(max_size=8))
NAME = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=6)
NUMBER = st.one_of(st.integers(-5, 10**9), st.floats(-1e6, 1e6), st.none(), st.text(max_size=3))
BOOL = st.one_of(st.booleans(), st.sampled_from(["true", "false", "maybe"]), st.none())
TIME = st.one_of(st.sampled_from(["2026-03-02T00:00:00.000Z", "2026-03-02T13:00:00+01:00", "2026-03-02",
                                  "2026-03-02T13:00:00", "not a time"]), st.none())


def optional(required: dict[str, st.SearchStrategy] | None = None,
             **fields: st.SearchStrategy) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts with the `required` keys (mostly what a facet needs to parse at all) and some of the others."""
    return st.fixed_dictionaries(required or {}, optional=fields)


WORD = st.text("abcxyz_.", min_size=1, max_size=6)


INPUT_FIELD = optional({"namespace": WORD, "name": WORD, "field": NAME}, transformations=st.lists(
    optional({"type": NAME}, subtype=NAME, description=NAME, masking=BOOL), max_size=2))
PAYLOADS = {
    "schema": optional(fields=st.lists(st.recursive(
        optional(name=NAME, type=JSON_SCALAR, description=NAME, ordinal_position=NUMBER),
        lambda inner: optional(name=NAME, type=NAME, fields=st.lists(inner, max_size=2)), max_leaves=4), max_size=4)),
    "columnLineage": optional({"fields": st.dictionaries(NAME, optional(
        {"inputFields": st.lists(INPUT_FIELD, max_size=3)}, transformationDescription=NAME, transformationType=NAME),
        max_size=3)}, dataset=st.lists(INPUT_FIELD, max_size=2)),
    "outputStatistics": optional(rowCount=NUMBER, size=NUMBER, fileCount=NUMBER),
    "version": optional(datasetVersion=JSON_SCALAR),
    "dataQualityAssertions": optional(assertions=st.lists(optional(
        {"assertion": WORD, "success": BOOL}, column=NAME, severity=NAME, name=NAME, actual=NAME), max_size=4)),
    "dataQualityMetrics": optional(rowCount=NUMBER, bytes=NUMBER, fileCount=NUMBER, columnMetrics=st.dictionaries(
        NAME, optional(nullCount=NUMBER, distinctCount=NUMBER, sum=NUMBER, count=NUMBER, min=NUMBER, max=NUMBER,
                       quantiles=st.dictionaries(NAME, NUMBER, max_size=3)), max_size=3)),
    "nominalTime": optional({"nominalStartTime": TIME}, nominalEndTime=TIME),
    "errorMessage": optional({"message": JSON_SCALAR}, programmingLanguage=NAME, stackTrace=NAME),
    "tags": optional({"tags": st.lists(optional({"key": WORD, "value": JSON_SCALAR}, source=NAME), max_size=4)}),
    "test": optional({"tests": st.lists(optional({"name": WORD, "status": st.sampled_from(["pass", "FAIL", "error", ""])},
                                                 severity=NAME, type=NAME), max_size=3)}),
    "drift": optional(drifted=BOOL, shareDrifted=NUMBER, driftShareThreshold=NUMBER, referenceRows=NUMBER,
                      currentRows=NUMBER, referencePartitions=st.lists(NAME, max_size=2), columns=st.dictionaries(
                          NAME, optional(drifted=BOOL, kind=st.sampled_from(["numerical", "categorical", "x"]),
                                         test=NAME, statistic=NUMBER, pValue=NUMBER, psi=NUMBER, nullDrift=BOOL,
                                         newCategories=NUMBER, status=NAME), max_size=3)),
    "modelPerformance": optional({"metrics": st.dictionaries(st.sampled_from(["roc_auc", "f1"]), optional(
        estimated=NUMBER, lower=NUMBER, upper=NUMBER, evaluation=NUMBER, realized=NUMBER, error=NUMBER), max_size=2)},
        rows=NUMBER, labelsArrived=BOOL, confidence=NUMBER, calibrationMethod=NAME, modelVersion=NAME,
        failedMetrics=st.lists(NAME, max_size=2)),
    "explanationDrift": optional({"features": st.dictionaries(NAME, optional(
        baselineShare=NUMBER, currentShare=NUMBER, shareChange=NUMBER, baselineRank=NUMBER), max_size=3)},
        drifted=BOOL, movedShare=NUMBER, lostFeatures=st.lists(NAME, max_size=2), sampleRows=NUMBER),
    "metricRegression": optional({"metric": WORD}, source=NAME, regression=BOOL, evaluated=BOOL, referenceLevel=NUMBER,
                                 currentLevel=NUMBER, changePoints=NUMBER, regimeStartPartition=NAME),
    "metricAnomaly": optional({"kind": WORD}, measure=NAME, anomalous=BOOL, value=NUMBER, z=NUMBER,
                              historyPartitions=NUMBER),
    "segments": optional({"kind": WORD, "attributes": st.dictionaries(NAME, optional(
        segments=st.dictionaries(NAME, st.dictionaries(NAME, NUMBER, max_size=2), max_size=2),
        failing=st.lists(NAME, max_size=2)), max_size=2)}, failed=BOOL),
}
PRODUCER = st.one_of(st.none(), st.just(""), st.just("https://github.com/dbt-labs/dbt-core/tree/1.8"))
assert set(PAYLOADS) == set(f.FACET_CLASSES)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(sorted(PAYLOADS)), data=st.data(), producer=PRODUCER)
def test_parsed_facets_serialize_as_the_clients_classes(key: str, data: st.DataObject, producer: str | None) -> None:
    payload = data.draw(PAYLOADS[key])
    if producer is not None:
        payload["_producer"] = producer
    facet = f.parse(key, payload)
    if facet is not None:
        assert_same_json(facet)
        assert pickle.loads(pickle.dumps(facet)) == facet


COLUMNS = st.lists(st.tuples(NAME, st.one_of(st.none(), NAME)), max_size=5)


@settings(max_examples=150, deadline=None)
@given(columns=COLUMNS, rows=st.one_of(st.none(), st.integers(0, 10**12)), size=st.one_of(st.none(), st.integers(0)),
       key=st.sampled_from(["2026-03-02", "2026-03-02-13:00", "2026-03-02|eu", "eu", "2026-02-30"]),
       deps=st.dictionaries(NAME, st.lists(st.tuples(NAME, NAME, NAME), max_size=2), max_size=3),
       assertions=st.lists(st.fixed_dictionaries({"assertion": NAME, "success": st.booleans()},
                                                 optional={"column": NAME, "severity": NAME}), max_size=3))
def test_built_facets_serialize_as_the_clients_classes(columns, rows, size, key, deps, assertions) -> None:
    built = [f.SchemaFacet.build(columns), f.ColumnLineageFacet.build(deps), f.OutputStatisticsFacet.build(rows, size),
             f.VersionFacet.build(str(rows)), f.AssertionsFacet.build(assertions),
             f.MetricsFacet.build(rows, {n: quality.ColumnMetrics(nullCount=rows, quantiles={"0.5": 1.5})
                                         for n, _ in columns}),
             *f.partition_facets(key, {"date": key}).values()]
    for facet in (b for b in built if b is not None):
        assert_same_json(facet)


def test_error_and_drift_facets_serialize_as_the_clients_classes() -> None:
    try:
        raise KeyError("missing")
    except KeyError as exc:
        assert_same_json(f.ErrorMessageFacet.build(exc))
    drift = f.DriftDatasetFacet.from_fact({"drifted": True, "share_drifted": 0.5, "n_ref": 7, "columns": {
        "a": {"drifted": True, "test": "ks", "statistic": 0.4, "inf_count_cur": 2}}})
    assert_same_json(drift)
    assert json.loads(Serde.to_json(drift))["_schemaURL"] == f.DRIFT_SCHEMA_URL


def test_events_carrying_the_facets_serialize_as_with_the_clients_classes() -> None:
    """In emission the facets go into the client's event_v2 classes: the event's JSON is unchanged."""
    def event(convert):
        outputs = [ev.event_v2.OutputDataset(
            namespace="dagster", name="clean.loans",
            facets=convert({"schema": f.SchemaFacet.build([("id", "string")]), "version": f.VersionFacet.build("v1"),
                            "columnLineage": f.ColumnLineageFacet.build({"id": [("dagster", "raw", "id")]}),
                            "drift": f.DriftDatasetFacet(drifted=False, shareDrifted=0.0)}),
            outputFacets=convert({"outputStatistics": f.OutputStatisticsFacet.build(10, 100)}))]
        return ev.run_event(ev.event_v2.RunState.COMPLETE, run_id="0193c4a2-5d0e-7a3e-9c6f-2b8e6f4a1d00",
                            job_namespace="dagster", job_name="x", event_time="2026-03-02T00:00:00Z",
                            run_facets=convert(ev.partition_run_facets("2026-03-02|eu")), outputs=outputs)

    ours, theirs = event(lambda facets: facets), event(as_client)
    assert Serde.to_json(ours) == Serde.to_json(theirs)
    assert ev.to_dict(ours) == ev.to_dict(theirs)

"""Lineage queries say what other producers' events say (issue 12, lineage semantics).

Spark, Hive and Marquez events come from the producer corpus (tests/data/producers, see its
SOURCES.md); where no producer in the corpus sends a construct (Delta MERGE self-dependency, the
explicit `lineage` facet, a static DatasetEvent with column lineage), events are built with
openlineage-python's own classes, following the spec. Expected answers are computed from the
events themselves, not written down.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openlineage.client.event_v2 import DatasetEvent, InputDataset, Job, JobEvent, OutputDataset, Run, RunEvent, RunState
from openlineage.client.event_v2 import StaticDataset
from openlineage.client.facet_v2 import column_lineage_dataset, job_type_job, lineage
from openlineage.client.serde import Serde

from helpers import producer_corpus as corpus

from helpers import producer_corpus as corpus

from lineage.graph import queries
from lineage.store import LineageStore
from lineage.store import tables as t

CORPUS = corpus.ROOT
PRODUCER = "https://github.com/example/observability-pipelines/tests"
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def as_dict(event: Any) -> dict[str, Any]:
    import json

    return json.loads(Serde.to_json(event))


def field_sources(events: list[dict[str, Any]], dataset: str, column: str) -> dict[tuple[str, str], set[str]]:
    """(source dataset, field) -> transformation types, from the events' ColumnLineage facets."""
    out: dict[tuple[str, str], set[str]] = {}
    for event in events:
        for ds in event.get("outputs", []):
            facet = ds.get("facets", {}).get("columnLineage")
            if ds["name"] != dataset or not facet:
                continue
            for src in facet["fields"].get(column, {}).get("inputFields", []):
                kinds = out.setdefault((src["name"], src["field"]), set())
                kinds |= {tr["type"] for tr in src.get("transformations", [])}
            for src in facet.get("dataset", []):
                out.setdefault((src["name"], src["field"]), set()).add("INDIRECT")
    return out


# ---------------------------------------------------------------------- 1. INDIRECT inputs
def test_spark_per_field_indirect_inputs_are_indirect(store: LineageStore) -> None:
    events = corpus.read(CORPUS / "spark" / "cll_hive_ctas.jsonl")
    store.ingest(events)
    target = "/tmp/cll_test/tbl1"
    for column in ("ident", "trans", "agg"):
        expected = field_sources(events, target, column)
        assert expected and any(kinds == {"INDIRECT"} for kinds in expected.values())  # the case in point
        result = queries.column_lineage(store, target, column)
        got = {(c["name"], c["field"]): c["indirect"] for c in result["columns"]}
        assert got == {src: kinds == {"INDIRECT"} for src, kinds in expected.items()}
        direct = queries.column_lineage(store, target, column, include_indirect=False)
        assert {(c["name"], c["field"]) for c in direct["columns"]} == {
            src for src, kinds in expected.items() if "DIRECT" in kinds
        }


def test_spark_indirect_inputs_downstream(store: LineageStore) -> None:
    events = corpus.read(CORPUS / "spark" / "cll_hive_ctas.jsonl")
    store.ingest(events)
    target = "/tmp/cll_test/tbl1"
    source = ("/tmp/cll_test/cll_source1", "b")
    expected = {
        col: field_sources(events, target, col)[source] == {"INDIRECT"}
        for col in ("ident", "trans", "agg")
        if source in field_sources(events, target, col)
    }
    down = queries.column_lineage(store, source[0], source[1], direction="downstream")
    assert {c["field"]: c["indirect"] for c in down["columns"]} == expected
    kept = queries.column_lineage(store, source[0], source[1], direction="downstream", include_indirect=False)
    assert {c["field"] for c in kept["columns"]} == {col for col, indirect in expected.items() if not indirect}


def test_hive_dataset_list_is_indirect_through_further_hops(store: LineageStore) -> None:
    """A dependency that is indirect at one hop stays indirect however far upstream it goes."""
    hive = corpus.read(CORPUS / "hive" / "aggregate_job_column_lineage.filled.json")
    source = hive[0]["inputs"][0]  # default.transactions, loaded 1:1 from a landing table here
    summary = hive[0]["outputs"][0]["name"]
    first_hop = field_sources(hive, summary, "totalamount")
    assert {"INDIRECT"} in first_hop.values()  # from the facet's top-level `dataset` list
    load = OutputDataset(
        namespace=source["namespace"], name=source["name"],
        facets={"columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(fields={
            f: column_lineage_dataset.Fields(inputFields=[column_lineage_dataset.InputField(
                namespace="gs://landing", name="transactions_raw", field=f,
                transformations=[column_lineage_dataset.Transformation(type="DIRECT", subtype="IDENTITY")],
            )])
            for _, f in first_hop
        })},
    )
    loader = RunEvent(
        eventType=RunState.COMPLETE, eventTime="2020-01-01T00:00:00Z", run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="hive", name="load_transactions"), producer=PRODUCER,
        inputs=[InputDataset(namespace="gs://landing", name="transactions_raw")], outputs=[load],
    )
    store.ingest([as_dict(loader), *hive])
    result = queries.column_lineage(store, summary, "totalamount")
    two_hops = {c["field"]: c["indirect"] for c in result["columns"] if c["name"] == "transactions_raw"}
    assert two_hops == {f: kinds == {"INDIRECT"} for (_, f), kinds in first_hop.items()}
    direct = queries.column_lineage(store, summary, "totalamount", include_indirect=False)
    assert {(c["name"], c["field"]) for c in direct["columns"]} == {
        (name, f) for (_, f), kinds in first_hop.items() if kinds != {"INDIRECT"}
        for name in (source["name"], "transactions_raw")
    }


# ---------------------------------------------------------------------- 2. self-dependency
def _merge_event(when: datetime) -> dict[str, Any]:
    """A Delta MERGE INTO tbl USING updates: tbl.a <- tbl.a and updates.a (Spark-style facet)."""
    def src(name: str) -> column_lineage_dataset.InputField:
        return column_lineage_dataset.InputField(
            namespace="file", name=name, field="a",
            transformations=[column_lineage_dataset.Transformation(type="DIRECT", subtype="IDENTITY")],
        )

    tbl = OutputDataset(
        namespace="file", name="/delta/tbl",
        facets={"columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(
            fields={"a": column_lineage_dataset.Fields(inputFields=[src("/delta/tbl"), src("/delta/updates")])}
        )},
    )
    return as_dict(RunEvent(
        eventType=RunState.COMPLETE, eventTime=when.isoformat(), run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="spark", name="app.execute_merge_into_command_edge.delta_tbl"), producer=PRODUCER,
        inputs=[InputDataset(namespace="file", name="/delta/tbl"), InputDataset(namespace="file", name="/delta/updates")],
        outputs=[tbl],
    ))


def test_column_dependency_on_itself_is_kept(store: LineageStore) -> None:
    store.ingest([_merge_event(T0)])
    c = t.column_edges.c
    with store.read() as conn:
        rows = conn.execute(
            t.column_edges.select().where(c.src_dataset_id == c.dst_dataset_id, c.src_field == c.dst_field)
        ).all()
    assert len(rows) == 1
    up = queries.column_lineage(store, "/delta/tbl", "a")
    assert {(e["name"], e["field"], e["distance"]) for e in up["columns"]} == {
        ("/delta/tbl", "a", 1), ("/delta/updates", "a", 1)
    }
    assert [(o["name"], o["field"]) for o in up["origins"]] == [("/delta/updates", "a")]
    down = queries.column_lineage(store, "/delta/updates", "a", direction="downstream")
    assert [(e["name"], e["field"]) for e in down["columns"]] == [("/delta/tbl", "a")]
    datasets = queries.upstream(store, "/delta/tbl")  # the dataset-level cycle ends too
    assert [d["name"] for d in datasets["datasets"]] == ["/delta/updates"]
    assert "dataset:file:/delta/tbl" in {e["to"] for e in datasets["edges"]}


# ---------------------------------------------------------------------- 3. symlinks
def test_spark_table_found_by_its_symlink(store: LineageStore) -> None:
    events = corpus.read(CORPUS / "spark" / "cll_hive_ctas.jsonl")
    store.ingest(events)
    links = {
        (ident["namespace"], ident["name"]): (ds["namespace"], ds["name"])
        for e in events for ds in e.get("inputs", []) + e.get("outputs", [])
        for ident in ds.get("facets", {}).get("symlinks", {}).get("identifiers", [])
    }
    assert ("file:/tmp/cll_test", "default.tbl1") in links
    for (link_ns, link_name), (ns, name) in links.items():
        for namespace in (None, link_ns, ns):
            root = queries.upstream(store, link_name, namespace=namespace)["root"]
            assert (root["namespace"], root["name"]) == (ns, name)
    up = queries.upstream(store, "default.tbl1")
    assert {d["name"] for d in up["datasets"]} == {"/tmp/cll_test/cll_source1", "/tmp/cll_test/cll_source2"}
    with pytest.raises(queries.NotFoundError):
        queries.upstream(store, "default.tbl1", namespace="hive://elsewhere")


# ---------------------------------------------------------------------- 4. the `lineage` facet
def _source(name: str, field: str | None = None, kind: str = "DIRECT") -> lineage.LineageDatasetInput:
    return lineage.LineageDatasetInput(
        namespace="pg://shop", name=name, type="DATASET", field=field,
        transformations=[lineage.LineageTransformation(type=kind)] if field else [],
    )


def test_explicit_lineage_facet_makes_edges(store: LineageStore) -> None:
    # Dataset facet on a static DatasetEvent: entity and field level.
    clean = DatasetEvent(
        eventTime=T0.isoformat(), producer=PRODUCER,
        dataset=StaticDataset(namespace="pg://shop", name="orders_clean", facets={
            "lineage": lineage.LineageDatasetFacet(
                inputs=[_source("orders"), _source("orders", "status", "INDIRECT")],
                fields={"amount": lineage.LineageFieldEntry(inputs=[_source("orders", "amount")])},
            )
        }),
    )
    # Job facet on a JobEvent: a dataset target fed by a dataset, and the job itself reading one.
    revenue = JobEvent(
        eventTime=(T0 + timedelta(hours=1)).isoformat(), producer=PRODUCER,
        job=Job(namespace="etl", name="revenue", facets={
            "lineage": lineage.LineageJobFacet(entries=[
                lineage.LineageDatasetEntry(namespace="pg://shop", name="revenue", type="DATASET",
                                            inputs=[_source("orders_clean")]),
                lineage.LineageJobEntry(type="JOB", inputs=[_source("fx_rates")]),
            ])
        }),
    )
    store.ingest([as_dict(clean), as_dict(revenue)])
    up = queries.upstream(store, "revenue")
    assert {(d["name"], d["distance"]) for d in up["datasets"]} == {("orders_clean", 1), ("orders", 2)}
    columns = queries.column_lineage(store, "orders_clean", "amount")
    assert {(c["name"], c["field"], c["indirect"]) for c in columns["columns"]} == {
        ("orders", "amount", False), ("orders", "status", True)
    }
    job_inputs = queries.upstream(store, "revenue", node_type="job")
    assert [d["name"] for d in job_inputs["datasets"]] == ["fx_rates"]
    assert queries.paths(store, "orders", "revenue")["count"] == 1


# ---------------------------------------------------------------------- 5. static column lineage
def test_static_dataset_event_column_lineage_makes_a_dataset_edge(store: LineageStore) -> None:
    facet = column_lineage_dataset.ColumnLineageDatasetFacet(fields={
        "total": column_lineage_dataset.Fields(inputFields=[
            column_lineage_dataset.InputField(namespace="pg://shop", name="orders", field="amount"),
            column_lineage_dataset.InputField(namespace="pg://shop", name="refunds", field="amount"),
        ])
    })
    event = DatasetEvent(eventTime=T0.isoformat(), producer=PRODUCER,
                         dataset=StaticDataset(namespace="pg://shop", name="daily_totals", facets={"columnLineage": facet}))
    store.ingest([as_dict(event)])
    up = queries.upstream(store, "daily_totals")
    assert {(d["name"], d["distance"]) for d in up["datasets"]} == {("orders", 1), ("refunds", 1)}
    assert up["jobs"] == []
    down = queries.downstream(store, "refunds")
    assert [d["name"] for d in down["datasets"]] == ["daily_totals"]
    assert queries.impact(store, "orders")["counts"]["datasets"] == 1


# ---------------------------------------------------------------------- 6. current job version
def test_marquez_apples_job_that_changed_inputs(store: LineageStore) -> None:
    """Marquez's own scenario: gather_apples switched from red.delicious to crab.apples."""
    events = corpus.read(CORPUS / "marquez" / "apples.jsonl")
    store.ingest(events, validate=False)  # Marquez's test events carry no schemaURL
    runs = sorted((e for e in events if e["job"]["name"] == "gather_apples"), key=lambda e: e["eventTime"])
    old_inputs = {d["name"] for d in runs[0]["inputs"]}
    new_inputs = {d["name"] for d in runs[-1]["inputs"]}
    assert old_inputs != new_inputs
    now = queries.upstream(store, "apples", depth=1)
    assert {d["name"] for d in now["datasets"]} == new_inputs
    for source in old_inputs - new_inputs:
        assert queries.downstream(store, source)["datasets"] == []
        between = datetime.fromisoformat(runs[-1]["eventTime"]) - timedelta(days=1)
        assert "apples" in {d["name"] for d in queries.downstream(store, source, as_of=between)["datasets"]}
    then = queries.upstream(store, "apples", depth=1, as_of=datetime.fromisoformat(runs[0]["eventTime"]))
    assert {d["name"] for d in then["datasets"]} == old_inputs
    graph = queries.graph_as_of(store)
    assert not {f"dataset:{d['namespace']}:{d['name']}" for d in runs[0]["inputs"] if d["name"] in old_inputs - new_inputs} & {
        e["from"] for e in graph["edges"]
    }


def _run(job: str, inputs: list[str], when: datetime, *, complete: bool = True, run_id: str | None = None) -> list[dict[str, Any]]:
    run_id = run_id or str(uuid.uuid4())
    states = [(RunState.START, when)] + ([(RunState.COMPLETE, when + timedelta(minutes=5))] if complete else [])
    return [
        as_dict(RunEvent(
            eventType=state, eventTime=at.isoformat(), run=Run(runId=run_id), job=Job(namespace="dagster", name=job),
            producer=PRODUCER, inputs=[InputDataset(namespace="s3://lake", name=n) for n in inputs],
            outputs=[OutputDataset(namespace="s3://lake", name=f"{job}_out")],
        ))
        for state, at in states
    ]


def test_current_version_is_the_latest_completed_run(store: LineageStore) -> None:
    # Daily partitions of one job, then the job drops input `b`; a newer run is still in flight.
    events = [e for day in range(3) for e in _run("build", ["a", "b"], T0 + timedelta(days=day))]
    events += _run("build", ["a"], T0 + timedelta(days=3))
    events += _run("build", ["a", "c"], T0 + timedelta(days=4), complete=False)
    store.ingest(events)
    assert {d["name"] for d in queries.upstream(store, "build_out", depth=1)["datasets"]} == {"a"}
    old = queries.upstream(store, "build_out", depth=1, as_of=T0 + timedelta(days=2, hours=1))
    assert {d["name"] for d in old["datasets"]} == {"a", "b"}
    # A run that reports no datasets says nothing about the job's lineage.
    store.ingest([as_dict(RunEvent(eventType=RunState.COMPLETE, eventTime=(T0 + timedelta(days=5)).isoformat(),
                                   run=Run(runId=str(uuid.uuid4())), job=Job(namespace="dagster", name="build"),
                                   producer=PRODUCER))])
    assert {d["name"] for d in queries.upstream(store, "build_out", depth=1)["datasets"]} == {"a"}
    # The in-flight run completes: its inputs become current.
    store.ingest([dict(events[-1], eventType="COMPLETE", eventTime=(T0 + timedelta(days=4, minutes=9)).isoformat())])
    assert {d["name"] for d in queries.upstream(store, "build_out", depth=1)["datasets"]} == {"a", "c"}


# ---------------------------------------------------------------------- 7. models by facet
def test_models_and_predictions_by_facets_not_names(store: LineageStore) -> None:
    dbt_job = {"jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DBT", jobType="MODEL")}
    inference = {"jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DAGSTER",
                                                        jobType="INFERENCE")}
    events = [
        RunEvent(eventType=RunState.COMPLETE, eventTime=T0.isoformat(), run=Run(runId=str(uuid.uuid4())),
                 job=Job(namespace="dbt", name="jaffle.model.stg_customers", facets=dbt_job), producer=PRODUCER,
                 inputs=[InputDataset(namespace="duckdb", name="raw_customers")],
                 outputs=[OutputDataset(namespace="duckdb", name="main.model_customers")]),
        RunEvent(eventType=RunState.COMPLETE, eventTime=(T0 + timedelta(hours=1)).isoformat(),
                 run=Run(runId=str(uuid.uuid4())), job=Job(namespace="ml", name="score", facets=inference),
                 producer=PRODUCER, inputs=[InputDataset(namespace="duckdb", name="main.model_customers")],
                 outputs=[OutputDataset(namespace="duckdb", name="main.customer_labels")]),
    ]
    store.ingest([as_dict(e) for e in events])
    result = queries.impact(store, "raw_customers")
    assert [d["name"] for d in result["datasets"]] == ["main.model_customers"]  # a dbt model is a table
    assert result["models"] == []
    assert [d["name"] for d in result["predictions"]] == ["main.customer_labels"]  # written by an INFERENCE job

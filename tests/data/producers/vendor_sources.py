"""Re-vendor the non-dbt part of the corpus from bare git copies of the two upstream repositories.

    python tests/data/producers/vendor_sources.py COMPAT_GIT_DIR MARQUEZ_GIT_DIR

COMPAT_GIT_DIR is a clone (bare is fine) of OpenLineage/compatibility-tests, MARQUEZ_GIT_DIR one of
MarquezProject/marquez. Events are copied unchanged except: a multi-file scenario becomes one JSONL
(files in name order, compact JSON), Marquez's seed template gets a fixed time for its one
placeholder, and the Hive fragment is filled in (see FILLED below). SOURCES.md is rewritten.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
# Marquez's seed.sh fills {{RUN_START_TIME}} with now and {{RUN_END_TIME_AFTER_<n>_MINUTES}} with
# now + n minutes; the corpus uses a fixed now.
SEED_TIME = "2026-01-01T00:00:00.000Z"
SEED_PLACEHOLDER = re.compile(r"\{\{RUN_(START_TIME|END_TIME_AFTER_(\d+)_MINUTES)\}\}")

COMPAT = "OpenLineage/compatibility-tests"
MARQUEZ = "MarquezProject/marquez"

# (target, repo, source paths in order, note)
SCENARIOS = [
    ("spark/cll_hive_ctas.jsonl", COMPAT, "consumer/scenarios/CLL/events", "Spark 1.19 CTAS on Hive tables: columnLineage with DIRECT+INDIRECT per field, symlinks, parent"),
    ("spark/dataproc_bigquery_shakespeare.jsonl", COMPAT, "consumer/scenarios/spark_dataproc_bigquery_shakespare/events", "Spark on Dataproc reading/writing BigQuery: INDIRECT column lineage, gcp facets"),
    ("airflow/gcs_bigquery_dag.jsonl", COMPAT, "consumer/scenarios/airflow/events", "Airflow DAG run: GCS/BigQuery operators, Bash, Python (32 events)"),
    ("marquez/apples.jsonl", MARQUEZ, "api/src/test/resources/apples", "Marquez's lineage test scenario; no schemaURL anywhere"),
    ("marquez/listener.jsonl", MARQUEZ, "api/src/test/resources/open_lineage/listener", "RUNNING/COMPLETE of one run; no schemaURL"),
]
SINGLE = [
    ("compatibility/simple_run_event.json", COMPAT, "consumer/scenarios/simple_run_event/events/simple_run_event.json", "minimal event; runId 'run_id' is not a UUID"),
    *[
        (f"marquez/open_lineage/{name}", MARQUEZ, f"api/src/test/resources/open_lineage/{name}", note)
        for name, note in [
            ("event_full.json", "all standard facets; dataQualityMetrics without columnMetrics"),
            ("event_without_schema_url.json", "no schemaURL"),
            ("event_simple.json", "plain run event"),
            ("event_unicode.json", "unicode names"),
            ("event_namespace_naming.json", "namespace naming conventions of many sources"),
            ("event_additional_facet.json", "custom (non-standard) facets"),
            ("event_dataset_event.json", "static DatasetEvent"),
            ("event_job_event.json", "static JobEvent"),
            ("event_required_only.json", "required fields only"),
            ("event_required_nanoseconds.json", "eventTime with nanoseconds"),
            ("event_required_no_timezone.json", "eventTime without time zone"),
            ("null_nominal_end_time.json", "nominalTime facet with null nominalEndTime"),
        ]
    ],
]
OPENAPI = ("marquez/openapi.yml", MARQUEZ, "spec/openapi.yml", "Marquez HTTP API contract (not events)")
SEED = ("marquez/seed_metadata.jsonl", MARQUEZ, "docker/metadata.template.json", f"Marquez demo seed (food_delivery); time placeholders filled as seed.sh does, with now = {SEED_TIME}")
HIVE_DIR = "producer/hive_dataproc/scenarios/aggregate_job/events"
FILLED = (
    "hive/aggregate_job_column_lineage.filled.json",
    COMPAT,
    f"{HIVE_DIR}/run_event.json + columnLineage.json + symlinks.json",
    "FILLED producer fragment (test matcher): Hive 1.34 columnLineage 1-2-0 with the dataset-level "
    "`dataset` list (INDIRECT GROUP_BY/SORT) and symlinks; eventTime, runId (uuid5 of the job name), "
    "producer and schemaURL added by vendor_sources.py",
)


def git(repo_dir: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo_dir), *args], check=True, capture_output=True, text=True).stdout


def show(repo_dir: Path, path: str) -> str:
    return git(repo_dir, "show", f"HEAD:{path}")


def compact(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def write(target: str, text: str) -> None:
    path = HERE / target
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def vendor_scenario(repo_dir: Path, target: str, folder: str) -> list[str]:
    names = sorted(p for p in git(repo_dir, "ls-tree", "--name-only", f"HEAD:{folder}").split() if p.endswith(".json"))
    write(target, "".join(compact(json.loads(show(repo_dir, f"{folder}/{n}"))) + "\n" for n in names))
    return [f"{folder}/{n}" for n in names]


def seed_time(match: re.Match[str]) -> str:
    minutes = int(match.group(2) or 0)
    when = datetime.fromisoformat(SEED_TIME.replace("Z", "+00:00")) + timedelta(minutes=minutes)
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def filled_hive_event(repo_dir: Path) -> dict:
    def load(name: str) -> dict:
        return json.loads(show(repo_dir, f"{HIVE_DIR}/{name}"))

    event = load("run_event.json")
    lineage = load("columnLineage.json")["outputs"][0]["facets"]["columnLineage"]
    links = load("symlinks.json")
    event["outputs"][0]["facets"] = {"columnLineage": lineage, "symlinks": links["outputs"][0]["facets"]["symlinks"]}
    event["inputs"][0]["facets"] = {"symlinks": links["inputs"][0]["facets"]["symlinks"]}
    for facet in (event["outputs"][0]["facets"]["symlinks"], event["inputs"][0]["facets"]["symlinks"]):
        facet.update({"_producer": lineage["_producer"], "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/SymlinksDatasetFacet.json#/$defs/SymlinksDatasetFacet"})
    event["eventTime"] = "2025-06-01T12:00:00.000Z"
    event["run"]["runId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, event["job"]["name"]))
    event["producer"] = lineage["_producer"]
    event["schemaURL"] = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    return event


def main(compat_dir: Path, marquez_dir: Path) -> None:
    dirs = {COMPAT: compat_dir, MARQUEZ: marquez_dir}
    commits = {repo: git(d, "rev-parse", "HEAD").strip() for repo, d in dirs.items()}
    rows: list[tuple[str, str, str, str]] = []
    for target, repo, folder, note in SCENARIOS:
        sources = vendor_scenario(dirs[repo], target, folder)
        rows.append((target, repo, f"{folder}/ ({len(sources)} files: {', '.join(p.rsplit('/', 1)[1] for p in sources)})", note))
    for target, repo, path, note in SINGLE:
        write(target, show(dirs[repo], path))
        rows.append((target, repo, path, note))
    target, repo, path, note = OPENAPI
    write(target, show(dirs[repo], path))
    rows.append(OPENAPI)
    target, repo, path, note = SEED
    seed = json.loads(SEED_PLACEHOLDER.sub(seed_time, show(dirs[repo], path)))
    write(target, "".join(compact(e) + "\n" for e in seed))
    rows.append(SEED)
    write(FILLED[0], json.dumps(filled_hive_event(dirs[COMPAT]), indent=2) + "\n")
    rows.append(FILLED)
    write_sources(rows, commits)


def write_sources(rows: list[tuple[str, str, str, str]], commits: dict[str, str]) -> None:
    lines = [
        "# Sources of the producer corpus",
        "",
        "Both upstream repositories are licensed Apache-2.0 (their LICENSE files); files are copied",
        "unchanged apart from what the notes say. Regenerate with `vendor_sources.py` (this folder);",
        "the dbt events are generated by `dbt/generate.sh` (see dbt/README.md), not copied.",
        "",
        "| repository | commit |",
        "| --- | --- |",
        *[f"| {repo} | {sha} |" for repo, sha in commits.items()],
        "",
        "| file | repository | original path | licence | note |",
        "| --- | --- | --- | --- | --- |",
        *[f"| `{t}` | {r} | `{p}` | Apache-2.0 | {n} |" for t, r, p, n in rows],
        "| `dbt/` | this project | generated by `dbt/generate.sh` | project's | real dbt-core + dbt-duckdb + openlineage-dbt run |",
        "",
    ]
    (HERE / "SOURCES.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

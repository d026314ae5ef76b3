"""Root-cause analysis benchmark: accuracy on real faulted pipeline runs, and answer time on 1,000 assets.

    .venv/bin/python benchmarks/bench_rca.py            # full sweep (~40 cases) + 1,000-asset timing
    .venv/bin/python benchmarks/bench_rca.py --quick    # 10 cases + timing with fewer repetitions

Part 1 (accuracy): the reference Dagster pipelines run on seeded data with one fault per partition
(`benchmarks/rca_harness.py`: every fault kind, at raw sources, clean and feature assets, small and
large magnitudes, some with unrelated "decoy" faults in the same partition); `lineage.analysis.rca.analyze`
is asked about a symptom dataset several hops downstream. Reported: AC@1 / AC@3 (the injected
asset is the top / in the top 3 candidates), column accuracy (top candidate's column, over cases
whose fault names a column), kind accuracy (top candidate's fault kind), time per answer, and the
same AC@1 / AC@3 for the naive baseline "most-upstream failing ancestor" (farthest ancestor with a
failed assertion or drift; AC@3 = the injected asset among the three farthest failing ancestors).

Part 2 (scale): OpenLineage RunEvents (openlineage-python ``event_v2``, validated on ingest) for a
layered DAG of 1,000 datasets x 5 daily partitions, with schema, columnLineage, outputStatistics
and dataQualityAssertions facets and a ``nominalTime`` run facet; every assertion passes except a
not-null failure injected at one upstream dataset in the last partition, echoed by every
downstream column derived from it. Ingested into a fresh SQLite store, then
``analyze(store, <sink>, partition=<last>)`` is timed: first call (builds the lineage graph)
separately, then repeated calls (median, p95). The top candidate must be the injected dataset.

The full run replaces the "Root-cause analysis" section of benchmarks/RESULTS.md (other sections are
kept); ``--quick`` only prints unless ``--write`` is given, ``--no-write`` never writes.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_spec = importlib.util.spec_from_file_location("rca_harness", ROOT / "benchmarks" / "rca_harness.py")
harness = importlib.util.module_from_spec(_spec)
sys.modules["rca_harness"] = harness  # dataclasses look their module up by name
_spec.loader.exec_module(harness)
Case = harness.Case

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Root-cause analysis"
TARGET_AC1 = 0.95
TARGET_SECONDS = 1.0

RC, RT, RL = "raw_customers", "raw_transactions", "raw_labels"
CC, CF = "clean_customers", "customer_features"
TS, BP = "training_set", "batch_predictions"


# --------------------------------------------------------------------------- the sweep
def decoy(asset: str, kind: str, column: str | None = None, magnitude: float | None = None) -> dict:
    d: dict[str, Any] = {"asset": asset, "kind": kind}
    if column:
        d["column"] = column
    if magnitude is not None:
        d["magnitude"] = magnitude
    return d


def full_cases() -> list[list[Case]]:
    """Two sweeps (each run of the pipelines serves one partition per case after the warm-up days)."""
    a = [
        # null_burst
        Case(RC, "null_burst", "income", 0.3),
        Case(RC, "null_burst", "employment_years", 0.1),
        Case(RT, "null_burst", "transaction_ts", 0.3, symptom=CF),
        Case(CC, "null_burst", "loan_amount", 0.2, symptom=BP),
        Case(CF, "null_burst", "income", 0.1, symptom=BP),
        # scale_change
        Case(RC, "scale_change", "loan_amount", 100.0),
        Case(RC, "scale_change", "income", 1.5),
        Case(RT, "scale_change", "amount", 100.0, symptom=CF),
        Case(CF, "scale_change", "txn_amount_sum_30d", 1.5, symptom=BP),
        # mean_shift
        Case(RC, "mean_shift", "age", 2.0),
        Case(RC, "mean_shift", "income", 0.5),
        Case(RT, "mean_shift", "amount", 2.0, symptom=CF),
        Case(CF, "mean_shift", "loan_to_income", 2.0, symptom=BP),
        Case(CC, "mean_shift", "employment_years", 0.5),
        # category_remap
        Case(RC, "category_remap", "region"),
        Case(RT, "category_remap", "channel"),
        Case(CC, "category_remap", "home_ownership", symptom=BP),
    ]
    b = [
        # column_drop
        Case(RC, "column_drop", "employment_years"),
        Case(RT, "column_drop", "merchant_category", symptom=CF),
        Case(CF, "column_drop", "online_share_30d", symptom=BP),
        Case(RL, "column_drop", "label_observed_ts"),
        # type_change
        Case(RT, "type_change", "amount"),
        Case(RC, "type_change", "application_ts"),
        Case(CF, "type_change", "income", symptom=BP),
        # duplicate_rows (clean de-duplicates on the key, so only after cleaning)
        Case(CF, "duplicate_rows", None, 0.2, symptom=BP),
        Case(CF, "duplicate_rows", None, 0.05),
        # stale_partition (re-delivery of a source)
        Case(RC, "stale_partition"),
        Case(RL, "stale_partition"),
        # row_loss
        Case(RT, "row_loss", None, 0.4),
        Case(RC, "row_loss", None, 0.15),
        Case(RL, "row_loss", None, 0.15),
        # label_shift
        Case(RL, "label_shift", None, 0.2),
        Case(RL, "label_shift", None, 0.08),
    ]
    decoys = [
        # not an ancestor of the symptom
        Case(RC, "null_burst", "loan_amount", 0.3, symptom=CF, decoys=[decoy(RL, "label_shift", magnitude=0.25)]),
        Case(RT, "category_remap", "channel", symptom=CF, decoys=[decoy(RL, "stale_partition")]),
        Case(RT, "row_loss", None, 0.4, symptom=CF, decoys=[decoy(RL, "column_drop", "label_observed_ts")]),
        # an ancestor of the symptom, but its anomaly does not reach the symptom's columns
        Case(RC, "scale_change", "income", 100.0, decoys=[decoy(RT, "null_burst", "amount", 0.1)]),
        Case(RL, "label_shift", None, 0.2, decoys=[decoy(RT, "null_burst", "amount", 0.1)]),
        Case(RC, "mean_shift", "age", 2.0, decoys=[decoy(RT, "null_burst", "merchant_category", 0.1)]),
        # batch_predictions reads the model, which was trained on labels: raw_labels is an ancestor
        Case(CF, "duplicate_rows", None, 0.2, symptom=BP, decoys=[decoy(RL, "label_shift", magnitude=0.2)]),
        Case(CC, "category_remap", "home_ownership", symptom=BP,
             decoys=[decoy(RL, "null_burst", "label_observed_ts", 0.3)]),
    ]
    # Decoy cases are spread over both sweeps.
    return [a + decoys[:4], b + decoys[4:]]


def quick_cases() -> list[list[Case]]:
    return [[
        Case(RC, "null_burst", "income", 0.1),
        Case(RC, "scale_change", "loan_amount", 1.5),
        Case(RC, "mean_shift", "age", 0.5),
        Case(RT, "category_remap", "channel", symptom=CF),
        Case(CF, "column_drop", "online_share_30d", symptom=BP),
        Case(RT, "type_change", "amount"),
        Case(CF, "duplicate_rows", None, 0.05, symptom=BP),
        Case(RL, "stale_partition"),
        Case(RC, "row_loss", None, 0.15),
        Case(RL, "label_shift", None, 0.08,
             decoys=[decoy(RT, "null_burst", "amount", 0.1)]),
    ]]


def case_label(c: Case) -> str:
    where = c.asset + (f".{c.column}" if c.column else "")
    mag = f" {c.magnitude:g}" if c.magnitude is not None else ""
    dec = ""
    if c.decoys:
        dec = " +decoy " + ", ".join(
            f"{d['kind']}@{d['asset']}" + (f".{d['column']}" if d.get("column") else "") for d in c.decoys)
    return f"{c.kind}{mag} @ {where} → {c.symptom}{dec}"


def run_sweeps(sweeps: list[list[Case]], workdir: Path) -> tuple[list[dict], float]:
    """Run each sweep, then re-open its store for the baseline's top 3 and a second (warm) answer."""
    from lineage.analysis.rca import analyze
    from lineage.store import LineageStore

    rows: list[dict] = []
    started = time.perf_counter()
    for i, cases in enumerate(sweeps):
        t0 = time.perf_counter()
        with _quiet(workdir / f"sweep{i}.log"):  # Dagster's console logger writes every step event to stderr
            outcomes, url, clean_days = harness.run_sweep(cases, workdir=workdir / f"sweep{i}")
        print(f"  sweep {i + 1}/{len(sweeps)}: {len(cases)} cases, "
              f"{len(cases) + len(clean_days)} partitions, {time.perf_counter() - t0:.0f} s", flush=True)
        store = LineageStore.open(url)
        try:
            for o in outcomes:
                t1 = time.perf_counter()
                again = analyze(store, o.case.symptom, partition=o.partition)
                warm_ms = (time.perf_counter() - t1) * 1000
                farthest = []
                for f in again.failing_ancestors:
                    if f["asset"] not in farthest:
                        farthest.append(f["asset"])
                rows.append({"outcome": o, "baseline3": farthest[:3], "warm_ms": warm_ms,
                             "symptom_columns": again.symptom.get("columns")})
        finally:
            store.dispose()
    return rows, time.perf_counter() - started


@contextlib.contextmanager
def _quiet(log_path: Path):
    """Send fd 2 (stderr) to a log file for the duration."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def rate(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def score(rows: list[dict]) -> dict[str, Any]:
    outs = [r["outcome"] for r in rows]
    with_column = [o for o in outs if o.case.column is not None]
    times = [o.elapsed_ms for o in outs]
    warm = [r["warm_ms"] for r in rows]
    return {
        "n": len(outs),
        "ac1": rate([o.hit1 for o in outs]),
        "ac3": rate([o.hit3 for o in outs]),
        "column": rate([bool(o.column_hit) for o in with_column]),
        "n_column": len(with_column),
        "kind": rate([o.kind_hit for o in outs]),
        "exact": rate([o.hit1 and o.kind_hit and o.column_hit is not False for o in outs]),
        "base_ac1": rate([o.baseline == o.case.asset for o in outs]),
        "base_ac3": rate([o.case.asset in r["baseline3"] for r, o in zip(rows, outs)]),
        "mean_ms": statistics.fmean(times) if times else None,
        "p95_ms": percentile(times, 0.95) if times else None,
        "max_ms": max(times) if times else None,
        "warm_mean_ms": statistics.fmean(warm) if warm else None,
    }


def by_kind(rows: list[dict]) -> dict[str, dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["outcome"].case.kind].append(r)
    return {k: score(v) for k, v in groups.items()}


def misses(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        o = r["outcome"]
        problems = []
        if not o.hit1:
            problems.append("asset")
        if o.column_hit is False:
            problems.append("column")
        if not o.kind_hit:
            problems.append("kind")
        if problems:
            top3 = [f"{a}{'.' + c if c else ''} {k}" for a, c, k in o.ranked[:3]] or ["(no candidates)"]
            reason = ("detection: no anomaly anywhere upstream (" + o.message + ")" if not o.ranked
                      else "ranking" if not o.hit1 else "classification")
            out.append({"case": case_label(o.case), "partition": o.partition, "wrong": problems, "top3": top3,
                        "baseline": o.baseline, "message": o.message, "reason": reason})
    return out


def baseline_misses(rows: list[dict]) -> list[str]:
    return [f"{case_label(r['outcome'].case)} → baseline {r['outcome'].baseline}"
            for r in rows if r["outcome"].baseline != r["outcome"].case.asset]


# --------------------------------------------------------------------------- 1,000-asset graph
SCALE_NS = "bench://rca-scale"
SCALE_JOB_NS = "bench-rca"
SCALE_PRODUCER = "https://github.com/observability-pipelines/observability-pipelines/tree/main/benchmarks/bench_rca.py"
N_COLUMNS = 6


def make_scale_events(n_datasets: int = 1000, n_partitions: int = 5, layers: int = 10, seed: int = 7,
                      start: dt.date = dt.date(2026, 5, 1)) -> tuple[list[dict], dict[str, Any]]:
    """Layered DAG; each non-source dataset is written by its own job reading 1-3 upstream datasets."""
    from openlineage.client import event_v2

    from lineage.emission import events as ev
    from lineage.emission import facets as fc

    rng = random.Random(seed)
    per_layer = n_datasets // layers
    layer_of = [min(i // per_layer, layers - 1) for i in range(n_datasets)]
    by_layer: dict[int, list[int]] = defaultdict(list)
    for i, lay in enumerate(layer_of):
        by_layer[lay].append(i)
    inputs: dict[int, list[int]] = {}
    for i in range(n_datasets):
        lay = layer_of[i]
        if lay == 0:
            inputs[i] = []
            continue
        k = rng.choice((1, 2, 2, 3))
        pool = by_layer[lay - 1]
        chosen = set(rng.sample(pool, min(k, len(pool))))
        if lay >= 2 and rng.random() < 0.3:  # a skip connection now and then
            chosen.add(rng.choice(by_layer[rng.randrange(0, lay - 1)]))
        inputs[i] = sorted(chosen)
    cols = [f"c{j}" for j in range(N_COLUMNS)]
    # Column lineage: output column cj comes from column cj of one input (and sometimes another column too).
    col_src: dict[int, dict[str, list[tuple[int, str]]]] = {}
    for i in range(n_datasets):
        if not inputs[i]:
            continue
        col_src[i] = {}
        for c in cols:
            srcs = [(rng.choice(inputs[i]), c)]
            if rng.random() < 0.3:
                srcs.append((rng.choice(inputs[i]), rng.choice(cols)))
            col_src[i][c] = sorted(set(srcs))

    def name(i: int) -> str:
        return f"layer{layer_of[i]}/ds_{i:04d}"

    # The fault: a not-null failure at a layer-1 dataset, in the last partition; the sink is a
    # last-layer dataset that reads the faulted column through column lineage.
    children: dict[int, list[int]] = defaultdict(list)
    for i, ins in inputs.items():
        for j in ins:
            children[j].append(i)

    def tainted_from(root: int, column: str) -> dict[int, set[str]]:
        tainted = {root: {column}}
        for i in sorted(d for d in range(n_datasets) if layer_of[d] > layer_of[root]):
            bad = {c for c, srcs in col_src.get(i, {}).items() if any(s in tainted and sc in tainted[s] for s, sc in srcs)}
            if bad:
                tainted[i] = bad
        return tainted

    # Of the layer-1 datasets, the one whose faulted column reaches the most datasets (most echoes).
    fault_ds, fault_col, tainted = None, "c2", {}
    for candidate in by_layer[1]:
        t = tainted_from(candidate, fault_col)
        if any(layer_of[d] == layers - 1 for d in t) and len(t) > len(tainted):
            fault_ds, tainted = candidate, t
    assert fault_ds is not None, "no layer-1 dataset reaches the last layer; change the seed"
    sinks = [d for d in tainted if layer_of[d] == layers - 1]
    sink = sinks[0]

    schema = fc.schema_facet([(c, "DOUBLE") for c in cols])
    events: list[dict] = []
    t0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
    for p in range(n_partitions):
        day = start + dt.timedelta(days=p)
        partition = day.isoformat()
        last = p == n_partitions - 1
        nominal = ev.nominal_time(partition)
        for i in range(n_datasets):
            bad_cols = tainted.get(i, set()) if last else set()
            assertions = [{"assertion": "expect_column_values_to_not_be_null", "column": c,
                           "success": c not in bad_cols, "severity": "ERROR"} for c in cols]
            assertions.append({"assertion": "expect_table_row_count_to_be_between", "success": True,
                               "severity": "ERROR"})
            facets: dict[str, Any] = {"schema": schema, "dataQualityAssertions": fc.assertions_facet(assertions)}
            if inputs[i]:
                facets["columnLineage"] = fc.column_lineage_facet(
                    {c: [(SCALE_NS, name(s), sc) for s, sc in srcs] for c, srcs in col_src[i].items()})
            rows = 10_000 + rng.randrange(-200, 200)
            output = event_v2.OutputDataset(
                namespace=SCALE_NS, name=name(i), facets=facets,
                outputFacets={"outputStatistics": fc.output_statistics(rows)})
            event_time = (t0 + dt.timedelta(days=p, seconds=i * 3)).isoformat().replace("+00:00", "Z")
            event = ev.run_event(
                event_v2.RunState.COMPLETE,
                run_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                job_namespace=SCALE_JOB_NS,
                job_name=f"job_{i:04d}",
                producer=SCALE_PRODUCER,
                event_time=event_time,
                run_facets={"nominalTime": nominal},
                inputs=[event_v2.InputDataset(namespace=SCALE_NS, name=name(s)) for s in inputs[i]],
                outputs=[output],
            )
            events.append(ev.to_dict(event))
    info = {"fault": name(fault_ds), "column": fault_col, "sink": name(sink),
            "partition": (start + dt.timedelta(days=n_partitions - 1)).isoformat(),
            "failing_datasets": len(tainted), "events": len(events), "datasets": n_datasets,
            "edges": sum(len(v) for v in inputs.values())}
    return events, info


def run_scale(workdir: Path, reps: int, n_datasets: int = 1000) -> dict[str, Any]:
    from lineage.analysis.rca import analyze
    from lineage.store import LineageStore

    t0 = time.perf_counter()
    events, info = make_scale_events(n_datasets)
    gen_s = time.perf_counter() - t0
    url = f"sqlite:///{workdir / 'scale.db'}"
    store = LineageStore.open(url)
    try:
        t0 = time.perf_counter()
        stored = 0
        for offset in range(0, len(events), 1000):
            stored += store.ingest(events[offset:offset + 1000]).stored  # validated against the spec
        ingest_s = time.perf_counter() - t0
        assert stored == len(events), (stored, len(events))

        t0 = time.perf_counter()
        first = analyze(store, info["sink"], namespace=SCALE_NS, partition=info["partition"])
        first_ms = (time.perf_counter() - t0) * 1000
        timings = []
        load = os.getloadavg()[0]
        result = first
        for _ in range(reps):
            t0 = time.perf_counter()
            result = analyze(store, info["sink"], namespace=SCALE_NS, partition=info["partition"])
            timings.append((time.perf_counter() - t0) * 1000)
        top = result.candidates[0] if result.candidates else None
        ancestors = _ancestor_count(store, info["sink"])
    finally:
        store.dispose()
    return {**info, "generate_s": gen_s, "ingest_s": ingest_s, "first_ms": first_ms,
            "median_ms": statistics.median(timings), "p95_ms": percentile(timings, 0.95),
            "max_ms": max(timings), "reps": reps, "ancestors": ancestors, "load": load,
            "top": (top.asset, top.column, top.kind) if top else None,
            "top_ok": bool(top) and top.asset == info["fault"] and top.column == info["column"]
            and top.kind == "null_burst",
            "top3": [f"{c.asset}.{c.column} {c.kind} ({c.score:.2f})" for c in result.candidates[:3]],
            "message": result.message}


def _ancestor_count(store, sink: str) -> int:
    from lineage.graph import queries
    try:
        up = queries.upstream(store, sink, namespace=SCALE_NS, depth=100)
        return len(up["datasets"])
    except Exception:  # pragma: no cover - informational only
        return -1


# --------------------------------------------------------------------------- output
def fmt(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "—"
    return f"{v:.2f}" if not pct else f"{v:.0%}"


def print_report(total: dict, kinds: dict, miss: list[dict], base_miss: list[str], scale: dict | None,
                 sweep_s: float) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover
        Console = None
    if Console is None:
        print(json.dumps({"total": total, "kinds": kinds, "misses": miss, "scale": scale}, indent=2, default=str))
        return
    con = Console()
    t = Table(title=f"RCA sweep: {total['n']} cases ({sweep_s:.0f} s wall)")
    for h in ("", "AC@1", "AC@3", "column acc", "kind acc", "exact", "mean ms", "p95 ms"):
        t.add_column(h, justify="right" if h else "left")
    t.add_row("ours (lineage.analysis.rca)", fmt(total["ac1"]), fmt(total["ac3"]),
              f"{fmt(total['column'])} (n={total['n_column']})", fmt(total["kind"]), fmt(total["exact"]),
              f"{total['mean_ms']:.0f}", f"{total['p95_ms']:.0f}")
    t.add_row("baseline: most-upstream failing", fmt(total["base_ac1"]), fmt(total["base_ac3"]),
              "—", "—", "—", "—", "—")
    con.print(t)
    k = Table(title="per fault kind")
    for h in ("kind", "n", "AC@1", "AC@3", "column", "kind acc", "baseline AC@1"):
        k.add_column(h, justify="left" if h == "kind" else "right")
    for kind, s in kinds.items():
        k.add_row(kind, str(s["n"]), fmt(s["ac1"]), fmt(s["ac3"]), fmt(s["column"]), fmt(s["kind"]),
                  fmt(s["base_ac1"]))
    con.print(k)
    if miss:
        m = Table(title="misses (wrong asset, column or kind) → ranked top 3")
        m.add_column("case")
        m.add_column("wrong")
        m.add_column("top 3")
        for x in miss:
            m.add_row(x["case"], ",".join(x["wrong"]), " | ".join(x["top3"]))
        con.print(m)
    else:
        con.print("misses: none")
    con.print(f"baseline misses ({len(base_miss)}):")
    for b in base_miss:
        con.print(f"  {b}")
    if scale:
        con.print(
            f"1,000-asset graph: {scale['datasets']} datasets, {scale['events']} events, "
            f"{scale['ancestors']} ancestors of the sink, {scale['failing_datasets']} failing; ingest "
            f"{scale['ingest_s']:.1f} s; first answer {scale['first_ms']:.0f} ms; then median "
            f"{scale['median_ms']:.0f} ms, p95 {scale['p95_ms']:.0f} ms over {scale['reps']}; "
            f"top = {scale['top']} ({'correct' if scale['top_ok'] else 'WRONG'})")


def markdown(args, total: dict, kinds: dict, miss: list[dict], base_miss: list[str], scale: dict | None,
             sweep_s: float, cases: list[Case]) -> str:
    import pandas
    import sqlalchemy

    ac1_ok = total["ac1"] >= TARGET_AC1
    above = total["ac1"] - total["base_ac1"]
    lines = [
        SECTION,
        "",
        f"`.venv/bin/python benchmarks/bench_rca.py{' --quick' if args.quick else ''}` (one command; `--quick` for a "
        "10-case smoke run). Date: " + dt.date.today().isoformat() + f". Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores (shared, other test suites running); Python {platform.python_version()}, "
        f"pandas {pandas.__version__}, SQLAlchemy {sqlalchemy.__version__}.",
        "",
        f"**Sweep.** {total['n']} fault cases on real runs of the reference pipelines "
        f"(`benchmarks/rca_harness.py`, 250 customers/day, 4 clean warm-up days, one partition per case, "
        f"{len(args._sweeps)} runs of the pipelines, {sweep_s / 60:.1f} min wall): every fault kind, injected at "
        "raw_customers / raw_transactions / raw_labels / clean_customers / customer_features, small and large "
        "magnitudes (null_burst 0.1-0.3, scale_change 1.5 and 100, mean_shift 0.5 and 2, row_loss 0.15-0.4, "
        "label_shift 0.08-0.2, duplicate_rows 0.05 and 0.2), symptoms downstream "
        "(training_set 3 hops from raw sources, customer_features 2, batch_predictions 1-2 from customer_features / "
        "clean_customers and 4 through the model), "
        f"{sum(1 for c in cases if c.decoys)} with an unrelated decoy fault in the same partition "
        "(3 on a non-ancestor, 5 on an ancestor of the symptom whose anomaly does not reach it — raw_labels "
        "is an ancestor of batch_predictions through the model). AC@k: the injected asset is in the top k. "
        "Column accuracy over cases whose fault names a column; exact = asset, column and kind all right. "
        "Baseline = the farthest failing ancestor (failed assertion or drift), AC@3 = among the 3 farthest.",
        "",
        "| | AC@1 | AC@3 | column acc | kind acc | exact | time/answer mean | p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| ours (`lineage.analysis.rca.analyze`) | **{fmt(total['ac1'])}** | {fmt(total['ac3'])} | "
        f"{fmt(total['column'])} (n={total['n_column']}) | {fmt(total['kind'])} | {fmt(total['exact'])} | "
        f"{total['mean_ms']:.0f} ms | {total['p95_ms']:.0f} ms |",
        f"| baseline: most-upstream failing asset | {fmt(total['base_ac1'])} | {fmt(total['base_ac3'])} | — | — | — | — | — |",
        "",
        "Per fault kind:",
        "",
        "| kind | n | AC@1 | AC@3 | column | kind acc | baseline AC@1 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, s in kinds.items():
        lines.append(f"| {kind} | {s['n']} | {fmt(s['ac1'])} | {fmt(s['ac3'])} | {fmt(s['column'])} | "
                     f"{fmt(s['kind'])} | {fmt(s['base_ac1'])} |")
    lines += ["", f"Misses of ours ({len(miss)}; case → ranked top 3):", ""]
    if miss:
        for x in miss:
            lines.append(f"* `{x['case']}` ({x['partition']}) — wrong {', '.join(x['wrong'])}, {x['reason']}: "
                         + " · ".join(f"`{t}`" for t in x["top3"]))
    else:
        lines.append("* none")
    lines += ["", f"Baseline misses ({len(base_miss)}):", ""]
    lines += [f"* `{b}`" for b in base_miss] or ["* none"]
    lines.append("")
    if scale:
        lines += [
            f"**1,000-asset graph.** Generated OpenLineage RunEvents (openlineage-python `event_v2`, validated on "
            f"ingest): layered DAG of {scale['datasets']} datasets in 10 layers, each job reads 1-3 datasets of the "
            f"previous layer (30% also one earlier), writes 1; {N_COLUMNS} columns each with schema + columnLineage; "
            f"outputStatistics; `nominalTime` for 5 daily partitions ({scale['events']:,} events, ingest "
            f"{scale['ingest_s']:.1f} s); dataQualityAssertions (6 not-null + row count per dataset) all passing "
            f"except a not-null failure on `{scale['fault']}.{scale['column']}` in the last partition, echoed by every "
            f"downstream column derived from it ({scale['failing_datasets']} failing datasets). Symptom: sink "
            f"`{scale['sink']}` ({scale['ancestors']} upstream datasets), fresh SQLite store; 1-minute load average "
            f"{scale['load']:.1f} on 2 cores while timing.",
            "",
            "| answer | ms |",
            "|---|---:|",
            f"| first (builds the lineage graph) | {scale['first_ms']:.0f} |",
            f"| repeated, median of {scale['reps']} | {scale['median_ms']:.0f} |",
            f"| repeated, p95 | {scale['p95_ms']:.0f} |",
            "",
            f"Top candidate: `{scale['top'][0]}.{scale['top'][1]} {scale['top'][2]}` — "
            + ("the injected fault." if scale["top_ok"] else f"**WRONG** (injected `{scale['fault']}.{scale['column']}`)."),
            "",
        ]
    ac1_line = (f"* AC@1 ≥ {TARGET_AC1} and clearly above the baseline: **{'met' if ac1_ok and above >= 0.1 else 'not met'}** "
                f"— AC@1 {fmt(total['ac1'])} vs baseline {fmt(total['base_ac1'])} (+{above:.2f}); the baseline's "
                f"AC@3 is {fmt(total['base_ac3'])}, so the gain is in ranking (echoes, decoys), not in recall.")
    lines += ["Targets:", "", ac1_line]
    ms = TARGET_SECONDS * 1000
    lines.append(f"* ≤ 1 s per answer on the pipeline store: **{'met' if total['max_ms'] <= ms else 'not met'}** "
                 f"(mean {total['mean_ms']:.0f} ms, p95 {total['p95_ms']:.0f} ms, max {total['max_ms']:.0f} ms; the "
                 "first answer of each sweep builds the lineage graph).")
    if scale:
        lines.append(f"* ≤ 1 s per answer on the 1,000-asset graph, repeated answers: "
                     f"**{'met' if scale['p95_ms'] <= ms else 'not met'}** (median {scale['median_ms']:.0f} ms, "
                     f"p95 {scale['p95_ms']:.0f} ms); first answer incl. the graph build: "
                     f"**{'met' if scale['first_ms'] <= ms else 'not met'}** ({scale['first_ms']:.0f} ms).")
    detection = [x for x in miss if x["reason"].startswith("detection")]
    lines += [
        "",
        "Notes:",
        "",
        f"* {len(detection)} of the {len(miss)} misses are detection misses: no check, drift test or metric rule "
        "fired anywhere upstream, so there is nothing to rank (the RCA says \"no upstream cause found\" rather than "
        "guessing)." + (" Here: a label_shift of 0.08 on ~250 labels/day is below what the drift test on "
                       "`defaulted` detects." if any("label_shift 0.08" in x["case"] for x in detection) else ""),
        "* Only the top candidate is scored for column and kind; echo candidates further down the list sometimes "
        "carry another kind (e.g. `clean_customers.income scale_change` under a `raw_customers.income mean_shift`).",
        "* Times are on a shared 2-core VM with other test suites running; they fluctuate by up to 2x between runs. "
        "Most of an answer on the 1,000-asset graph is reading and JSON-decoding the facets of every ancestor in "
        "every partition (incl. columnLineage payloads the RCA does not use).",
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    lines = current.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == SECTION), None)
    if start is None:
        body = current if current.endswith("\n") else current + "\n"
        RESULTS.write_text(body + "\n" + text)
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = lines[end:]
    RESULTS.write_text("".join(lines[:start]) + text + ("\n" if tail else "") + "".join(tail))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10 cases in one sweep, 5 timing repetitions")
    ap.add_argument("--reps", type=int, default=None, help="repeated answers on the 1,000-asset graph (default 10)")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/RESULTS.md")
    ap.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md after --quick too")
    ap.add_argument("--skip-sweep", action="store_true", help="only the 1,000-asset timing")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw numbers here")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-rca-"))
    os.environ["DAGSTER_HOME"] = str(work / "dagster_home")
    (work / "dagster_home").mkdir()
    os.environ.pop("OBS_FAULT_PLAN", None)

    sweeps = quick_cases() if args.quick else full_cases()
    args._sweeps = sweeps
    cases = [c for s in sweeps for c in s]
    total = kinds = None
    miss: list[dict] = []
    base_miss: list[str] = []
    sweep_s = 0.0
    rows: list[dict] = []
    if not args.skip_sweep:
        print(f"sweep: {len(cases)} cases in {len(sweeps)} run(s) of the pipelines (work dir {work})", flush=True)
        rows, sweep_s = run_sweeps(sweeps, work)
        total, kinds, miss, base_miss = score(rows), by_kind(rows), misses(rows), baseline_misses(rows)

    reps = args.reps or (5 if args.quick else 10)
    print("1,000-asset graph: generating, ingesting, answering ...", flush=True)
    scale = run_scale(work, reps)

    if total is not None:
        print_report(total, kinds, miss, base_miss, scale, sweep_s)
    else:
        print(json.dumps(scale, indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps({
            "total": total, "kinds": kinds, "misses": miss, "baseline_misses": base_miss, "scale": scale,
            "sweep_s": sweep_s,
            "cases": [{"case": case_label(r["outcome"].case), "partition": r["outcome"].partition,
                       "ranked": r["outcome"].ranked[:5], "baseline3": r["baseline3"],
                       "symptom_columns": r["symptom_columns"], "ms": r["outcome"].elapsed_ms,
                       "message": r["outcome"].message} for r in rows],
        }, indent=2, default=str))
    if total is not None and not args.no_write and (args.write or not args.quick):
        write_section(markdown(args, total, kinds, miss, base_miss, scale, sweep_s, cases))
        print(f"updated {RESULTS.relative_to(ROOT)} ({SECTION[3:]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

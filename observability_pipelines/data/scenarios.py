"""Fault scenarios for root-cause analysis: run the reference pipelines with a fault plan, then ask the RCA.

Reference-project code (it runs this project's assets); the generic toolkit (``lineage/``) never imports it.
Each fault lands in its own partition after a few clean days, so one run of the pipelines serves many
cases; drifted partitions are quarantined from drift references, so faults do not contaminate each other.

``draw_cases`` draws scenarios at random (seeded) from the Dagster asset graph and the column contracts:
an asset, a fault kind that ``faults.py`` accepts for it, a column of a type that kind applies to, a
magnitude from ``MAGNITUDES`` and, sometimes, a decoy fault on an asset that cannot reach the symptom.
The symptom is chosen after the run: the most downstream asset the fault can reach whose checks failed
(or, with ``symptom="descendant"``, a random descendant).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from observability_pipelines.data.contracts import CONTRACTS
from observability_pipelines.data.faults import FAULT_KINDS, Fault, FaultPlan, FaultPlanError, apply_fault

DAILY = ["raw_customers", "raw_transactions", "raw_labels", "clean_customers", "clean_transactions",
         "clean_labels", "customer_features", "training_set"]
MODEL = ["trained_model", "model_evaluation"]


@dataclass(frozen=True)
class MagnitudeRange:
    """Log-uniform in [low, high]; ``signed``: either sign; ``inverse``: the factor or its inverse."""

    low: float
    high: float
    signed: bool = False
    inverse: bool = False

    def draw(self, rng: random.Random) -> float:
        value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        if self.inverse and rng.random() < 0.5:
            value = 1 / value
        if self.signed and rng.random() < 0.5:
            value = -value
        return float(f"{value:.2g}")  # two significant digits keep case labels readable


# Ranges reach down to small faults (a few percent of ~250 rows, half a standard deviation).
MAGNITUDES: dict[str, MagnitudeRange] = {
    "null_burst": MagnitudeRange(0.05, 0.5),
    "row_loss": MagnitudeRange(0.05, 0.5),
    "duplicate_rows": MagnitudeRange(0.05, 0.5),
    "inf_values": MagnitudeRange(0.01, 0.2),
    "scale_change": MagnitudeRange(1.5, 1000.0, inverse=True),
    "mean_shift": MagnitudeRange(0.3, 3.0, signed=True),
    "label_shift": MagnitudeRange(0.05, 0.3, signed=True),
}
DECOY_SHARE = 0.25  # share of drawn cases with one unrelated fault in the same partition
# A label is a class (0/1), not a quantity: its value faults are label shifts, not scale or mean changes.
NOT_ON_LABELS = ("scale_change", "mean_shift", "inf_values")


@dataclass
class Case:
    asset: str
    kind: str
    column: str | None = None
    magnitude: float | None = None
    # None: chosen after the run among ``symptom_pool`` (the most downstream failing asset), else ``fallback``.
    symptom: str | None = "training_set"
    decoys: list[dict] = field(default_factory=list)  # unrelated faults in the same partition
    symptom_pool: tuple[str, ...] = ()
    fallback: str | None = None

    def fault(self, partition: str) -> dict:
        return Fault(self.asset, partition, self.kind, self.column, self.magnitude).to_record()

    def label(self) -> str:
        where = self.asset + (f".{self.column}" if self.column else "")
        mag = f" {self.magnitude:g}" if self.magnitude is not None else ""
        dec = ""
        if self.decoys:
            dec = " +decoy " + ", ".join(
                f"{d['kind']}@{d['asset']}" + (f".{d['column']}" if d.get("column") else "") for d in self.decoys)
        return f"{self.kind}{mag} @ {where}{dec}"


@dataclass
class Outcome:
    case: Case
    partition: str
    ranked: list[tuple[str, str | None, str]]  # (asset, column, kind) best first
    elapsed_ms: float
    message: str
    baseline: str | None  # most-upstream failing asset
    symptom: str = ""
    failing: tuple[str, ...] = ()  # assets with a failed check or step in this partition (Dagster's view)
    silent: bool = False  # no asset the fault can reach failed; the symptom is the case's fallback
    result: Any = None  # the RCAResult, for evidence in reports

    @property
    def hit1(self) -> bool:
        return bool(self.ranked) and self.ranked[0][0] == self.case.asset

    @property
    def hit3(self) -> bool:
        return any(r[0] == self.case.asset for r in self.ranked[:3])

    @property
    def column_hit(self) -> bool | None:
        if self.case.column is None:
            return None
        return bool(self.ranked) and self.ranked[0][1] == self.case.column

    @property
    def kind_hit(self) -> bool:
        return bool(self.ranked) and self.ranked[0][2] == self.case.kind


# --------------------------------------------------------------------------- the asset graph
@dataclass(frozen=True)
class AssetGraph:
    """Partitioned table assets of the code location, their edges and depth (longest path from a source)."""

    parents: dict[str, tuple[str, ...]]
    partitioned: tuple[str, ...]

    def descendants(self, asset: str) -> set[str]:
        children: dict[str, list[str]] = {}
        for child, ps in self.parents.items():
            for p in ps:
                children.setdefault(p, []).append(child)
        seen: set[str] = set()
        stack = [asset]
        while stack:
            for c in children.get(stack.pop(), []):
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return seen

    def partition_descendants(self, asset: str) -> set[str]:
        """Descendants through partitioned assets only: a fault in one partition travels with that partition's
        runs, not through an unpartitioned asset built before it (the model is trained before any fault)."""
        inside = set(self.partitioned)
        seen: set[str] = set()
        stack = [asset]
        while stack:
            current = stack.pop()
            for child, ps in self.parents.items():
                if current in ps and child in inside and child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    def ancestors(self, asset: str) -> set[str]:
        seen: set[str] = set()
        stack = [asset]
        while stack:
            for p in self.parents.get(stack.pop(), ()):
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        return seen

    def depth(self, asset: str) -> int:
        return 1 + max((self.depth(p) for p in self.parents.get(asset, ())), default=-1)


@cache
def asset_graph() -> AssetGraph:
    from observability_pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    parents, partitioned = {}, []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        name = key.to_user_string()
        parents[name] = tuple(sorted(p.to_user_string() for p in node.parent_keys))
        if node.partitions_def is not None:
            partitioned.append(name)
    return AssetGraph(parents, tuple(sorted(partitioned)))


def applicable_faults(asset: str) -> list[tuple[str, str | None]]:
    """Every (kind, column) the fault plan accepts for ``asset``, as faults.py validates it."""
    found: list[tuple[str, str | None]] = []
    for kind in FAULT_KINDS:
        for column in (None, *CONTRACTS[asset].columns):
            try:
                (fault,) = FaultPlan.from_records([{"asset": asset, "partition": "2026-01-01", "kind": kind,
                                                    **({"column": column} if column else {})}]).faults
            except FaultPlanError:
                continue
            if kind in NOT_ON_LABELS and fault.column == CONTRACTS[asset].label:
                continue
            if (kind, fault.column) not in found and _changes_source(fault):
                found.append((kind, fault.column))
    return found


@cache
def _source_sample(asset: str) -> pd.DataFrame | None:
    """A generated partition of a source asset (the frame with its contract's columns), else None."""
    from observability_pipelines.data.generator import GeneratorConfig, generate_partition

    if not CONTRACTS[asset].source:
        return None
    frames = generate_partition("2026-01-01", GeneratorConfig(customers_per_day=200))
    return next((df for df in frames.values() if set(df.columns) == set(CONTRACTS[asset].columns)), None)


def _changes_source(fault: Fault) -> bool:
    """False for a fault that leaves a source's data as it was (category_remap of two short codes, M/F)."""
    sample = _source_sample(fault.asset)
    if sample is None or fault.kind == "stale_partition":
        return True  # downstream data needs a run; re-delivery needs the previous day
    smallest = MAGNITUDES[fault.kind].low if fault.kind in MAGNITUDES else None
    return not apply_fault(sample, Fault(fault.asset, fault.partition, fault.kind, fault.column, smallest)).equals(sample)


@cache
def fault_targets() -> dict[str, dict[str, tuple[str | None, ...]]]:
    """Per partitioned table asset: applicable kinds and, per kind, its columns (``(None,)`` for row faults)."""
    targets: dict[str, dict[str, tuple[str | None, ...]]] = {}
    for asset in asset_graph().partitioned:
        if asset not in CONTRACTS:
            continue  # the model artifact has no table to break
        kinds: dict[str, list[str | None]] = {}
        for kind, column in applicable_faults(asset):
            kinds.setdefault(kind, []).append(column)
        targets[asset] = {k: tuple(v) for k, v in kinds.items()}
    return targets


# --------------------------------------------------------------------------- drawing cases
def draw_fault(rng: random.Random, assets: Sequence[str]) -> dict[str, Any]:
    """Asset uniform, then kind uniform among its applicable kinds, then column, then magnitude."""
    targets = fault_targets()
    asset = rng.choice(list(assets))
    kind = rng.choice(sorted(targets[asset]))
    column = rng.choice(targets[asset][kind])
    magnitude = MAGNITUDES[kind].draw(rng) if kind in MAGNITUDES else None
    return {"asset": asset, "kind": kind, "column": column, "magnitude": magnitude}


def _record(fault: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fault.items() if v is not None}


def draw_case(rng: random.Random, *, symptom: str = "failing", decoy_share: float = DECOY_SHARE) -> Case:
    graph = asset_graph()
    targets = sorted(fault_targets())
    fault = draw_fault(rng, targets)
    asset = fault["asset"]
    reach = ({asset} | graph.descendants(asset)) & set(graph.partitioned)
    decoys: list[dict] = []
    if rng.random() < decoy_share:
        # Anything that is not upstream of the injected asset: the symptom is then kept out of its reach.
        pool = [a for a in targets if a != asset and a not in graph.ancestors(asset)]
        if pool:
            decoy = draw_fault(rng, pool)
            decoys.append(_record(decoy))
            reach -= {decoy["asset"]} | graph.descendants(decoy["asset"])
    # The fallback is drawn from every partitioned descendant (as before) so that a seed keeps its draws.
    fallback = rng.choice(sorted(reach, key=lambda a: (graph.depth(a), a)))
    symptom_pool = reachable_pool(asset, decoys)
    fallback = fallback if fallback in symptom_pool else symptom_pool[-1]
    return Case(asset, fault["kind"], fault["column"], fault["magnitude"],
                symptom=fallback if symptom == "descendant" else None, decoys=decoys,
                symptom_pool=symptom_pool, fallback=fallback)


def reachable_pool(asset: str, decoys: Sequence[dict]) -> tuple[str, ...]:
    """The assets a fault at ``asset`` reaches in its partition and no decoy does, shallowest first."""
    graph = asset_graph()
    reach = {asset} | graph.partition_descendants(asset)
    for d in decoys:
        reach -= {d["asset"]} | graph.descendants(d["asset"])
    return tuple(sorted(reach, key=lambda a: (graph.depth(a), a)))


def draw_cases(seed: int, n: int, *, symptom: str = "failing", decoy_share: float = DECOY_SHARE) -> list[Case]:
    """``n`` scenarios drawn with ``random.Random(seed)``: the same seed always gives the same cases."""
    if symptom not in ("failing", "descendant"):
        raise ValueError(f"symptom must be 'failing' or 'descendant', got {symptom!r}")
    rng = random.Random(seed)
    return [draw_case(rng, symptom=symptom, decoy_share=decoy_share) for _ in range(n)]


def pick_symptom(case: Case, failing: Sequence[str]) -> tuple[str, bool]:
    """The case's symptom, or the most downstream failing asset of its pool; (fallback, True) if none failed."""
    if case.symptom is not None:
        return case.symptom, False
    failed = [a for a in case.symptom_pool if a in failing]  # the pool is ordered by depth
    if failed:
        return failed[-1], False
    return case.fallback or case.asset, True


# --------------------------------------------------------------------------- running
def failing_assets(result: dg.ExecuteInProcessResult) -> set[str]:
    """Assets with a failed check or a failed step in one run (what a user of Dagster sees as failing)."""
    failed = {e.asset_key.to_user_string() for e in result.get_asset_check_evaluations() if not e.passed}
    names = set(asset_graph().parents)
    failed |= {step for step in result.get_failed_step_keys() if step in names}
    return failed


class _Pipelines:
    """The reference pipelines with one fault plan, on a fresh Dagster instance and lineage store."""

    def __init__(self, workdir: Path, plan: list, customers_per_day: int):
        from observability_pipelines.definitions import all_assets, defs
        from observability_pipelines.observe.openlineage import OpenLineageResource
        from observability_pipelines.resources.faults import FaultInjector
        from observability_pipelines.resources.io_managers import ModelArtifactIOManager, ParquetIOManager
        from observability_pipelines.resources.source import RawDataSource

        self.resources = {
            "io_manager": ParquetIOManager(base_path=str(workdir / "data")),
            "model_io_manager": ModelArtifactIOManager(base_path=str(workdir / "data")),
            "raw_data": RawDataSource(customers_per_day=customers_per_day),
            "faults": FaultInjector(plan=plan),
            "openlineage": OpenLineageResource(outbox_path=str(workdir / "outbox.db")),
        }
        self.instance = dg.DagsterInstance.ephemeral()
        self.assets = [*all_assets, *defs.asset_checks]
        self.failing: dict[str, set[str]] = {}

    def run(self, selection: list[str], partition: str | None = None) -> None:
        result = dg.materialize(self.assets, selection=selection, partition_key=partition,
                                resources=self.resources, instance=self.instance, raise_on_error=False)
        if partition is not None:
            self.failing.setdefault(partition, set()).update(failing_assets(result))

    def run_days(self, clean_days: Sequence[str], fault_days: Sequence[str]) -> None:
        """Clean days, the model (trained before any fault, as a deployed model is), then the faulty days.

        A faulty day's predictions run with its daily assets (skipped if its features failed)."""
        for day in clean_days:
            self.run(DAILY, day)
        self.run(MODEL)
        for day in clean_days:
            self.run(["batch_predictions"], day)
        for day in fault_days:
            self.run([*DAILY, "batch_predictions"], day)


def fault_plan(cases: Sequence[Case], partitions: Sequence[str]) -> list:
    from observability_pipelines.resources.faults import FaultSpec

    plan = [FaultSpec(**c.fault(p)) for c, p in zip(cases, partitions)]
    return plan + [FaultSpec(**{**d, "partition": p}) for c, p in zip(cases, partitions) for d in c.decoys]


@dataclass
class SweepRun:
    """What one run of the pipelines left behind: the lineage store and Dagster's failing assets per day."""

    url: str
    clean_days: list[str]
    case_days: list[str]
    failing: dict[str, list[str]]
    cases: list[dict] = field(default_factory=list)  # the cases it was run for (to reuse it safely)
    pipeline_s: float = 0.0  # wall time of the pipeline runs
    made_at: str = ""  # UTC time the runs finished

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> SweepRun:
        return cls(**json.loads(path.read_text()))

    def saved_cases(self) -> list[Case]:
        """The faults this run was made for, as they were drawn then (symptom pools as reachable now)."""
        out = []
        for c in self.cases:
            pool = reachable_pool(c["asset"], c.get("decoys", []))
            fallback = c.get("fallback") if c.get("fallback") in pool else pool[-1]
            out.append(Case(**{**c, "symptom_pool": pool, "fallback": fallback}))
        return out

    def matches(self, cases: Sequence[Case]) -> bool:
        """The run served these cases' faults (or more: the first cases of a longer draw of the same seed);
        the symptom is chosen when asking, so its pool may differ."""
        return bool(cases) and [_fault_record(c) for c in self.cases[:len(cases)]] == [
            _fault_record(_case_record(c)) for c in cases]


def _case_record(case: Case) -> dict:
    return json.loads(json.dumps(asdict(case)))  # tuples become lists, as after a JSON round trip


def _fault_record(record: dict) -> tuple:
    """What the pipeline run depends on: the injected fault and its decoys."""
    return tuple(record.get(k) for k in ("asset", "kind", "column", "magnitude")) + (record.get("decoys"),)


def run_pipelines(cases: Sequence[Case], *, warmup_days: int = 4, customers_per_day: int = 250,
                  workdir: Path | None = None, start: str = "2026-03-02") -> SweepRun:
    """Run the pipelines once: ``warmup_days`` clean days, then one partition per case with its faults."""
    from observability_pipelines.observe.openlineage import reset_emitters

    workdir = Path(workdir or tempfile.mkdtemp(prefix="rca-sweep-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    first = dt.date.fromisoformat(start)
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range(warmup_days + len(cases))]
    case_days = days[warmup_days:]
    url = f"sqlite:///{workdir / 'lineage.db'}"
    previous = os.environ.get("OBS_LINEAGE_DB")
    try:
        os.environ["OBS_LINEAGE_DB"] = url
        reset_emitters()
        pipelines = _Pipelines(workdir, fault_plan(cases, case_days), customers_per_day)
        pipelines.run_days(days[:warmup_days], case_days)
    finally:
        # The emitter reads this at run time; leave the caller's process as it was.
        if previous is None:
            os.environ.pop("OBS_LINEAGE_DB", None)
        else:
            os.environ["OBS_LINEAGE_DB"] = previous
        reset_emitters()
    failing = {day: sorted(assets) for day, assets in pipelines.failing.items()}
    run = SweepRun(url, days[:warmup_days], case_days, failing, [_case_record(c) for c in cases],
                   time.perf_counter() - started, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    run.save(workdir / "sweep.json")
    return run


def ask(cases: Sequence[Case], run: SweepRun) -> list[Outcome]:
    """Ask the RCA about each case's symptom in its partition of ``run``."""
    from lineage.analysis.rca import analyze
    from lineage.store import LineageStore

    store = LineageStore.open(run.url)
    outcomes = []
    try:
        for case, partition in zip(cases, run.case_days):
            failing = tuple(run.failing.get(partition, ()))
            symptom, silent = pick_symptom(case, failing)
            started = time.perf_counter()
            try:
                result = analyze(store, symptom, partition=partition)
            except Exception as exc:  # one failing answer is a miss to report, not a lost sweep
                outcomes.append(Outcome(case, partition, [], 0.0, f"RCA error: {type(exc).__name__}: {exc}",
                                        None, symptom, failing, silent))
                continue
            elapsed = (time.perf_counter() - started) * 1000
            ranked = [(c.asset, c.column, c.kind) for c in result.candidates]
            outcomes.append(Outcome(case, partition, ranked, elapsed, result.message,
                                    most_upstream_failing(result), symptom, failing, silent, result))
    finally:
        store.dispose()
    return outcomes


def run_sweep(cases: Sequence[Case], *, warmup_days: int = 4, customers_per_day: int = 250,
              workdir: Path | None = None, start: str = "2026-03-02") -> tuple[list[Outcome], str, list[str]]:
    """Run the pipelines once (one partition per case after ``warmup_days`` clean days), then ask the RCA."""
    run = run_pipelines(cases, warmup_days=warmup_days, customers_per_day=customers_per_day, workdir=workdir,
                        start=start)
    return ask(cases, run), run.url, run.clean_days


def most_upstream_failing(result) -> str | None:
    """Baseline: the failing ancestor farthest from the symptom (no echo or column reasoning)."""
    return result.failing_ancestors[0]["asset"] if result.failing_ancestors else None

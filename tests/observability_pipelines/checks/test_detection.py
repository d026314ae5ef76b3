"""Detection acceptance, on real Dagster runs: every fault kind fails a check on the asset it hit, clean days pass.

One pipeline runs ``CLEAN_DAYS`` clean daily partitions, then one partition per fault case (each fault in its
own partition, so one run of the pipeline serves every case; drifted partitions are quarantined from the
drift references, so cases do not contaminate each other). The clean days double as the warm-up history of
the drift checks and as the sample for the false-alarm rate, which is printed (visible with ``-s``) and
recorded as a junit property.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from observability_pipelines.data.faults import Fault
from helpers.pipeline import DAILY, Pipeline

pytestmark = pytest.mark.slow  # the fault-detection sweep: real runs with every fault kind

ROOT = Path(__file__).resolve().parents[3]

START = dt.date(2026, 3, 2)
CLEAN_DAYS = 20
WARMUP_EXCLUDED = 2  # drift has (almost) no reference on the first days: not counted as clean evidence
MAX_FALSE_ALARM_RATE = 0.01

# What feeds what (downstream closure is used to tell off-target assets in a faulty partition).
UPSTREAM = {
    "clean_customers": {"raw_customers"},
    "clean_transactions": {"raw_transactions"},
    "clean_labels": {"raw_labels"},
    "customer_features": {"clean_customers", "clean_transactions"},
    "training_set": {"customer_features", "clean_labels"},
}


def _affected(asset: str) -> set[str]:
    """The asset and everything downstream of it."""
    out = {asset}
    changed = True
    while changed:
        changed = False
        for child, parents in UPSTREAM.items():
            if child not in out and parents & out:
                out.add(child)
                changed = True
    return out


@dataclass(frozen=True)
class Case:
    asset: str
    kind: str
    column: str | None = None
    magnitude: float | None = None  # None: the generator's default magnitude

    @property
    def id(self) -> str:
        return f"{self.kind}@{self.asset}" + (f".{self.column}" if self.column else "")

    def fault(self, partition: str) -> dict:
        return Fault(self.asset, partition, self.kind, self.column, self.magnitude).to_record()


CASES = [
    Case("raw_customers", "null_burst", "income"),
    Case("raw_customers", "scale_change", "loan_amount"),
    Case("raw_customers", "mean_shift", "income"),
    Case("raw_customers", "category_remap", "region"),
    Case("raw_customers", "column_drop", "employment_years"),
    Case("raw_customers", "type_change", "income"),
    Case("raw_transactions", "duplicate_rows"),
    Case("customer_features", "duplicate_rows"),
    Case("raw_customers", "stale_partition"),
    Case("raw_transactions", "row_loss"),
    Case("raw_labels", "label_shift"),
    Case("raw_customers", "inf_values", "income"),
    # Key integrity at the sources: every label key garbled into a 3-letter code; a tenth of the applicants lost.
    Case("raw_labels", "category_remap", "customer_id"),
    Case("raw_customers", "row_loss", magnitude=0.1),
]
# Random loss of a tenth of the applicants keeps every distribution and every in-table expectation: only the
# cross-source coverage (the labels and transactions know applicants raw_customers lacks) sees it.
RELATIONSHIP_ONLY = {"row_loss@raw_customers"}
SOURCES = ("raw_customers", "raw_transactions", "raw_labels")


def test_cases_cover_every_fault_kind():
    from observability_pipelines.data.faults import FAULT_KINDS

    assert {c.kind for c in CASES} == set(FAULT_KINDS)


@dataclass(frozen=True)
class Evaluation:
    asset: str
    check: str
    passed: bool
    description: str

    @property
    def family(self) -> str:
        if self.check.startswith("ge_"):
            return "great_expectations"
        return "drift" if self.check == "drift" else "relationship"

    def __str__(self) -> str:
        return f"{self.asset}/{self.check}: {self.description[:160]}"


def _day(i: int) -> str:
    return (START + dt.timedelta(days=i)).isoformat()


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> dict[str, list[Evaluation]]:
    """Check evaluations of every daily asset, per partition: clean days first, then one fault per day."""
    from observability_pipelines.observe.openlineage import OpenLineageResource, reset_emitters

    clean = [_day(i) for i in range(CLEAN_DAYS)]
    faulty = [_day(CLEAN_DAYS + i) for i in range(len(CASES))]
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("detection_home")
        mp.setenv("DAGSTER_HOME", str(home))
        for var in ("OBS_FAULT_PLAN", "OBS_DATA_DIR", "OBS_LINEAGE_DB", "OBS_OUTBOX_PATH"):
            mp.delenv(var, raising=False)
        reset_emitters()
        pipeline = Pipeline(tmp_path_factory.mktemp("detection"),
                            plan=[c.fault(p) for c, p in zip(CASES, faulty)])
        # Lineage emission adds no checks and is tested on its own; off, it halves the run time.
        pipeline.resources["openlineage"] = OpenLineageResource(enabled=False)
        by_partition: dict[str, list[Evaluation]] = {}
        for partition in clean + faulty:
            # Blocking GE checks fail on faulty partitions and skip the assets downstream: not an error here.
            result = pipeline.materialize(DAILY, partition, raise_on_error=False)
            by_partition[partition] = [
                Evaluation(e.asset_key.to_user_string(), e.check_name, e.passed, e.description or "")
                for e in result.get_asset_check_evaluations()
            ]
        reset_emitters()
    return by_partition


def _case_partition(case: Case) -> str:
    return _day(CLEAN_DAYS + CASES.index(case))


def _failed_on_target(sweep, case: Case) -> list[Evaluation]:
    return [e for e in sweep[_case_partition(case)] if e.asset == case.asset and not e.passed]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault_fails_a_check_on_its_asset(sweep, case):
    failed = _failed_on_target(sweep, case)
    print(f"\n{case.id} [{_case_partition(case)}] caught by: {[e.check for e in failed]}")
    for e in failed:
        print(f"    {e}")
    assert failed, (
        f"{case.id} in {_case_partition(case)} failed no check on {case.asset}; evaluations there: "
        f"{[(e.check, e.passed) for e in sweep[_case_partition(case)] if e.asset == case.asset]}"
    )


@pytest.mark.parametrize(
    "case",
    CASES,
    ids=[c.id for c in CASES],
)
def test_fault_fails_a_ge_or_drift_check_on_its_asset(sweep, case):
    if case.id in RELATIONSHIP_ONLY:
        pytest.skip("caught by the cross-source relationship checks only (see RELATIONSHIP_ONLY)")
    failed = [e for e in _failed_on_target(sweep, case) if e.family in ("great_expectations", "drift")]
    assert failed, (
        f"{case.id}: no GE or drift check on {case.asset} failed in {_case_partition(case)}; "
        f"failed there: {[str(e) for e in sweep[_case_partition(case)] if not e.passed]}"
    )


def test_expected_catchers(sweep):
    """Pin which check family catches each kind, so a silently weakened suite or drift config shows up."""
    expected = {
        "null_burst@raw_customers.income": {"drift", "great_expectations"},
        "scale_change@raw_customers.loan_amount": {"drift"},
        "mean_shift@raw_customers.income": {"drift"},
        "category_remap@raw_customers.region": {"drift", "great_expectations"},
        "column_drop@raw_customers.employment_years": {"drift", "great_expectations"},
        "type_change@raw_customers.income": {"drift", "great_expectations"},
        "duplicate_rows@raw_transactions": {"great_expectations"},
        "duplicate_rows@customer_features": {"great_expectations"},
        "stale_partition@raw_customers": {"great_expectations"},
        # Random loss keeps every distribution; the per-applicant volume expectation and the relationship
        # check both see fewer transactions per applicant.
        "row_loss@raw_transactions": {"great_expectations", "relationship"},
        "label_shift@raw_labels": {"drift"},
        # 5% infinite values: out of the GE range; drift ignores non-finite values and 5% stays under its
        # null/invalid increase threshold (10%).
        "inf_values@raw_customers.income": {"great_expectations"},
        # Garbled keys: key format and uniqueness (blocking GE errors, so the relationship steps reading
        # raw_labels are skipped that day).
        "category_remap@raw_labels.customer_id": {"great_expectations"},
        "row_loss@raw_customers": {"relationship"},
    }
    got = {c.id: {e.family for e in _failed_on_target(sweep, c)} for c in CASES}
    print("\nfault kind -> check families failing on the injected asset:")
    for case in CASES:
        print(f"  {case.id:45s} {sorted(got[case.id])}  "
              f"{sorted({e.check for e in _failed_on_target(sweep, case)})}")
    missing = {k: sorted(v - got[k]) for k, v in expected.items() if not v <= got[k]}
    assert not missing, f"expected catchers did not fire: {missing}"


@pytest.mark.parametrize("case", [c for c in CASES if c.asset in SOURCES and c.kind in ("category_remap", "row_loss")
                                   and c.column in (None, "customer_id")], ids=lambda c: c.id)
def test_source_key_fault_fails_at_its_source_only(sweep, case):
    """A key fault at one source fails no check of another source (the third source decides who is wrong):
    lost applicants are not blamed on raw_labels, garbled labels not on raw_customers."""
    blamed = {e.asset for e in sweep[_case_partition(case)] if not e.passed and e.asset in SOURCES}
    assert blamed == {case.asset}, [str(e) for e in sweep[_case_partition(case)] if not e.passed]


def test_blocking_check_stops_propagation(sweep):
    """A failed error-severity suite on a raw asset keeps its partition out of the assets downstream."""
    case = next(c for c in CASES if c.kind == "type_change")
    evaluated = {e.asset for e in sweep[_case_partition(case)]}
    assert "raw_customers" in evaluated
    assert not evaluated & {"clean_customers", "customer_features", "training_set"}, evaluated


def _rate(evaluations: list[Evaluation]) -> tuple[float, list[Evaluation]]:
    alarms = [e for e in evaluations if not e.passed]
    return len(alarms) / max(len(evaluations), 1), alarms


def test_false_alarm_rate_on_clean_days(sweep, record_property):
    measured = [_day(i) for i in range(WARMUP_EXCLUDED, CLEAN_DAYS)]
    evaluations = [e for p in measured for e in sweep[p]]
    rate, alarms = _rate(evaluations)
    # Faulty partitions hold clean assets too (those not downstream of the fault): more clean evidence.
    off_target = [
        e for c in CASES for e in sweep[_case_partition(c)]
        if e.asset not in _affected(c.asset) and e.family in ("great_expectations", "drift")
    ]
    pooled_rate, pooled_alarms = _rate(evaluations + off_target)
    by_family = Counter(e.family for e in evaluations)
    print(
        f"\nfalse-alarm rate on {len(measured)} clean days ({measured[0]}..{measured[-1]}, "
        f"{len(evaluations)} check evaluations: {dict(by_family)}): {len(alarms)}/{len(evaluations)} = {rate:.2%}"
        f"\n  pooled with {len(off_target)} GE/drift evaluations of off-target assets in faulty partitions: "
        f"{len(pooled_alarms)}/{len(evaluations) + len(off_target)} = {pooled_rate:.2%}"
    )
    for e in pooled_alarms:
        print(f"  false alarm: {e}")
    record_property("false_alarm_rate_clean_days", f"{rate:.4f}")
    record_property("false_alarm_evaluations_clean_days", len(evaluations))
    record_property("false_alarm_rate_pooled", f"{pooled_rate:.4f}")
    assert all(len(sweep[p]) == len(sweep[measured[0]]) for p in measured), "a clean day skipped some checks"
    assert rate <= MAX_FALSE_ALARM_RATE, (
        f"false-alarm rate {rate:.2%} on clean days exceeds {MAX_FALSE_ALARM_RATE:.0%}: {[str(e) for e in alarms]}"
    )
    assert pooled_rate <= MAX_FALSE_ALARM_RATE, (
        f"pooled false-alarm rate {pooled_rate:.2%} exceeds {MAX_FALSE_ALARM_RATE:.0%}: "
        f"{[str(e) for e in pooled_alarms]}"
    )

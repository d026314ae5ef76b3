"""Random RCA scenarios: deterministic per seed, and only faults the fault plan accepts for their asset."""

from collections import Counter

import dagster as dg
import pytest

from observability_pipelines.data import scenarios
from observability_pipelines.data.contracts import CONTRACTS
from observability_pipelines.data.faults import FaultPlan, apply_fault
from observability_pipelines.data.generator import GeneratorConfig, generate_partition

SEEDS = range(1, 9)
P = "2026-03-04"
RAW_FRAMES = {"raw_customers": "customers", "raw_transactions": "transactions", "raw_labels": "labels"}


@pytest.fixture(scope="module")
def drawn():
    return {seed: scenarios.draw_cases(seed, 40) for seed in SEEDS}


@pytest.fixture(scope="module")
def dagster_graph():
    from observability_pipelines.definitions import defs

    return defs.resolve_asset_graph()


def _names(keys) -> set[str]:
    return {k.to_user_string() for k in keys}


def test_same_seed_same_cases_other_seed_other_cases(drawn):
    assert scenarios.draw_cases(3, 40) == drawn[3]
    assert scenarios.draw_cases(3, 10) == drawn[3][:10]  # a longer draw extends a shorter one
    assert drawn[3] != drawn[4]


def test_every_fault_is_accepted_by_the_fault_plan_for_its_asset(drawn):
    for case in (c for cases in drawn.values() for c in cases):
        faults = [case.fault(P), *({**d, "partition": P} for d in case.decoys)]
        (parsed, *_) = FaultPlan.from_records(faults).faults  # raises on any inapplicable triple
        assert (parsed.asset, parsed.kind, parsed.column) == (case.asset, case.kind, case.column)
        if case.kind == "stale_partition":
            assert CONTRACTS[case.asset].source
        if case.kind == "label_shift":
            assert case.column == CONTRACTS[case.asset].label is not None
        elif case.column is not None:
            assert case.column != CONTRACTS[case.asset].label or case.kind not in scenarios.NOT_ON_LABELS


def test_draws_cover_kinds_and_assets_and_reach_small_magnitudes(drawn):
    cases = [c for cs in drawn.values() for c in cs]
    kinds, assets = Counter(c.kind for c in cases), Counter(c.asset for c in cases)
    assert set(kinds) == {k for ks in scenarios.fault_targets().values() for k in ks}
    assert set(assets) == set(scenarios.fault_targets())
    fractions = [c.magnitude for c in cases if c.kind in ("null_burst", "row_loss", "duplicate_rows")]
    assert min(fractions) < 0.1 < max(fractions) <= 0.5
    assert any(c.decoys for c in cases) and any(not c.decoys for c in cases)


def test_assets_symptoms_and_decoys_follow_the_dagster_asset_graph(drawn, dagster_graph):
    def upstream(asset: str) -> set[str]:
        return _names(dagster_graph.get_ancestor_asset_keys(dg.AssetKey(asset)))

    for case in (c for cases in drawn.values() for c in cases):
        assert dagster_graph.get(dg.AssetKey(case.asset)).partitions_def is not None
        for decoy in case.decoys:
            assert decoy["asset"] != case.asset and decoy["asset"] not in upstream(case.asset)
        assert case.symptom_pool[0] == case.asset and case.fallback in case.symptom_pool
        for symptom in case.symptom_pool:
            assert dagster_graph.get(dg.AssetKey(symptom)).partitions_def is not None
            assert symptom == case.asset or case.asset in upstream(symptom)
            # a decoy cannot reach the symptom, so the symptom has one cause
            assert all(d["asset"] != symptom and d["asset"] not in upstream(symptom) for d in case.decoys)


def test_symptoms_are_reached_within_the_partition(drawn, dagster_graph):
    """A fault travels with its partition's runs: not through the unpartitioned model trained before it."""
    def reached(asset: str) -> set[str]:
        found, stack = {asset}, [asset]
        while stack:
            for child in dagster_graph.get(dg.AssetKey(stack.pop())).child_keys:
                name = child.to_user_string()
                if dagster_graph.get(child).partitions_def is not None and name not in found:
                    found.add(name)
                    stack.append(name)
        return found

    cases = [c for seed_cases in drawn.values() for c in seed_cases]
    assert all(set(c.symptom_pool) <= reached(c.asset) for c in cases)
    at_training = [c for c in cases if c.asset == "training_set"]
    assert at_training and all("batch_predictions" not in c.symptom_pool for c in at_training)


def test_symptom_is_the_most_downstream_failing_asset_of_the_pool():
    case = scenarios.Case("raw_customers", "row_loss", None, 0.2, symptom=None,
                          symptom_pool=("raw_customers", "clean_customers", "customer_features"),
                          fallback="clean_customers")
    assert scenarios.pick_symptom(case, ["raw_customers", "customer_features", "raw_labels"]) == (
        "customer_features", False)
    assert scenarios.pick_symptom(case, ["raw_labels"]) == ("clean_customers", True)  # nothing it reaches failed


@pytest.mark.parametrize("asset", sorted(RAW_FRAMES))
def test_every_applicable_fault_of_a_source_changes_the_data_of_another_day(asset):
    df = generate_partition(P, GeneratorConfig(customers_per_day=200))[RAW_FRAMES[asset]]
    for kind, column in scenarios.applicable_faults(asset):
        if kind == "stale_partition":
            continue  # needs the previous partition; covered by the fault tests
        magnitude = scenarios.MAGNITUDES[kind].low if kind in scenarios.MAGNITUDES else None
        (fault,) = FaultPlan.from_records([{"asset": asset, "partition": P, "kind": kind, "column": column,
                                            "magnitude": magnitude}]).faults
        out = apply_fault(df, fault)
        assert not out.equals(df), (kind, column)


def test_a_saved_run_is_reused_only_for_the_cases_it_was_run_for(drawn, tmp_path):
    cases = drawn[1][:5]
    run = scenarios.SweepRun("sqlite:///x.db", ["2026-03-02"], [f"2026-03-0{i}" for i in range(3, 8)],
                             {"2026-03-04": ["raw_customers"]}, [scenarios._case_record(c) for c in cases])
    run.save(tmp_path / "sweep.json")
    loaded = scenarios.SweepRun.load(tmp_path / "sweep.json")
    assert loaded == run and loaded.matches(cases)
    assert loaded.matches(cases[:3])  # a shorter draw of the same seed is the start of the longer one
    assert not loaded.matches(drawn[2][:5]) and not loaded.matches(drawn[1][:6])

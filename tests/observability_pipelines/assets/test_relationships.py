"""Cross-asset relationship checks: no false alarms on clean days, row loss and duplicates caught."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import dagster as dg
import pandas as pd
import pytest

from observability_pipelines.assets.clean import conform
from observability_pipelines.assets.features import build_features
from observability_pipelines.assets.relationships import (
    expected_transactions_per_customer,
    features_match_customers,
    labels_cover_applicants,
    orphan_transactions,
    relationship_checks,
    training_rows_match_join,
    transactions_have_applicants,
    transactions_per_applicant,
)
from observability_pipelines.assets.training import join_training_set
from observability_pipelines.data.contracts import CONTRACTS
from observability_pipelines.data.faults import Fault, apply_fault
from observability_pipelines.data.generator import GeneratorConfig, generate_partition
from observability_pipelines.resources.source import RawDataSource

SMALL = 300
EXPECTED_TPC = 12.0


@lru_cache(maxsize=64)
def frames(day: str, customers_per_day: int = SMALL) -> dict[str, pd.DataFrame]:
    raw = generate_partition(day, GeneratorConfig(customers_per_day=customers_per_day))
    out = {"raw_customers": raw["customers"], "raw_transactions": raw["transactions"], "raw_labels": raw["labels"]}
    for name, src in (("clean_customers", "customers"), ("clean_transactions", "transactions"), ("clean_labels", "labels")):
        out[name] = conform(raw[src], CONTRACTS[name].columns, CONTRACTS[name].key)[0]
    out["customer_features"] = build_features(out["clean_customers"], out["clean_transactions"])
    out["training_set"] = join_training_set(out["customer_features"], out["clean_labels"])
    return out


def run_all(f: dict[str, pd.DataFrame]) -> dict[str, dg.AssetCheckResult]:
    """Every relationship check as the pipeline wires it (the sources cross-checked three ways)."""
    results = [
        orphan_transactions(f["raw_customers"], f["raw_transactions"], f["raw_labels"]),
        transactions_per_applicant(f["raw_customers"], f["raw_transactions"], EXPECTED_TPC, labels=f["raw_labels"]),
        transactions_have_applicants(f["raw_customers"], f["raw_transactions"], f["raw_labels"]),
        labels_cover_applicants(f["raw_customers"], f["raw_labels"], f["raw_transactions"]),
        features_match_customers(f["clean_customers"], f["customer_features"]),
        training_rows_match_join(f["customer_features"], f["clean_labels"], f["training_set"]),
    ]
    return {r.check_name: r for r in results}


def with_fault(day: str, asset: str, kind: str, **kw) -> dict[str, pd.DataFrame]:
    f = dict(frames(day))
    yesterday = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
    f[asset] = apply_fault(f[asset], Fault(asset, day, kind, **kw), previous=lambda: frames(yesterday)[asset])
    return f


@pytest.mark.slow
def test_no_false_alarms_on_clean_days():
    runs, alarms = 0, []
    for cpd, start, n in ((SMALL, dt.date(2026, 1, 1), 30), (1500, dt.date(2026, 2, 1), 4)):
        for i in range(n):
            day = (start + dt.timedelta(days=i)).isoformat()
            for name, r in run_all(frames(day, cpd)).items():
                runs += 1
                if not r.passed:
                    alarms.append(f"{name}[{day}, {cpd}/day]: {r.description}")
    print(f"\nrelationship false-alarm rate: {len(alarms)}/{runs}")
    assert not alarms, alarms


# (asset, kind, fault options, the check that must fail, a numeric metadata key of it)
CASES = [
    ("raw_customers", "row_loss", {}, "orphan_transactions", "orphan_share"),
    # 10% of the applicants lost: the labels of the lost applicants must not be blamed on raw_labels.
    ("raw_customers", "row_loss", {"magnitude": 0.1}, "orphan_transactions", "orphan_share"),
    ("raw_customers", "stale_partition", {}, "orphan_transactions", "orphan_share"),
    ("raw_transactions", "row_loss", {}, "transactions_per_applicant", "transactions_per_applicant"),
    ("raw_transactions", "category_remap", {"column": "customer_id"}, "transactions_have_applicants",
     "unknown_customer_share"),
    ("raw_transactions", "stale_partition", {}, "transactions_have_applicants", "unknown_customer_share"),
    ("raw_labels", "row_loss", {}, "labels_cover_applicants", "label_ratio"),
    ("raw_labels", "duplicate_rows", {}, "labels_cover_applicants", "duplicate_labels"),
    # Every key garbled into a 3-letter code.
    ("raw_labels", "category_remap", {"column": "customer_id"}, "labels_cover_applicants", "unlabelled_share"),
    ("raw_labels", "stale_partition", {}, "labels_cover_applicants", "unknown_applicant_share"),
    ("customer_features", "row_loss", {}, "rows_match_clean_customers", "row_difference"),
    ("training_set", "duplicate_rows", {}, "rows_match_features_join_labels", "row_difference"),
    ("training_set", "row_loss", {}, "rows_match_features_join_labels", "row_difference"),
]
SOURCES = ("raw_customers", "raw_transactions", "raw_labels")
CHECKED_ASSET = {"orphan_transactions": "raw_customers", "transactions_per_applicant": "raw_transactions",
                 "transactions_have_applicants": "raw_transactions", "labels_cover_applicants": "raw_labels"}


def _case_id(asset, kind, kw, *_):
    return f"{asset}-{kind}" + "".join(f"-{v}" for v in kw.values())


@pytest.mark.parametrize("asset,kind,kw,check,key", CASES, ids=[_case_id(*c) for c in CASES])
@pytest.mark.parametrize("day", ["2026-01-10", "2026-01-11"])  # a Saturday (fewest applicants) and a Sunday
def test_relationship_faults_are_caught(day, asset, kind, kw, check, key):
    results = run_all(with_fault(day, asset, kind, **kw))
    r = results[check]
    print(f"\n{kind} on {asset}[{day}] caught by {check}: {r.description}")
    assert not r.passed, r.description
    assert isinstance(r.metadata[key].value, (int, float))
    if asset in SOURCES:
        # The third source decides: a fault at one source fails no check of another source.
        blamed = {CHECKED_ASSET[n] for n, x in results.items() if not x.passed}
        assert blamed == {asset}, {n: x.description for n, x in results.items() if not x.passed}


def test_metadata_is_numeric_and_value_free():
    r = orphan_transactions(frames("2026-01-05")["raw_customers"], frames("2026-01-05")["raw_transactions"])
    assert r.passed and r.metadata["orphan_share"].value == 0.0
    for value in r.metadata.values():
        assert isinstance(value.value, (int, float, bool))
    assert "C2026" not in r.description  # no ids in descriptions


def test_missing_columns_fail_with_a_reason():
    f = frames("2026-01-05")
    r = orphan_transactions(f["raw_customers"].drop(columns=["customer_id"]), f["raw_transactions"])
    assert not r.passed and "customer_id" in r.description


def test_expected_mean_comes_from_the_generator_config_only():
    assert expected_transactions_per_customer(RawDataSource(transactions_per_customer=8.0)) == 8.0
    assert expected_transactions_per_customer(RawDataSource(customers_path="/x/{partition}.csv")) is None
    assert expected_transactions_per_customer(None) is None
    f = frames("2026-01-05")
    r = transactions_per_applicant(f["raw_customers"], f["raw_transactions"], None)
    assert r.passed and r.metadata["band_low"].value == 6.0


@pytest.mark.slow
def test_checks_run_in_dagster_on_the_same_partition(tmp_path):
    from observability_pipelines.assets.observers import FaultObserver
    from observability_pipelines.assets.partitions import daily_partitions
    from observability_pipelines.observe.asset import observed_asset
    from observability_pipelines.observe.openlineage import OpenLineageResource
    from observability_pipelines.resources.faults import FaultInjector, FaultSpec
    from observability_pipelines.resources.io_managers import ParquetIOManager

    def raw(name, source):
        @observed_asset(name=name, partitions_def=daily_partitions, required_resource_keys=["raw_data"],
                        observers=[FaultObserver()])
        def _raw(context):
            return context.resources.raw_data.load(source, context.partition_key)

        return _raw

    assets = [raw("raw_customers", "customers"), raw("raw_transactions", "transactions"), raw("raw_labels", "labels")]
    checks = [c for c in relationship_checks if next(iter(c.check_keys)).asset_key.path[0].startswith("raw_")]
    assert len(checks) == 4
    day = "2026-01-08"
    resources = {
        "raw_data": RawDataSource(customers_per_day=SMALL),
        "io_manager": ParquetIOManager(base_path=str(tmp_path)),
        "openlineage": OpenLineageResource(outbox_path=str(tmp_path / "outbox.db"), enabled=False),
    }
    instance = dg.DagsterInstance.ephemeral()
    # An earlier, clean partition in storage must not be read by the checks of the faulty day.
    clean = dg.materialize([*assets, *checks], partition_key="2026-01-07", instance=instance,
                           resources={**resources, "faults": FaultInjector()})
    assert all(e.passed for e in clean.get_asset_check_evaluations())
    faulty = dg.materialize(
        [*assets, *checks], partition_key=day, instance=instance, raise_on_error=False,
        resources={**resources, "faults": FaultInjector(plan=[FaultSpec(asset="raw_customers", partition=day, kind="row_loss")])},
    )
    evaluations = {e.check_name: e for e in faulty.get_asset_check_evaluations()}
    assert set(evaluations) == {"orphan_transactions", "transactions_per_applicant", "transactions_have_applicants",
                                "labels_cover_applicants"}
    assert not evaluations["orphan_transactions"].passed
    assert evaluations["labels_cover_applicants"].passed  # the lost applicants' labels are not blamed
    assert 0.25 < evaluations["orphan_transactions"].metadata["orphan_share"].value < 0.35
    assert evaluations["orphan_transactions"].partition == day

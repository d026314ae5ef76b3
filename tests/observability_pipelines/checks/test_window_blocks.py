"""Pre-merged window blocks: the grouping, the merged block against scipy on the members' rows, and, on a real
Dagster instance over a sequence of days (a drifted partition, a re-materialization, missing profiles, a
missing and a torn block file), the window from stored blocks equals one rebuilt from scratch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from observability_pipelines.checks.drift_observer import compare, evaluate_drift, pipeline_drift_config, profile_window
from observability_pipelines.checks.drift_store import DriftStore
from observability_pipelines.checks.profile_drift import detect_drift_from_profiles
from observability_pipelines.checks.profiles import KS_TOLERANCE, ColumnProfile, merge_moments, profile_record
from observability_pipelines.checks.window_blocks import (
    BLOCK_POINTS,
    BLOCK_SIZE,
    block_column,
    block_groups,
    block_record,
    members_list,
)

COLUMNS = ["x", "y", "level", "region"]


def _frame(rng, n: int, shift: float = 0.0) -> pd.DataFrame:
    y = rng.exponential(2.0, n)
    y[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({"x": rng.normal(shift, 1.0, n), "y": y, "level": rng.integers(0, 5, n),
                         "region": rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1])})


def test_only_groups_wholly_inside_the_window_become_blocks():
    keys = [f"k{i}" for i in range(20)]  # most recent first, consecutive
    offsets = {k: i for i, k in enumerate(keys)}
    # anchor 30: the keys hold ordinals 29 .. 10; whole groups: 16..23 (2) only (24..31 reaches past 29)
    assert block_groups(keys, offsets, 30) == [(2, keys[6:14])]
    # anchor 32: ordinals 31 .. 12: groups 3 (24..31) and 2 (16..23); 8..15 is cut by the window's end
    assert block_groups(keys, offsets, 32) == [(3, keys[0:8]), (2, keys[8:16])]
    flagged = [k for k in keys if k not in ("k9", "k10")]  # a gap: the group keeps its other members
    assert block_groups(flagged, offsets, 30) == [(2, [k for k in keys[6:14] if k not in ("k9", "k10")])]
    assert block_groups(keys[:7], offsets, 30) == []  # a 7-partition window never holds a whole group
    assert block_groups(keys, offsets, None) == []


@pytest.mark.parametrize("rows", [300, 900, 3000])  # every value kept / mixed with sketched (3000 > EXACT_LIMIT)
def test_a_block_merges_its_members_within_its_stated_error(rows):
    rng = np.random.default_rng(rows)
    frames = [_frame(rng, int(rows * rng.uniform(0.5, 1.5))) for _ in range(BLOCK_SIZE)]
    records = [profile_record(f, COLUMNS, f"run{i}") for i, f in enumerate(frames)]
    block = block_record(records, members_list([f"d{i}" for i in range(8)], {f"d{i}": f"run{i}" for i in range(8)}),
                         COLUMNS)
    both = pd.concat(frames, ignore_index=True)
    for name in ("x", "y"):
        merged = ColumnProfile.from_dict(block["columns"][name])
        finite = np.sort(both[name].dropna().to_numpy())
        assert (merged.count, merged.nulls, merged.finite) == (len(both), both[name].isna().sum(), len(finite))
        assert merged.mean == pytest.approx(finite.mean(), rel=1e-12)
        assert merge_moments([merged])[2] == pytest.approx(finite.var(ddof=1), rel=1e-10)
        # the block's step CDF against the rows' own: within 1/(2 * BLOCK_POINTS) plus its members' sketch error
        steps = np.searchsorted(np.sort(merged.quantiles), finite, side="right") / len(merged.quantiles)
        exact = np.searchsorted(finite, finite, side="right") / len(finite)
        assert np.abs(steps - exact).max() <= 1 / (2 * BLOCK_POINTS) + (1 / 400 if rows > 2000 else 0) + 1e-12
    assert block["columns"]["region"]["counts"] == both["region"].value_counts().to_dict()
    assert {float(k): v for k, v in block["columns"]["level"]["counts"].items()} == \
        both["level"].value_counts().to_dict()


@pytest.mark.parametrize("shift", [0.0, 0.08, 0.5])
def test_a_window_of_blocks_decides_as_scipy_on_the_rows(shift):
    rng = np.random.default_rng(7)
    frames = [_frame(rng, int(rng.uniform(900, 1100))) for _ in range(30)]
    current = _frame(rng, 1000, shift)
    records = [profile_record(f, COLUMNS, "") for f in frames]
    keys = [f"d{i}" for i in range(30)]
    blocks = [block_record(records[i:i + 8], members_list(keys[i:i + 8], dict.fromkeys(keys, "")), COLUMNS)
              for i in (6, 14)]
    items = [*records[:6], blocks[0], blocks[1], *records[22:]]
    config = pipeline_drift_config()
    blocked = detect_drift_from_profiles(items, current, COLUMNS, config)
    flat = detect_drift_from_profiles(records, current, COLUMNS, config)
    reference = pd.concat(frames, ignore_index=True)
    for name in ("x", "y"):
        exact = stats.ks_2samp(reference[name].dropna(), current[name].dropna())
        assert abs(blocked.columns[name].ks_stat - exact.statistic) <= KS_TOLERANCE
        assert blocked.columns[name].drifted == (exact.pvalue < config.thresholds["ks"])
        assert blocked.columns[name].n_ref == flat.columns[name].n_ref
    for name in ("level", "region"):  # counts: exactly the flat window's result
        assert blocked.columns[name].to_dict() == flat.columns[name].to_dict()
    assert blocked.n_ref == flat.n_ref == len(reference)


class ParquetDir(dg.ConfigurableIOManager):
    """An IO manager of the test's own: one Parquet file per partition."""

    base: str

    def _path(self, context) -> Path:
        return Path(self.base) / f"{context.asset_partition_key}.parquet"

    def handle_output(self, context, obj: pd.DataFrame) -> None:
        obj.to_parquet(self._path(context))

    def load_input(self, context) -> pd.DataFrame:
        return pd.read_parquet(self._path(context))


DAYS = [f"2026-02-{d:02d}" for d in range(1, 29)]
WINDOW = 12  # holds a whole group of BLOCK_SIZE on most days


def _dump(result) -> str:
    return json.dumps(result.to_dict(), sort_keys=True, default=str)


@pytest.mark.slow
def test_the_window_from_stored_blocks_equals_one_rebuilt_from_scratch(tmp_path):
    data: dict[str, pd.DataFrame] = {}
    version = {"seed": 0}
    partitions = dg.DailyPartitionsDefinition(start_date=DAYS[0])

    @dg.asset(partitions_def=partitions)
    def events(context) -> pd.DataFrame:
        day = context.partition_key
        rng = np.random.default_rng([DAYS.index(day), version["seed"]])
        rows = 2500 if DAYS.index(day) % 5 == 0 else int(rng.uniform(500, 700))  # some sketched partitions
        data[day] = _frame(rng, rows, shift=1.5 if day == DAYS[9] else 0.0)
        return data[day]

    io = ParquetDir(base=str(tmp_path / "values"))
    (tmp_path / "values").mkdir()
    (tmp_path / "dagster").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster"))
    context = SimpleNamespace(instance=instance, resources=SimpleNamespace(io_manager=io))
    store = DriftStore.for_instance(instance)
    key, config = dg.AssetKey("events"), pipeline_drift_config()
    blocked_days = 0

    def materialize(day: str) -> None:
        assert dg.materialize([events], partition_key=day, instance=instance, resources={"io_manager": io}).success

    for i, day in enumerate(DAYS):
        materialize(day)
        if day == DAYS[15]:
            version["seed"] = 1  # re-materialized with other values: a new run, its block must go
            materialize(DAYS[5])
        if day == DAYS[18]:
            store._path("_profiles", key, DAYS[6]).unlink()  # a member's profile lost: the block still stands
        if day == DAYS[20]:
            shutil.rmtree(store.root.path + "/_blocks")  # every block file missing
        if day == DAYS[23]:
            for path in Path(store.root.path, "_blocks").rglob("*.prof"):
                path.write_bytes(path.read_bytes()[:100])  # torn
        if i >= 2:
            blocked_days += _check_against_rebuilt(context, store, tmp_path / f"rebuilt{i}", key, partitions, day,
                                                   data, config)
        result, _ = evaluate_drift(context, key, day, partitions, data[day], COLUMNS, window=WINDOW, config=config)
        assert result.passed == (day != DAYS[9]), result.description  # the shifted day drifts, and only it
    assert blocked_days >= 8


def _check_against_rebuilt(context, store, copy: Path, key, partitions, day, data, config) -> int:
    """The window of ``day`` from the stored blocks equals the one from a copy of the state without them,
    and decides as scipy on the members' rows; 1 when it used a block."""
    shutil.copytree(store.root.path, copy, ignore=shutil.ignore_patterns("_blocks"))
    fresh = DriftStore(type(store.root)(str(copy)))
    kept = profile_window(context, key, day, partitions, WINDOW, store, COLUMNS)
    rebuilt = profile_window(context, key, day, partitions, WINDOW, fresh, COLUMNS)
    assert kept.keys == rebuilt.keys and DAYS[9] not in kept.keys
    assert len(kept.records) == len(rebuilt.records)
    current = data[day]
    ours, _ = compare(context, key, partitions, kept, current, COLUMNS, config)
    again, _ = compare(context, key, partitions, rebuilt, current, COLUMNS, config)
    assert _dump(ours) == _dump(again)
    reference = pd.concat([data[k] for k in kept.keys], ignore_index=True)
    assert ours.n_ref == len(reference)
    for name in ("x", "y"):
        exact = stats.ks_2samp(reference[name].dropna(), current[name].dropna())
        assert abs(ours.columns[name].ks_stat - exact.statistic) <= KS_TOLERANCE
    table = pd.crosstab([0] * len(reference) + [1] * len(current),
                        pd.concat([reference["region"], current["region"]], ignore_index=True))
    chi2 = stats.chi2_contingency(table.to_numpy(), correction=False)
    assert ours.columns["region"].chi2_stat == pytest.approx(chi2.statistic, rel=1e-9)
    return int(len(kept.records) < len(kept.keys))


def test_a_window_compared_exactly_builds_no_block(tmp_path):
    """Twelve small partitions (some column <= WINDOW_EXACT_LIMIT values in all): the window is compared
    exactly from its members, so no block file is written, and the result is detect_drift on the rows."""
    partitions = dg.DailyPartitionsDefinition(start_date=DAYS[0])
    instance = dg.DagsterInstance.local_temp(str(tmp_path))
    store, key, rng = DriftStore.for_instance(instance), dg.AssetKey("small"), np.random.default_rng(5)
    frames = {}
    for day in DAYS[:WINDOW + 1]:
        frames[day] = _frame(rng, 300)
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=day))
        store.save_profile(key, day, profile_record(frames[day], COLUMNS, ""))
    context = SimpleNamespace(instance=instance, resources=SimpleNamespace())
    window = profile_window(context, key, DAYS[WINDOW], partitions, WINDOW, store, COLUMNS)
    assert window.read == 0 and len(window.records) == len(window.keys) == WINDOW
    assert not Path(store.root.path, "_blocks").exists()
    ours = detect_drift_from_profiles(window.records, frames[DAYS[WINDOW]], COLUMNS, pipeline_drift_config())
    reference = pd.concat([frames[k] for k in window.keys], ignore_index=True)
    exact = stats.ks_2samp(reference["x"], frames[DAYS[WINDOW]]["x"])
    assert ours.columns["x"].ks_stat == pytest.approx(exact.statistic, abs=1e-12)

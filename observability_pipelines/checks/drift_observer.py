"""Drift of each new partition against a trailing window of earlier partitions, as a Dagster asset check.

Each checked partition leaves a profile per column in the
:class:`~observability_pipelines.checks.drift_store.DriftStore` (the data's trust domain, never events); a check
reads only the new partition and merges the window's profiles
(:mod:`observability_pipelines.checks.profile_drift`). A partition whose profile is missing, from an older
materialization or short of a column is read through the asset's own IO manager
(:mod:`observability_pipelines.checks.history`) and profiled then. Drifted partitions are flagged and stay
out of later windows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pandas as pd

from lineage.gcpause import gc_paused
from observability_pipelines.checks.drift import ColumnDriftResult, DriftConfig, detect_drift
from observability_pipelines.checks.drift_store import DriftStore
from observability_pipelines.checks.history import earlier_partition_keys, load_partitions, partition_ordinal
from observability_pipelines.checks.profile_drift import detect_drift_from_profiles
from observability_pipelines.checks.profiles import PROFILE_VERSION, profile_record
from observability_pipelines.checks.run_index import indexed_latest_runs
from observability_pipelines.checks.window_blocks import (
    block_groups,
    block_matches,
    block_name,
    block_record,
    members_list,
    small_numeric_column,
)
from observability_pipelines.observe.asset import Observation, Observer
from observability_pipelines.observe.metadata import drift_check_metadata

DRIFT_CHECK = "drift"


def pipeline_drift_config() -> DriftConfig:
    """Significance tests at a strict level; the effect-size floors below keep large samples honest."""
    # chi-square is stricter: binary labels at a few hundred rows otherwise alarm about once a month.
    from observability_pipelines.checks.great_expectations import include_unexpected_values

    return DriftConfig(small_sample_size=10**12, thresholds={"ks": 0.001, "chi2": 0.0001,
                                                             "wasserstein": 0.1, "jensenshannon": 0.1, "psi": 0.2},
                       # the same opt-in as GE's unexpected values: labels of new categories are row values
                       show_new_labels=include_unexpected_values())


@dataclass
class DriftObserver(Observer):
    """Compares the new partition of an asset with the ``window`` partitions before it.

    ``reference_asset`` compares against another asset's history instead (e.g. features against the
    training set). Per-column scores become numeric check metadata so the UI plots them over time.
    """

    columns: Sequence[str]
    window: int = 7
    reference_asset: str | None = None
    config: DriftConfig = field(default_factory=pipeline_drift_config)
    # A significant difference counts as drift only when it is also large enough to matter: with
    # thousands of rows a 2% seasonal wobble is significant, with hundreds noise is large.
    min_ks: float = 0.1
    min_js: float = 0.05
    blocking: bool = False
    io_manager_key: str = "io_manager"  # the asset's own IO manager reads the reference partitions

    @property
    def required_resource_keys(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({self.io_manager_key})

    def check_specs(self, asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        reference = self.reference_asset or asset_key.to_user_string()
        return [
            dg.AssetCheckSpec(
                DRIFT_CHECK,
                asset=asset_key,
                blocking=self.blocking,
                description=f"Distribution drift of {len(self.columns)} columns against the previous "
                f"{self.window} partitions of {reference} (KS / Wasserstein / PSI; chi-square / JS / PSI).",
            )
        ]

    def material(self, r: ColumnDriftResult) -> bool:
        return material(r, self.min_ks, self.min_js)

    def on_output(self, obs: Observation) -> None:
        if obs.partition is None or not isinstance(obs.value, pd.DataFrame):
            return
        context = obs.context
        # Blocking check failures (wrong window, duplicate keys) quarantine the partition as well.
        blocked = [r.check_name for r in obs.check_results
                   if not r.passed and r.check_name and r.check_name.endswith("_errors")]
        result, drift = evaluate_drift(
            context, dg.AssetKey(obs.asset), obs.partition, context.assets_def.partitions_def, obs.value,
            self.columns, window=self.window, reference_asset=self.reference_asset, config=self.config,
            min_ks=self.min_ks, min_js=self.min_js, blocked=blocked, io_manager_key=self.io_manager_key,
            run_id=context.run.run_id)  # the value is this run's output, not yet a recorded materialization
        if drift is not None:
            obs.facts["drift"] = drift
        obs.check_results.append(result)


def material(r: ColumnDriftResult, min_ks: float, min_js: float) -> bool:
    """A significant difference counts only when also large enough (see ``DriftObserver``)."""
    if not r.drifted:
        return False
    if r.null_drift or r.status != "drift":
        return True  # missing column, type mismatch, empty partition, null increase
    if r.kind == "numerical":
        return (r.ks_stat or 0.0) >= min_ks
    return (r.js_distance or 0.0) >= min_js


@dataclass
class Window:
    """The reference of one check: the partitions compared with, their profile records (in window order; a
    pre-merged block of ``window_blocks`` stands for its members), and how many of them had to be read
    through the IO manager (no usable profile)."""

    keys: list[str]
    records: list[dict[str, Any]]
    read: int


def window_keys(context, asset: dg.AssetKey, partition: str, partitions_def: dg.PartitionsDefinition,
                window: int, store: DriftStore) -> tuple[list[str], dict[str, str]]:
    """The ``window`` most recent earlier partitions that exist and are not flagged (looking back at most
    ``3 * window``: a drifted one must not become the new normal), and each one's latest run."""
    keys, runs, _ = window_plan(context, asset, partition, partitions_def, window, store)
    return keys, runs


def window_plan(context, asset: dg.AssetKey, partition: str, partitions_def: dg.PartitionsDefinition,
                window: int, store: DriftStore) -> tuple[list[str], dict[str, str], dict[str, int]]:
    """``window_keys`` and each key's offset among the consecutive earlier partitions (0: the one before)."""
    earlier = earlier_partition_keys(partitions_def, partition, 3 * window)
    flagged = store.flagged(asset, earlier)
    candidates = [k for k in earlier if k not in flagged]
    runs = indexed_latest_runs(context.instance, store, asset, candidates)
    return [k for k in candidates if k in runs][:window], runs, {k: i for i, k in enumerate(earlier)}


def _usable(record: Any, run_id: str | None, columns: Sequence[str]) -> bool:
    if not isinstance(record, dict) or record.get("version") != PROFILE_VERSION:
        return False
    if run_id is not None and record.get("run_id") != run_id:
        return False  # re-materialized since it was profiled
    have, frame = record.get("columns") or {}, set(record.get("frame_columns") or ())
    return all(c in have for c in columns if c in frame)


def profile_window(context, asset: dg.AssetKey, partition: str, partitions_def: dg.PartitionsDefinition,
                   window: int, store: DriftStore, columns: Sequence[str],
                   io_manager_key: str = "io_manager") -> Window:
    """The window's profile records; partitions without a usable one are read, profiled and stored. Groups of
    partitions wholly inside the window come as one pre-merged block each (``window_blocks``)."""
    keys, runs, offsets = window_plan(context, asset, partition, partitions_def, window, store)
    groups = block_groups(keys, offsets, partition_ordinal(partitions_def, partition)) if len(keys) > 1 else []
    blocks = {group: block for group, members in groups
              if block_matches(block := store.load_block(asset, block_name(group)), members_list(members, runs),
                               columns)}
    inside = {k for group, members in groups if group in blocks for k in members}
    records, read = member_records(context, asset, partitions_def, [k for k in keys if k not in inside], runs,
                                   store, columns, io_manager_key)
    if groups and small_numeric_column([*blocks.values(), *records.values()], columns):
        # a column compared exactly from its members' values: no block is built or used
        rest, more = member_records(context, asset, partitions_def, sorted(inside), runs, store, columns,
                                    io_manager_key)
        records.update(rest)
        return Window([k for k in keys if k in records], [records[k] for k in keys if k in records], read + more)
    for group, members in groups:
        if group not in blocks and all(k in records for k in members):
            built = block_record([records[k] for k in members], members_list(members, runs), columns)
            if built is not None:
                store.save_block(asset, block_name(group), built)
                blocks[group] = built
                inside.update(members)
    first = {members[0]: blocks[group] for group, members in groups if group in blocks}
    items = [first.get(k) or records[k] for k in keys if k in first or (k not in inside and k in records)]
    used = [k for k in keys if k in inside or k in records]
    return Window(used, items, read)


def member_records(context, asset: dg.AssetKey, partitions_def: dg.PartitionsDefinition, keys: Sequence[str],
                   runs: dict[str, str], store: DriftStore, columns: Sequence[str],
                   io_manager_key: str = "io_manager") -> tuple[dict[str, dict], int]:
    """The usable profile record of each of ``keys`` (read, profiled and stored when it has none), and how
    many partitions had to be read."""
    stored = {k: store.load_profile(asset, k) for k in keys}
    records = {k: r for k, r in stored.items() if _usable(r, runs.get(k), columns)}
    missing = [k for k in keys if k not in records]
    for key, value in load_partitions(context, io_manager_key, asset, partitions_def, missing):
        if isinstance(value, pd.DataFrame):
            old = stored[key].get("columns", {}) if isinstance(stored[key], dict) else {}
            records[key] = profile_record(value, [*columns, *(c for c in old if c not in columns)], runs.get(key))
            store.save_profile(asset, key, records[key])
    return records, len(missing)


def read_window(context, asset: dg.AssetKey, partitions_def: dg.PartitionsDefinition, keys: Sequence[str],
                io_manager_key: str = "io_manager") -> pd.DataFrame | None:
    """The window's rows, concatenated (when profiles cannot answer)."""
    frames = [v for _, v in load_partitions(context, io_manager_key, asset, partitions_def, keys)
              if isinstance(v, pd.DataFrame)]
    return pd.concat(frames, ignore_index=True) if frames else None


def compare(context, asset: dg.AssetKey, partitions_def: dg.PartitionsDefinition, ref: Window,
            current: pd.DataFrame, columns: Sequence[str], config: DriftConfig, io_manager_key: str = "io_manager"):
    """Drift of ``current`` against the window: from its profiles, else from its rows read in full."""
    result = detect_drift_from_profiles(ref.records, current, columns, config)
    if result is not None:
        return result, ref.read
    reference = read_window(context, asset, partitions_def, ref.keys, io_manager_key)
    columns = [c for c in columns if reference is not None and c in reference.columns]
    return detect_drift(reference[columns] if reference is not None else pd.DataFrame(),
                        current.reindex(columns=[c for c in columns if c in current.columns]), config), len(ref.keys)


def keep_profile(context, store: DriftStore, asset: dg.AssetKey, partition: str, current: pd.DataFrame,
                 columns: Sequence[str], run_id: str | None) -> None:
    """Store the checked partition's profile, tagged with the run that materialized the value."""
    if run_id is None:  # a check after the materialization: its latest record is the value being checked
        run_id = indexed_latest_runs(context.instance, store, asset, [partition]).get(partition)
    store.save_profile(asset, partition, profile_record(current, [c for c in columns if c in current.columns], run_id))


@gc_paused()  # decoding and merging a window's profiles allocates in bursts (see lineage.gcpause)
def evaluate_drift(context, asset_key: dg.AssetKey, partition: str, partitions_def: dg.PartitionsDefinition,
                   current: pd.DataFrame, columns: Sequence[str], *, window: int = 7,
                   reference_asset: str | None = None, config: DriftConfig | None = None, min_ks: float = 0.1,
                   min_js: float = 0.05, blocked: Sequence[str] = (), check_name: str = DRIFT_CHECK,
                   io_manager_key: str = "io_manager", run_id: str | None = None) -> tuple[dg.AssetCheckResult, dict | None]:
    """The drift check result of one partition (and the drift fact for lineage, None without a reference).

    Keeps the partition's profile (``run_id``: the run whose output ``current`` is; default its latest
    materialization's). Flags the partition (unless comparing against another asset) when it drifted or
    ``blocked`` names failed blocking checks, so later windows leave it out."""
    config = config or pipeline_drift_config()
    store = DriftStore.for_instance(context.instance)
    keep_profile(context, store, asset_key, partition, current, columns, run_id)
    reference_key = dg.AssetKey.from_user_string(reference_asset) if reference_asset else asset_key
    ref = profile_window(context, reference_key, partition, partitions_def, window, store, columns, io_manager_key)
    if not ref.keys:
        return dg.AssetCheckResult(
            asset_key=asset_key, check_name=check_name, passed=True,
            description="No earlier partitions to compare with yet; drift not evaluated.",
            metadata={"reference_partitions": dg.MetadataValue.int(0)},
        ), None
    result, read = compare(context, reference_key, partitions_def, ref, current, columns, config, io_manager_key)
    failed = [r for r in result.columns.values() if material(r, min_ks, min_js)]
    drift = _drift_fact(result, failed, ref.keys, min_ks, min_js, config)
    metadata = drift_check_metadata(  # rounded; names the drifted columns and why each failed
        result.columns, failed, share=drift["share_drifted"], reference_partitions=len(ref.keys),
        reference_rows=int(result.n_ref), min_effect={"numerical": min_ks, "categorical": min_js, "null_increase": config.max_null_increase})
    metadata["reference_partitions_read"] = dg.MetadataValue.int(read)  # 0: all from stored profiles
    if not reference_asset:
        reason = ", ".join([*(f"drift {r.column}" for r in failed), *blocked]) or None
        store.set_flag(asset_key, partition, reason)
    description = (
        "; ".join(f"{r.column}: {_reason(r)}" for r in failed)
        if failed
        else f"No drift in {len(result.columns)} columns against {len(ref.keys)} earlier "
             f"partition{'' if len(ref.keys) == 1 else 's'}."
    )
    return dg.AssetCheckResult(
        asset_key=asset_key, check_name=check_name, passed=not failed, severity=dg.AssetCheckSeverity.WARN,
        description=description[:2000], metadata=metadata,
    ), drift


def _drift_fact(result, failed, used: Sequence[str], min_ks: float, min_js: float, config: DriftConfig) -> dict:
    """The drift summary for lineage: statistics per column with the material decision, no row values."""
    drift = result.to_dict()
    for name, column in result.columns.items():
        drift["columns"][name]["drifted"] = material(column, min_ks, min_js)
    drift["drifted_columns"] = [r.column for r in failed]
    drift["n_drifted"] = len(failed)
    drift["share_drifted"] = len(failed) / max(len(result.columns), 1)
    drift["drifted"] = drift["share_drifted"] >= config.drift_share
    drift["reference_partitions"] = list(used)
    return drift


def _reason(r: ColumnDriftResult) -> str:
    """Lead with why the column counts as drifted (a null jump can come with an unremarkable test)."""
    if r.null_drift and r.message.startswith("no drift"):
        null_part = next((p for p in r.message.split("; ") if "null" in p), r.message)
        return f"null increase: {null_part}"
    return r.message

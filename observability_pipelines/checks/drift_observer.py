"""Drift of each new partition against a trailing window of earlier partitions, as a Dagster asset check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd

from observability_pipelines.checks.drift import ColumnDriftResult, DriftConfig, detect_drift
from observability_pipelines.observe.asset import Observation, Observer

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
    required_resource_keys = frozenset({"io_manager"})

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

    def reference(self, obs: Observation) -> tuple[pd.DataFrame | None, list[str]]:
        store = obs.context.resources.io_manager
        asset = self.reference_asset or obs.asset
        day = dt.date.fromisoformat(obs.partition)
        frames, used = [], []
        back = 0
        # Walk back far enough to find `window` unflagged partitions, but not forever.
        while len(used) < self.window and back < 3 * self.window:
            back += 1
            key = (day - dt.timedelta(days=back)).isoformat()
            if store.is_flagged(asset, key):
                continue  # a drifted partition must not become the new normal
            frame = store.read_partition(asset, key)
            if frame is not None:
                frames.append(frame)
                used.append(key)
        return (pd.concat(frames, ignore_index=True) if frames else None), used

    def material(self, r: ColumnDriftResult) -> bool:
        if not r.drifted:
            return False
        if r.null_drift or r.status != "drift":
            return True  # missing column, type mismatch, empty partition, null increase
        if r.kind == "numerical":
            return (r.ks_stat or 0.0) >= self.min_ks
        return (r.js_distance or 0.0) >= self.min_js

    def on_output(self, obs: Observation) -> None:
        if obs.partition is None or not isinstance(obs.value, pd.DataFrame):
            return
        asset_key = dg.AssetKey(obs.asset)
        reference, used = self.reference(obs)
        if reference is None:
            obs.check_results.append(
                dg.AssetCheckResult(
                    asset_key=asset_key,
                    check_name=DRIFT_CHECK,
                    passed=True,
                    description="No earlier partitions to compare with yet; drift not evaluated.",
                    metadata={"reference_partitions": dg.MetadataValue.int(0)},
                )
            )
            return
        current = obs.value
        columns = [c for c in self.columns if c in reference.columns]
        result = detect_drift(reference[columns], current.reindex(columns=[c for c in columns if c in current.columns]),
                              self.config)
        failed = [r for r in result.columns.values() if self.material(r)]
        drift = result.to_dict()
        for name, column in result.columns.items():
            drift["columns"][name]["drifted"] = self.material(column)
        drift["drifted_columns"] = [r.column for r in failed]
        drift["n_drifted"] = len(failed)
        drift["share_drifted"] = len(failed) / max(len(result.columns), 1)
        drift["drifted"] = drift["share_drifted"] >= self.config.drift_share
        drift["reference_partitions"] = used
        obs.facts["drift"] = drift
        metadata: dict = {
            "drift_share": dg.MetadataValue.float(float(drift["share_drifted"])),
            "drifted_columns": dg.MetadataValue.int(len(failed)),
            "reference_partitions": dg.MetadataValue.int(len(used)),
            "reference_rows": dg.MetadataValue.int(int(result.n_ref)),
        }
        for name, column in result.columns.items():
            if column.statistic is not None:
                metadata[f"{name}/{column.test}"] = dg.MetadataValue.float(float(column.statistic))
            if column.psi is not None:
                metadata[f"{name}/psi"] = dg.MetadataValue.float(float(column.psi))
        if not self.reference_asset:
            # Blocking check failures (wrong window, duplicate keys) quarantine the partition as well.
            blocked = [r.check_name for r in obs.check_results
                       if not r.passed and r.check_name and r.check_name.endswith("_errors")]
            reason = ", ".join([*(f"drift {r.column}" for r in failed), *blocked]) or None
            obs.context.resources.io_manager.set_flag(obs.asset, obs.partition, reason)
        description = (
            "; ".join(f"{r.column}: {_reason(r)}" for r in failed)
            if failed
            else f"No drift in {len(result.columns)} columns against {len(used)} earlier partitions."
        )
        obs.check_results.append(
            dg.AssetCheckResult(
                asset_key=asset_key,
                check_name=DRIFT_CHECK,
                passed=not failed,
                severity=dg.AssetCheckSeverity.WARN,
                description=description[:2000],
                metadata=metadata,
            )
        )


def _reason(r: ColumnDriftResult) -> str:
    """Lead with why the column counts as drifted (a null jump can come with an unremarkable test)."""
    if r.null_drift and r.message.startswith("no drift"):
        null_part = next((p for p in r.message.split("; ") if "null" in p), r.message)
        return f"null increase: {null_part}"
    return r.message

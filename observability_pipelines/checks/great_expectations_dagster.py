"""The Dagster side of the Great Expectations checks: an observer that turns a suite's validation into two asset
checks, and the checks' metadata. Apart from ``great_expectations.py`` (the validation core) so that
``obs expectations validate`` does not import dagster (about half of its time beyond the GE import)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from observability_pipelines.checks.great_expectations import (
    ERROR,
    WARN,
    SuiteValidation,
    _severity,
    expectations_dir,
    include_unexpected_values,
    suite_info,
    validate_dataframe,
)
from observability_pipelines.observe.asset import Observation, Observer

__all__ = ["GreatExpectationsObserver", "check_metadata"]

class GreatExpectationsObserver(Observer):
    """Two checks per suite: ``ge_<suite>_errors`` (blocking, ERROR) and ``ge_<suite>_warnings`` (WARN)."""

    def __init__(self, suite: str, *, directory: str | Path | None = None):
        self.suite = suite
        self.directory = directory
        # An asset without a suite (suites switched off with OBS_EXPECTATIONS_DIR, or none written
        # yet) simply gets no GE checks; a suite that exists but cannot be read still fails here.
        self.available = (Path(directory) if directory else expectations_dir()).joinpath(f"{suite}.json").is_file()
        if self.available:
            suite_info(suite, directory)
        else:
            logging.getLogger(__name__).info("no expectation suite %r: no Great Expectations checks", suite)

    @property
    def errors_check(self) -> str:
        return f"ge_{self.suite}_errors"

    @property
    def warnings_check(self) -> str:
        return f"ge_{self.suite}_warnings"

    def _counts(self) -> dict[str, int]:
        counts = {ERROR: 0, WARN: 0}
        for exp in suite_info(self.suite, self.directory)["expectations"]:
            counts[_severity(exp)] += 1
        return counts

    def check_specs(self, asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        if not self.available:
            return []
        counts = self._counts()
        return [
            dg.AssetCheckSpec(
                self.errors_check,
                asset=asset_key,
                blocking=True,
                description=(
                    f"Great Expectations suite {self.suite}: {counts[ERROR]} error-severity expectations "
                    "(schema, types, keys, partition window, domain invariants); failure blocks downstream assets."
                ),
                metadata={"suite": self.suite, "severity": ERROR, "expectations": counts[ERROR]},
            ),
            dg.AssetCheckSpec(
                self.warnings_check,
                asset=asset_key,
                blocking=False,
                description=(
                    f"Great Expectations suite {self.suite}: {counts[WARN]} warn-severity expectations "
                    "(ranges, vocabularies, nulls, means, row relationships)."
                ),
                metadata={"suite": self.suite, "severity": WARN, "expectations": counts[WARN]},
            ),
        ]

    def on_output(self, obs: Observation) -> None:
        if not self.available:
            return
        if not isinstance(obs.value, pd.DataFrame):
            reason = f"value is a {type(obs.value).__name__}, not a DataFrame; suite {self.suite} not evaluated"
            for name, sev in ((self.errors_check, dg.AssetCheckSeverity.ERROR), (self.warnings_check, dg.AssetCheckSeverity.WARN)):
                obs.check_results.append(
                    dg.AssetCheckResult(
                        check_name=name, passed=True, severity=sev, description=f"skipped: {reason}",
                        metadata={"skipped": True, "evaluated": 0, "failed": 0},
                    )
                )
            return
        validation = validate_dataframe(obs.value, self.suite, obs.partition, directory=self.directory)
        obs.facts.setdefault("assertions", []).extend(
            {"assertion": o.expectation_type, "success": o.success, "column": o.column, "severity": o.severity}
            for o in validation.outcomes
        )
        for name, severity, dg_sev in (
            (self.errors_check, ERROR, dg.AssetCheckSeverity.ERROR),
            (self.warnings_check, WARN, dg.AssetCheckSeverity.WARN),
        ):
            part = validation.of_severity(severity)
            obs.check_results.append(
                dg.AssetCheckResult(
                    check_name=name,
                    passed=part.success,
                    severity=dg_sev,
                    description=part.summary()[:2000],
                    metadata=check_metadata(part),
                )
            )


def check_metadata(validation: SuiteValidation) -> dict[str, Any]:
    """Numeric check metadata: success percent, counts, unexpected percent per failed expectation."""
    meta: dict[str, Any] = {
        "suite": validation.suite,
        "success_percent": dg.MetadataValue.float(float(validation.success_percent)),
        "evaluated": dg.MetadataValue.int(validation.evaluated),
        "failed": dg.MetadataValue.int(len(validation.failures)),
        "rows": dg.MetadataValue.int(validation.rows),
    }
    for o in validation.failures:
        key = f"failed/{o.expectation_type}/{o.label}"
        i = 2
        while key in meta:
            key, i = f"failed/{o.expectation_type}/{o.label}#{i}", i + 1
        # Aggregate expectations (types, schema, means) have no per-row share: the whole table fails them.
        meta[key] = dg.MetadataValue.float(float(o.unexpected_percent if o.unexpected_percent is not None else 100.0))
    if validation.failures:
        meta["failures"] = dg.MetadataValue.md(validation.markdown())
    if include_unexpected_values():
        samples = {f"{o.expectation_type}/{o.label}": o.unexpected_values for o in validation.failures if o.unexpected_values}
        if samples:
            meta["unexpected_values"] = dg.MetadataValue.json(samples)
    return meta

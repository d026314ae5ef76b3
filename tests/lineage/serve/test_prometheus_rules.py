"""The shipped Prometheus rules: valid for promtool, unit-tested, and firing on what /metrics really exposes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from helpers import partitioned_events
from helpers.binaries import require_binary
from lineage.analysis import incidents
from lineage.serve import ingest_metrics, metrics
from lineage.store import LineageStore

RULES = Path(metrics.__file__).parent / "prometheus"
RULE_FILES = [RULES / "recording.yml", RULES / "alerts.yml"]
UNIT_TESTS = Path(__file__).parent / "prometheus" / "alerts_test.yml"
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or",
                "unless"}


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_binary("promtool", "prometheus"), *args], capture_output=True, text=True,
                          timeout=60)


def _rules() -> list[dict[str, Any]]:
    return [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


def test_rule_files_pass_promtool_check() -> None:
    result = _promtool("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    result = _promtool("test", "rules", str(UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def _exposed_names() -> set[str]:
    collector = metrics.ObservabilityCollector(LineageStore.open("sqlite://"), outbox_path=False)
    names = {family.name for family in collector.describe()}
    histograms = {f"{name}_{suffix}" for name in metrics.INCIDENT_HISTOGRAMS for suffix in ("bucket", "sum", "count")}
    return names | histograms | set(metrics.RCA_METRIC_NAMES) | set(ingest_metrics.METRIC_NAMES)


def test_every_rule_names_an_exposed_metric_or_a_recorded_series() -> None:
    recorded = {rule["record"] for rule in _rules() if "record" in rule}
    known = _exposed_names() | recorded
    for rule in _rules():
        expr = re.sub(r'"[^"]*"', "", rule["expr"])  # label values are not metric names
        names = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*[{\[)\s]|\s*$|\s*[><=!])", expr))
        ours = {n for n in names if n.startswith("obs_") or ":" in n}
        assert ours, f"{rule.get('alert') or rule.get('record')}: no metric found in {rule['expr']!r}"
        assert ours <= known, f"{rule.get('alert') or rule.get('record')} names unknown series {ours - known}"


def _series(scrape: str) -> list[dict[str, str]]:
    """Every sample of a scrape as a promtool input series, constant over the test's 20 minutes."""
    out = []
    for family in text_string_to_metric_families(scrape):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out.append({"series": f"{sample.name}{{{labels}}}", "values": f"{sample.value:.3f}x20"})
    return out


def test_alerts_fire_on_a_real_scrape_of_a_faulty_day(tmp_path: Path) -> None:
    store = LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}")
    # Day 1 has a null burst in raw.loans.income, inherited by clean.loans: one failed not-null check on each.
    store.ingest(partitioned_events.day(0) + partitioned_events.day(1, nulls=50))
    scrape = generate_latest(metrics.metrics_registry(store, outbox_path=False)).decode()
    opened = incidents.list_incidents(store, status="open")
    assert len(opened) == 1, opened
    severity = opened[0]["severity"]
    incident_alert = "ObsIncidentOpenSevere" if severity in ("high", "critical") else "ObsIncidentOpen"
    routed = "critical" if incident_alert == "ObsIncidentOpenSevere" else "warning"
    failed = [{"exp_labels": {"severity": "warning", "dataset": name},
               "exp_annotations": {"summary": f"{name}: 1 failed data-quality assertions in the latest run",
                                   "next": f"obs rca {name} --latest"}} for name in ("raw.loans", "clean.loans")]
    spec = {
        "rule_files": [str(p) for p in RULE_FILES], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": _series(scrape), "alert_rule_test": [
            {"eval_time": "2m", "alertname": "ObsCheckFailed", "exp_alerts": failed},
            {"eval_time": "2m", "alertname": incident_alert, "exp_alerts": [{
                "exp_labels": {"severity": routed, "incident_severity": severity},
                "exp_annotations": {"summary": f"1 open {severity}-severity incident(s)",
                                    "next": "obs incidents list"}}]},
            {"eval_time": "2m", "alertname": "ObsDriftShareHigh", "exp_alerts": []},
        ]}],
    }
    (tmp_path / "scrape_test.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = _promtool("test", "rules", str(tmp_path / "scrape_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr

"""The Grafana dashboard as code (grafanalib): ``python -m lineage.serve.dashboards.build`` writes obs_grafana.json.

The panels are one table, :data:`SECTIONS`; every expression names only metrics ``obs serve`` exposes
(``tests/lineage/serve/test_dashboard_build.py`` checks this and that the committed JSON is what this builds).
grafanalib is needed only to rebuild the file (it is in the ``test`` extra), never to serve it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

OUTPUT = Path(__file__).with_name("obs_grafana.json")
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
DATASET = '{dataset=~"$dataset"}'
HEALTH_STEPS = [("red", None), ("orange", 60), ("green", 85)]  # the health score's bands (lineage.analysis.health)


@dataclass(frozen=True)
class Panel:
    kind: str  # stat | timeseries | bargauge | table
    title: str
    targets: tuple[tuple[str, str], ...]  # (expr, legend)
    width: int
    height: int
    description: str = ""
    unit: str = "none"
    bounds: tuple[float, float] | None = None
    instant: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


SECTIONS: tuple[tuple[str, tuple[Panel, ...]], ...] = (
    ("Health", (
        Panel("stat", "Pipeline health", (("obs_pipeline_health_score", "{{pipeline}}"),), 8, 6,
              "Mean of the pipeline's dataset health scores (lineage/analysis/health.py).", bounds=(0, 100)),
        Panel("bargauge", "Asset health score", ((f"obs_asset_health_score{DATASET}", "{{dataset}}"),), 16, 6,
              "Composite score 0-100 per dataset: checks, freshness, failed runs, drift.", bounds=(0, 100)),
        Panel("timeseries", "Asset health over time", ((f"obs_asset_health_score{DATASET}", "{{dataset}}"),), 24, 7,
              bounds=(0, 100)),
    )),
    ("Incidents", (
        Panel("timeseries", "Open incidents by severity", (("sum by (severity) (obs_incidents_open)", "{{severity}}"),),
              8, 7, "Open or acknowledged incidents (obs incidents list)."),
        Panel("timeseries", "Time to detect (p50 / p90)", tuple(
            (f"histogram_quantile({q}, sum by (le) (obs_incident_time_to_detect_seconds_bucket))", f"p{int(q * 100)}")
            for q in (0.5, 0.9)), 8, 7, "From the failing event's time to the incident opening.", unit="s"),
        Panel("timeseries", "Time to resolve (p50 / p90)", tuple(
            (f"histogram_quantile({q}, sum by (le) (obs_incident_time_to_resolve_seconds_bucket))", f"p{int(q * 100)}")
            for q in (0.5, 0.9)), 8, 7, "From the incident opening to its resolution.", unit="s"),
    )),
    ("Data quality", (
        Panel("table", "Failed checks (latest run)", ((f"obs_check_failed{DATASET} > 0", ""),), 12, 8,
              "Failed assertions per assertion type in each dataset's latest materialization.", instant=True),
        Panel("timeseries", "Check outcomes (last 24 h)",
              ((f"sum by (outcome) (obs_check_outcomes_total{DATASET})", "{{outcome}}"),), 12, 8),
        Panel("stat", "Failed runs (last 24 h)", ((f"sum(obs_runs_failed_total{DATASET})", "failed runs"),), 6, 5),
        Panel("timeseries", "Failed runs per dataset (last 24 h)",
              ((f"obs_runs_failed_total{DATASET}", "{{dataset}}"),), 18, 5),
    )),
    ("Drift", (
        Panel("bargauge", "Drift score per column", ((f"topk(50, obs_drift_score{DATASET})", "{{dataset}}.{{column}}"),),
              12, 10, "Per-column drift statistic of the latest run (KS statistic, else PSI).", instant=True),
        Panel("timeseries", "Drifted column share", ((f"obs_drift_share{DATASET}", "{{dataset}}"),), 12, 10,
              unit="percentunit", bounds=(0, 1)),
    )),
    ("Model", (
        Panel("timeseries", "Model performance: estimated vs realized",
              ((f'obs_model_performance{{dataset=~"$dataset",kind=~"estimated|realized|evaluation"}}',
                "{{dataset}} {{metric}} {{kind}}"),), 16, 8,
              "Estimated without labels (CBPE, from calibrated scores) on each new batch, the model's evaluation, "
              "and realized once the labels arrived.", bounds=(0, 1)),
        Panel("timeseries", "Estimation error (realized - estimated)",
              ((f"obs_model_estimation_error{DATASET}", "{{dataset}} {{metric}}"),), 8, 8),
    )),
    ("Volume, freshness, duration", (
        Panel("timeseries", "Row count (latest materialization)", ((f"obs_dataset_row_count{DATASET}", "{{dataset}}"),),
              8, 8),
        Panel("bargauge", "Freshness (since last COMPLETE)",
              ((f"obs_dataset_freshness_seconds{DATASET}", "{{dataset}}"),), 8, 8, unit="s", instant=True),
        Panel("timeseries", "Materialization duration (latest run)",
              ((f"obs_materialization_duration_seconds{DATASET}", "{{dataset}}"),), 8, 8, unit="s"),
    )),
    ("Lineage delivery, ingest and RCA", (
        Panel("timeseries", "Outbox backlog per worker", (("obs_outbox_backlog", "{{worker}} pending"),
                                                          ("obs_outbox_dead_letters", "{{worker}} rejected"),
                                                          ("obs_lineage_spool_files", "{{worker}} spool files")), 8, 7,
              "Each worker's last report: events waiting in its outbox, rejected ones kept for replay, "
              "hand-over files in the shared spool."),
        Panel("timeseries", "Oldest pending event", (("obs_outbox_oldest_age_seconds", "{{worker}}"),), 8, 7,
              unit="s"),
        Panel("timeseries", "Root-cause analysis", (("increase(obs_rca_requests_total[1h])", "requests / h"),
                                                    ("increase(obs_rca_candidates_found_total[1h])", "candidates / h")),
              8, 7),
        Panel("timeseries", "Events stored with schema warnings", (("obs_lineage_events_with_warnings", "events"),
                                                                   ("obs_lineage_event_warnings", "warnings")), 12, 7,
              "Events stored by lenient ingest with schema warnings (GET /api/v1/lineage/warnings)."),
        Panel("timeseries", "Ingest rate", (("sum by (producer, outcome) (rate(obs_ingest_events_total[5m]))",
                                             "{{producer}} {{outcome}}"),), 12, 7,
              "OpenLineage events per second that POST /api/v1/lineage accepted or rejected, per producer.",
              unit="ops"),
        Panel("timeseries", "Worker report age", (("obs_outbox_report_age_seconds", "{{worker}} ({{source}})"),),
              12, 7, "Seconds since each worker last reported its outbox (source=local: read on the obs serve host).",
              unit="s"),
    )),
)


def _target(expr: str, legend: str, ref: str, instant: bool) -> g.Target:
    return g.Target(expr=expr, legendFormat=legend, refId=ref, instant=instant, datasource=DATASOURCE,
                    format="table" if instant else "time_series")


def _field_config(panel: Panel) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit}
    if panel.bounds:
        defaults["min"], defaults["max"] = panel.bounds
    if panel.bounds == (0, 100):
        defaults["thresholds"] = {"mode": "absolute",
                                  "steps": [{"color": color, "value": value} for color, value in HEALTH_STEPS]}
    return {"fieldConfig": {"defaults": defaults, "overrides": []}}


_KINDS = {"stat": g.Stat, "timeseries": g.TimeSeries, "bargauge": g.BarGauge, "table": g.Table}


def _panel(panel: Panel, pos: g.GridPos) -> g.Panel:
    targets = [_target(expr, legend, chr(ord("A") + i), panel.instant) for i, (expr, legend) in enumerate(panel.targets)]
    return _KINDS[panel.kind](title=panel.title, description=panel.description, dataSource=DATASOURCE,
                              targets=targets, gridPos=pos, extraJson={**_field_config(panel), **panel.extra})


def _layout() -> list[g.Panel]:
    panels: list[g.Panel] = []
    y = 0
    for title, section in SECTIONS:
        panels.append(g.RowPanel(title=title, gridPos=g.GridPos(h=1, w=24, x=0, y=y)))
        y, x, row_height = y + 1, 0, 0
        for panel in section:
            if x + panel.width > 24:
                y, x, row_height = y + row_height, 0, 0
            panels.append(_panel(panel, g.GridPos(h=panel.height, w=panel.width, x=x, y=y)))
            x, row_height = x + panel.width, max(row_height, panel.height)
        y += row_height
    return panels


def _templating() -> g.Templating:
    datasource = g.Template(name="DS_PROMETHEUS", label="Data source", type="datasource", query="prometheus")
    dataset = g.Template(name="dataset", label="Dataset", dataSource=DATASOURCE, type="query",
                         query="label_values(obs_dataset_row_count, dataset)", includeAll=True, multi=True,
                         allValue=".*", refresh=2, sort=1, default="$__all")
    return g.Templating(list=[datasource, dataset])


def dashboard() -> g.Dashboard:
    return g.Dashboard(
        title="Data observability", uid="obs-data-observability", schemaVersion=39, refresh="1m", graphTooltip=1,
        description="Data observability: asset health, incidents, checks, drift, freshness and lineage delivery "
                    "(metrics from the lineage API's /metrics).",
        tags=["observability", "openlineage", "data-quality"], time=g.Time("now-24h", "now"),
        panels=_layout(), templating=_templating(),
        inputs=[g.DataSourceInput(name="DS_PROMETHEUS", label="Prometheus", pluginId="prometheus",
                                  pluginName="Prometheus")],
    ).auto_panel_ids()


def render() -> str:
    data = json.loads(json.dumps(dashboard().to_json_data(), cls=DashboardEncoder))
    # The variable query as Grafana >= 10 stores it, so the dashboard imports without an edit.
    for variable in data["templating"]["list"]:
        if variable["type"] == "query":
            variable["definition"] = variable["query"]
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    target = Path((argv or sys.argv[1:] or [str(OUTPUT)])[0])
    target.write_text(render())
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

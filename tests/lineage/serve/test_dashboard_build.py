"""The Grafana dashboard is generated from code: the committed JSON is exactly what the builder makes."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("grafanalib", reason="grafanalib (the test extra) builds the dashboard")

from lineage.serve.dashboards import build  # noqa: E402


def test_committed_dashboard_is_the_generated_one() -> None:
    assert build.OUTPUT.read_text() == build.render(), (
        "obs_grafana.json is stale: run `python -m lineage.serve.dashboards.build`")


def test_every_panel_is_laid_out_without_overlap() -> None:
    panels = json.loads(build.render())["panels"]
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine


def test_sections_cover_incidents_checks_drift_freshness_and_delivery() -> None:
    titles = {title for title, _ in build.SECTIONS}
    assert {"Health", "Incidents", "Data quality", "Drift", "Volume, freshness, duration"} <= titles
    assert any("delivery" in title for title in titles)

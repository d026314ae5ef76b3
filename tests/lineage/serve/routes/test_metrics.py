"""``GET /metrics``: Prometheus text that Prometheus' own parser reads, without a token."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def test_metrics_need_no_token_and_parse_as_prometheus_text(api) -> None:
    response = api.get("/metrics", headers={"Authorization": ""})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    rows = {s.labels.get("dataset"): s.value for s in families["obs_dataset_row_count"].samples}
    assert rows.get("raw.loans", rows.get("warehouse://test/raw.loans")) == 1000


def test_the_registry_is_built_once_and_reflects_new_events(api) -> None:
    first = api.get("/metrics").text
    second = api.get("/metrics").text
    assert "obs_check_failed" in first and first.count("# TYPE obs_dataset_row_count") == 1
    assert second.count("# TYPE obs_dataset_row_count") == 1

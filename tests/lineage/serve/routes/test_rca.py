"""``GET /api/v1/rca``: the injected fault is the top cause; bad partition keys and missing tokens refused."""

from __future__ import annotations

FAULTY_DAY = "2026-03-03"  # the null burst of the routes conftest


def test_the_injected_null_burst_is_the_top_cause(api) -> None:
    response = api.get("/api/v1/rca", params={"name": "clean.loans", "partition": FAULTY_DAY})
    assert response.status_code == 200, response.text
    top = response.json()["candidates"][0]
    assert (top["asset"], top["column"], top["kind"]) == ("raw.loans", "income", "null_burst")


def test_without_a_name_the_latest_failure_is_analysed(api) -> None:
    response = api.get("/api/v1/rca")
    assert response.status_code == 200
    assert response.json()["candidates"][0]["asset"] == "raw.loans"


def test_a_malformed_partition_key_is_a_422_naming_it(api) -> None:
    response = api.get("/api/v1/rca", params={"name": "clean.loans", "partition": "03/03/2026;DROP"})
    assert response.status_code == 422 and "partition" in response.text


def test_the_token_is_required(api) -> None:
    assert api.get("/api/v1/rca", headers={"Authorization": "Bearer wrong"}).status_code == 401

"""``/api/v1/incidents``: list, one incident, acknowledge and resolve; 404 / 409 / 422 with reasons."""

from __future__ import annotations

FAULTY_DAY = "2026-03-03"  # the null burst of the routes conftest


def _the_incident(api) -> dict:
    [incident] = api.get("/api/v1/incidents").json()["incidents"]
    return incident


def test_the_fault_is_one_open_incident_with_its_cause(api) -> None:
    incident = _the_incident(api)
    assert incident["status"] == "open" and incident["partitions"] == [FAULTY_DAY]
    assert (incident["cause"]["asset"], incident["cause"]["column"]) == ("raw.loans", "income")
    one = api.get(f"/api/v1/incidents/{incident['id']}").json()
    assert one["id"] == incident["id"] and one["timeline"]


def test_ack_then_resolve_records_who_and_a_second_resolve_conflicts(api) -> None:
    ident = _the_incident(api)["id"]
    acked = api.post(f"/api/v1/incidents/{ident}/ack", json={"by": "alice"})
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    assert api.get("/api/v1/incidents", params={"status": "acknowledged"}).json()["incidents"][0]["id"] == ident
    resolved = api.post(f"/api/v1/incidents/{ident}/resolve", json={"by": "alice"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert any("alice" in str(step) for step in resolved.json()["timeline"])
    again = api.post(f"/api/v1/incidents/{ident}/ack")
    assert again.status_code == 409 and again.json()["error"] == "incident_conflict"


def test_unknown_ids_bad_filters_and_missing_tokens_are_refused(api) -> None:
    missing = api.get("/api/v1/incidents/999")
    assert missing.status_code == 404 and missing.json()["error"] == "incident_not_found"
    assert api.get("/api/v1/incidents/0").status_code == 422
    assert api.get("/api/v1/incidents", params={"status": "closed"}).status_code == 422
    assert api.get("/api/v1/incidents", headers={"Authorization": ""}).status_code == 401

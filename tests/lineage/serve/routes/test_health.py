"""``GET /healthz``: the store answers, without a token."""

from __future__ import annotations


def test_healthz_needs_no_token_and_names_the_backend(api) -> None:
    response = api.get("/healthz", headers={"Authorization": ""})
    assert response.status_code == 200 and response.json() == {"status": "ok", "backend": "sqlite"}

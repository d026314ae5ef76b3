"""How API errors become JSON responses: our ApiError, query errors, an unavailable database (503, no
driver text), and any other exception (a logged JSON 500 that keeps the connection)."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from lineage.graph import queries
from lineage.serve.errors import ApiError, ErrorBoundary, cause_of, install_error_handlers

SECRET_VALUE = "customer 4711 earns 98765"


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(ErrorBoundary)

    @app.get("/api-error/{status}")
    def api_error(status: int):
        raise ApiError(status, "bad_thing", "what went wrong", hint="do this")

    @app.get("/ambiguous")
    def ambiguous():
        raise queries.AmbiguousNameError("two datasets named x", [{"namespace": "a", "name": "x"},
                                                                  {"namespace": "b", "name": "x"}])

    @app.get("/db")
    def db():
        raise OperationalError("SELECT ...", {"v": SECRET_VALUE}, sqlite3.OperationalError("database or disk is full"))

    @app.get("/bug")
    def bug():
        raise RuntimeError(SECRET_VALUE)

    return TestClient(app, raise_server_exceptions=False)


def test_api_error_is_its_code_message_and_extras(client) -> None:
    response = client.get("/api-error/422")
    assert response.status_code == 422
    assert response.json() == {"error": "bad_thing", "message": "what went wrong", "hint": "do this"}
    unauthorized = client.get("/api-error/401")
    assert unauthorized.headers["WWW-Authenticate"] == "Bearer"


def test_a_server_side_api_error_is_logged(client, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="lineage.serve"):
        assert client.get("/api-error/503").status_code == 503
    assert "503 for GET /api-error/503: what went wrong" in caplog.text


def test_an_ambiguous_name_lists_the_candidates(client) -> None:
    response = client.get("/ambiguous")
    assert response.status_code == 409 and response.json()["error"] == "AmbiguousNameError"
    assert [c["namespace"] for c in response.json()["candidates"]] == ["a", "b"]


def test_an_unavailable_database_is_503_with_the_cause_logged_not_sent(client, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="lineage.serve"):
        response = client.get("/db")
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.json()["error"] == "store_unavailable" and SECRET_VALUE not in response.text
    assert "OperationalError: database or disk is full" in caplog.text


def test_any_other_exception_is_a_json_500_without_its_message(client, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="lineage.serve"):
        response = client.get("/bug")
    assert response.status_code == 500 and response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "internal_error" and SECRET_VALUE not in response.text
    assert "500 for GET /bug: RuntimeError" in caplog.text


def test_cause_of_names_the_driver_error_on_one_short_line() -> None:
    exc = OperationalError("SELECT 1", {}, sqlite3.OperationalError("disk I/O error\nmore detail"))
    assert cause_of(exc) == "OperationalError: disk I/O error"
    assert cause_of(ValueError("x" * 500)) == "ValueError: " + "x" * 200

"""Shared fixtures: real Dagster runs of the reference pipelines on small seeded data."""

from __future__ import annotations

import os
from pathlib import Path

# Two xdist workers share two cores: OpenMP (sklearn's gradient boosting) on every core per worker
# oversubscribes them and runs many times slower. Set before anything imports sklearn.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

from helpers.pipeline import DAILY, MODEL, SMALL, Pipeline, require_service  # noqa: F401 - re-exported for tests

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    # Tests never read a developer's fault plan or write into the project's .dagster_home.
    monkeypatch.delenv("OBS_FAULT_PLAN", raising=False)
    monkeypatch.delenv("OBS_DATA_DIR", raising=False)
    monkeypatch.delenv("OBS_LINEAGE_SPOOL", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    # Starlette's TestClient sends `Host: testserver`; the API serves loopback names only by default.
    monkeypatch.setenv("OBS_ALLOWED_HOSTS", "testserver")
    (tmp_path / "dagster_home").mkdir()
    yield


@pytest.fixture
def make_pipeline(tmp_path):
    counter = iter(range(1000))

    def make(**kwargs) -> Pipeline:
        return Pipeline(tmp_path / f"data{next(counter)}", **kwargs)

    return make

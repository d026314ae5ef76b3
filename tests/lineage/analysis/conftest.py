"""Fixtures of the RCA tests: an event recorder that ingests into a real SQLite store."""

from __future__ import annotations

import pytest
from helpers.rca_events import Events


@pytest.fixture
def events(tmp_path) -> Events:
    return Events(tmp_path)

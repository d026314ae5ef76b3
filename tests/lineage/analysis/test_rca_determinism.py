"""The same store gives the same RCA answer in every process (hash seeds differ), timings aside."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.partitioned_events import day

from lineage.store import LineageStore

OBS = [str(Path(sys.executable).with_name("obs"))]
RUNS = 10


def _obs(*args: str) -> str:
    done = subprocess.run([*OBS, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow  # twenty fresh processes
def test_ten_processes_print_the_same_answer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    store = LineageStore.open(url)
    for clean_day in range(6):
        store.ingest(day(clean_day))
    store.ingest(day(6, nulls=300))
    store.dispose()
    ask = ["rca", "clean.loans", "--partition", "2026-03-07", "--db", url]

    answers = []
    for _ in range(RUNS):
        answer = json.loads(_obs(*ask, "--json"))
        answer.pop("elapsed_ms", None)
        answers.append(answer)
    assert all(a == answers[0] for a in answers), "JSON answers differ between processes"
    assert answers[0]["candidates"][0]["asset"] == "raw.loans"

    texts = {re.sub(r"\d+ ms", "N ms", _obs(*ask)) for _ in range(RUNS)}
    assert len(texts) == 1, texts
    [text] = texts
    # The printed path is the JSON's column path: symptom first, each hop in order, the cause last.
    top = answers[0]["candidates"][0]
    line = next(row for row in text.splitlines() if row.startswith("1. "))
    hops = list(reversed(top["column_path"]))
    assert len(hops) >= 2
    positions = [line.find(hop) for hop in hops]
    assert -1 not in positions and positions == sorted(positions), (line, hops)
    assert line.count("←") == len(hops) - 1, line

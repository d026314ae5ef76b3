"""Load the producer corpus: real OpenLineage events of dbt, Spark, Hive, Airflow and Marquez.

Plain functions over the files in tests/data/producers (``from helpers import producer_corpus``),
or simply read the files: a `.jsonl` holds one event per line, a `.json` one event (or a list).
README.md lists the files and what each shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2] / "data" / "producers"
EVENT_SUFFIXES = (".json", ".jsonl")
# Folders of this corpus that hold events, by producer.
PRODUCERS = ("dbt", "spark", "hive", "airflow", "compatibility", "marquez")
OPENAPI = ROOT / "marquez" / "openapi.yml"


def files(producer: str | None = None) -> list[Path]:
    """Event files of one producer folder (all producers when None), sorted; the dbt project excluded."""
    folders = [producer] if producer else list(PRODUCERS)
    found: list[Path] = []
    for folder in folders:
        base = ROOT / folder
        if not base.is_dir():
            raise ValueError(f"no producer folder {folder!r} in {ROOT} (have: {', '.join(PRODUCERS)})")
        found += [p for p in base.rglob("*") if p.suffix in EVENT_SUFFIXES and "project" not in p.relative_to(ROOT).parts]
    return sorted(found)


def read(path: Path | str) -> list[dict[str, Any]]:
    """The events of one file, in file order."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    value = json.loads(text)
    return value if isinstance(value, list) else [value]


def load(producer: str | None = None) -> list[dict[str, Any]]:
    """All events of one producer folder (all producers when None), file by file in name order."""
    return [event for path in files(producer) for event in read(path)]


def name(path: Path) -> str:
    """A file's corpus id, e.g. 'dbt/events.jsonl' (stable test ids)."""
    return path.relative_to(ROOT).as_posix()

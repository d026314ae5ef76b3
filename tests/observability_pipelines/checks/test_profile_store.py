"""The drift store's binary profile files: what is loaded is what was profiled (bit for bit, and the drift
result from it is the one from the JSON form), the JSON files of the earlier version are still read, and a
torn or foreign file reads as missing (the partition is then read through the IO manager)."""

from __future__ import annotations

import json
import uuid

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from upath import UPath

from observability_pipelines.checks.drift_observer import pipeline_drift_config
from observability_pipelines.checks.drift_store import DriftStore
from observability_pipelines.checks.profile_drift import detect_drift_from_profiles
from observability_pipelines.checks.profiles import MAGIC, ColumnProfile, decode_record, encode_record, profile_record

KEY = dg.AssetKey(["shop", "orders"])
COLUMNS = ["amount", "small", "region", "level", "empty"]


def _frame(rng, n: int, shift: float = 0.0) -> pd.DataFrame:
    amount = rng.gamma(4, 12 + shift, n)
    amount[rng.random(n) < 0.05] = np.nan
    amount[:3] = np.inf
    return pd.DataFrame({
        "amount": amount,  # sketched (more than EXACT_LIMIT values), with nulls and infs
        "small": np.where(np.arange(n) < 500, rng.normal(size=n), np.nan),  # few values: kept exactly
        "region": pd.Series(rng.choice(["north", "south", None], n), dtype=object),
        "level": rng.integers(0, 4, n),  # exact counts
        "empty": np.full(n, np.nan),  # no finite value: no quantiles at all
    })


def _records(seed: int = 3, days: int = 6) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [profile_record(_frame(rng, int(rng.integers(3000, 6000))), COLUMNS, f"run-{d}") for d in range(days)]


def _profiles(record: dict) -> dict[str, ColumnProfile]:
    return {c: ColumnProfile.from_dict(p) for c, p in record["columns"].items()}


@pytest.fixture(params=["local", "memory"])
def store(request, tmp_path) -> DriftStore:
    root = UPath(tmp_path) if request.param == "local" else UPath(f"memory://obs-{uuid.uuid4().hex}")
    return DriftStore(root)


def test_a_stored_profile_loads_bit_for_bit_and_gives_the_json_forms_drift_result(store):
    records = _records()
    for day, record in enumerate(records):
        store.save_profile(KEY, str(day), record)
    loaded = [store.load_profile(KEY, str(day)) for day in range(len(records))]
    via_json = [json.loads(json.dumps(r)) for r in records]  # the form the store kept before
    for ours, reference in zip(loaded, via_json):
        assert {k: v for k, v in ours.items() if k != "columns"} == {k: v for k, v in reference.items() if k != "columns"}
        for name, expected in _profiles(reference).items():
            got = _profiles(ours)[name]
            assert got.quantiles.tobytes() == expected.quantiles.tobytes(), name
            assert {**got.__dict__, "quantiles": None} == {**expected.__dict__, "quantiles": None}, name
    current = _frame(np.random.default_rng(9), 4000, shift=3.0)
    config = pipeline_drift_config()
    ours = detect_drift_from_profiles(loaded, current, COLUMNS, config)
    reference = detect_drift_from_profiles(via_json, current, COLUMNS, config)
    assert ours is not None and ours.to_dict() == reference.to_dict()
    assert ours.columns["amount"].drifted  # the comparison decides something
    assert _profiles(loaded[0])["small"].exact and not len(_profiles(loaded[0])["empty"].quantiles)


def test_an_earlier_versions_json_profile_is_read_and_replaced_on_save(tmp_path):
    store = DriftStore(UPath(tmp_path))
    record = _records(days=1)[0]
    old = store._path("_profiles", KEY, "2026-01-01", ".json")
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps(record, sort_keys=True))  # as the JSON store wrote it
    assert store.load_profile(KEY, "2026-01-01") == json.loads(json.dumps(record))
    store.save_profile(KEY, "2026-01-01", record)
    assert not old.exists() and store._path("_profiles", KEY, "2026-01-01").exists()
    assert _profiles(store.load_profile(KEY, "2026-01-01"))["amount"].count == record["columns"]["amount"]["count"]


def _broken(data: bytes) -> list[bytes]:
    size = int.from_bytes(data[len(MAGIC):len(MAGIC) + 8], "little")
    header = data[len(MAGIC) + 8:len(MAGIC) + 8 + size]
    too_far = header.replace(b'"quantiles": [0, ', b'"quantiles": [99999999, ', 1)
    assert too_far != header
    return [b"", data[:5], data[:len(MAGIC) + 4], data[: len(data) // 2], data[:-3], b"OBSPROF9" + data[8:],
            json.dumps({"version": 2}).encode(), data[:len(MAGIC)] + (10**9).to_bytes(8, "little") + data[16:],
            data[:len(MAGIC) + 8] + too_far + data[len(MAGIC) + 8 + size:],
            data[:len(MAGIC) + 8] + b"[" + header[1:] + data[len(MAGIC) + 8 + size:]]


def test_a_torn_or_foreign_profile_file_reads_as_missing(tmp_path):
    store = DriftStore(UPath(tmp_path))
    record = _records(days=1)[0]
    data = encode_record(record)
    assert decode_record(data) is not None
    for bad in _broken(data):
        assert decode_record(bad) is None
        store._path("_profiles", KEY, "d").parent.mkdir(parents=True, exist_ok=True)
        store._path("_profiles", KEY, "d").write_bytes(bad)
        assert store.load_profile(KEY, "d") is None
    assert store.load_profile(KEY, "never-profiled") is None


def test_flagged_lists_what_is_flagged_and_agrees_with_is_flagged(store):
    keys = [f"2026-01-{d:02d}" for d in range(1, 29)] + ["a/b", "static key"]
    assert store.flagged(KEY, keys) == set()  # no flag folder yet
    for key in ("2026-01-03", "2026-01-17", "a/b", "static key"):
        store.set_flag(KEY, key, "drift amount")
    store.set_flag(KEY, "2026-01-17", None)  # cleared
    store.set_flag(dg.AssetKey("other"), "2026-01-05", "drift")  # another asset's flag
    assert store.flagged(KEY, keys) == {"2026-01-03", "a/b", "static key"}
    assert store.flagged(KEY, keys) == {k for k in keys if store.is_flagged(KEY, k)}
    assert store.flagged(KEY, ["2026-01-04"]) == set()

"""The run index answers as the instance does (``history.latest_runs``) through re-materializations, new
partitions and a lost or torn index file, while reading only the records written since the previous call."""

from __future__ import annotations

import dagster as dg
import pytest
from upath import UPath

from observability_pipelines.checks.drift_store import DriftStore
from observability_pipelines.checks.history import latest_runs
from observability_pipelines.checks.run_index import INDEX_NAME, indexed_latest_runs

DAILY = dg.DailyPartitionsDefinition(start_date="2026-03-01")
KEYS = DAILY.get_partition_keys()[:8]


@dg.asset(partitions_def=DAILY)
def orders() -> int:
    return 1


class CountingInstance:
    """The real instance, counting the records its ``fetch_materializations`` returns."""

    def __init__(self, instance: dg.DagsterInstance):
        self.instance, self.records = instance, 0

    def fetch_materializations(self, *args, **kwargs):
        page = self.instance.fetch_materializations(*args, **kwargs)
        self.records += len(page.records)
        return page


@pytest.fixture
def setup(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance, DriftStore(UPath(tmp_path / "state"))


def _materialize(instance, *keys):
    for key in keys:
        assert dg.materialize([orders], partition_key=key, instance=instance).success


def test_the_index_answers_as_the_instance_through_rematerializations_and_new_partitions(setup):
    instance, store = setup
    key = orders.key
    _materialize(instance, *KEYS[:5])
    counting = CountingInstance(instance)
    assert indexed_latest_runs(counting, store, key, KEYS) == latest_runs(instance, key, KEYS)
    first = counting.records
    assert first == 6  # the newest record (the cursor) and one per materialized partition
    _materialize(instance, KEYS[2], KEYS[6])  # a re-materialization and a new partition
    counting.records = 0
    answer = indexed_latest_runs(counting, store, key, KEYS)
    assert answer == latest_runs(instance, key, KEYS) and set(answer) == {*KEYS[:5], KEYS[6]}
    assert counting.records == 3  # only the records since the previous call, and the cursor's own
    counting.records = 0
    assert indexed_latest_runs(counting, store, key, KEYS[:4]) == latest_runs(instance, key, KEYS[:4])
    assert counting.records == 1


def test_a_lost_or_foreign_index_is_rebuilt_from_the_instance(setup):
    instance, store = setup
    key = orders.key
    _materialize(instance, *KEYS[:3])
    indexed_latest_runs(instance, store, key, KEYS)
    for broken in ({"cursor": "x", "runs": []}, None):
        path = store._path("_state", key, INDEX_NAME)
        path.write_text("{torn" if broken is None else __import__("json").dumps(broken))
        assert indexed_latest_runs(instance, store, key, KEYS) == latest_runs(instance, key, KEYS)


def test_a_wiped_history_is_not_answered_from_the_index(setup):
    instance, store = setup
    key = orders.key
    _materialize(instance, *KEYS[:4])
    assert set(indexed_latest_runs(instance, store, key, KEYS)) == set(KEYS[:4])
    instance.wipe_assets([key])
    assert indexed_latest_runs(instance, store, key, KEYS) == {}
    _materialize(instance, KEYS[5])
    assert indexed_latest_runs(instance, store, key, KEYS) == latest_runs(instance, key, KEYS)
    assert set(latest_runs(instance, key, KEYS)) == {KEYS[5]}


def test_the_index_stays_bounded_and_forgets_only_what_it_can_ask_again(setup, monkeypatch):
    import observability_pipelines.checks.run_index as run_index

    instance, store = setup
    key = orders.key
    monkeypatch.setattr(run_index, "MAX_ENTRIES", 3)
    _materialize(instance, *KEYS[:6])
    assert indexed_latest_runs(instance, store, key, KEYS[:2]) == latest_runs(instance, key, KEYS[:2])
    assert indexed_latest_runs(instance, store, key, KEYS[3:6]) == latest_runs(instance, key, KEYS[3:6])
    assert len(store.load_state(key, INDEX_NAME)["runs"]) <= 6
    assert indexed_latest_runs(instance, store, key, KEYS) == latest_runs(instance, key, KEYS)

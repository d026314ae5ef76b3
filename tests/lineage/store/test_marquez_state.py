"""Writes of Marquez's API into the store (namespaces, tags, soft deletes), on SQLite and PostgreSQL:
idempotent upserts, a re-put namespace is undeleted, tagging creates the tag once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from lineage.store import LineageStore
from lineage.store import marquez_state as state
from lineage.store.marquez_tables import mq_dataset_tags, mq_namespaces, mq_tags

T1, T2, T3 = datetime(2026, 3, 1, 8), datetime(2026, 3, 2, 9), datetime(2026, 3, 3, 10)


def test_a_namespace_put_twice_keeps_its_creation_and_takes_the_new_owner(store: LineageStore) -> None:
    with store.write() as conn:
        state.put_namespace(conn, "etl", "alice", "first", T1)
        state.put_namespace(conn, "etl", "bob", None, T2)
    with store.read() as conn:
        [row] = conn.execute(select(mq_namespaces).where(mq_namespaces.c.name == "etl")).mappings().all()
    assert (row["owner_name"], row["description"]) == ("bob", None)
    assert (row["created_at"].replace(tzinfo=None), row["updated_at"].replace(tzinfo=None)) == (T1, T2)


def test_soft_delete_is_recorded_once_with_the_latest_time_and_a_put_undeletes(store: LineageStore) -> None:
    with store.write() as conn:
        state.put_namespace(conn, "etl", "alice", None, T1)
        state.soft_delete(conn, "namespace", "etl", "", T2)
        state.soft_delete(conn, "namespace", "etl", "", T3)
        state.soft_delete(conn, "dataset", "etl", "orders", T2)
    with store.read() as conn:
        assert state.deleted_at(conn, "namespace", "etl", "").replace(tzinfo=None) == T3
        assert state.deleted_at(conn, "dataset", "etl", "orders").replace(tzinfo=None) == T2
        assert state.deleted_at(conn, "job", "etl", "orders") is None  # kinds are kept apart
    with store.write() as conn:
        state.put_namespace(conn, "etl", "alice", None, T3)
    with store.read() as conn:
        assert state.deleted_at(conn, "namespace", "etl", "") is None
        assert state.deleted_at(conn, "dataset", "etl", "orders") is not None  # only the namespace itself


def test_tagging_creates_the_tag_once_and_keeps_a_description_set_before(store: LineageStore) -> None:
    with store.write() as conn:
        state.put_tag(conn, "PII", "personal data", T1)
        for field in ("", "email", "email"):  # the dataset, then one field twice
            state.tag_dataset(conn, "db", "customers", field, "PII", T2)
        state.tag_dataset(conn, "db", "customers", "", "GOLD", T2)  # an unknown tag is created
        state.put_tag(conn, "GOLD", "curated", T3)
    with store.read() as conn:
        tags = dict(conn.execute(select(mq_tags.c.name, mq_tags.c.description)).all())
        tagged = conn.execute(select(mq_dataset_tags.c.field, mq_dataset_tags.c.tag)
                              .order_by(mq_dataset_tags.c.tag, mq_dataset_tags.c.field)).all()
        count = conn.execute(select(func.count()).select_from(mq_tags)).scalar_one()
    assert tags == {"PII": "personal data", "GOLD": "curated"} and count == 2
    assert [tuple(r) for r in tagged] == [("", "GOLD"), ("", "PII"), ("email", "PII")]

"""RCA's per-store cache and its ancestry-only lineage never change an answer: cached answers equal a fresh
store object's, new events are seen, and the ancestry-only lineage ranks as the full graph does."""

from __future__ import annotations

from helpers.rca_events import NS, Events, metrics, numeric

from sqlalchemy import func, select

from lineage import facets as f
from lineage.analysis import rca
from lineage.analysis.observations import load_snapshots
from lineage.analysis.rca_cache import cache_for
from lineage.graph.cache import graph_for
from lineage.store import LineageStore, reads
from lineage.store import tables as t
from lineage.store.retention import quarantine

DAYS = [f"2026-03-{d:02d}" for d in range(1, 8)]
SOURCES = 13  # more than weights.seasonal_sources: the ancestry alone holds the day's volume level


def _day(events: Events, day: str, *, nulls: int = 0, sources: int = 1) -> None:
    """src_00..src_NN → mid (amount from src_00.amount) → sink, one partition."""
    rows = 100
    names = [f"src_{i:02d}" for i in range(sources)]
    for name in names:
        events.run(name, partition=day, outputs={name: {
            "dataQualityMetrics": metrics(rows, amount=numeric(rows, nulls if name == "src_00" else 0)),
            "outputStatistics": f.OutputStatisticsFacet.build(rows)}})
    for name, inputs, col_src in (("mid", names, "src_00"), ("sink", ["mid"], "mid")):
        events.run(name, inputs=inputs, partition=day, outputs={name: {
            "dataQualityMetrics": metrics(rows, amount=numeric(rows, nulls)),
            "outputStatistics": f.OutputStatisticsFacet.build(rows),
            "columnLineage": f.ColumnLineageFacet.build({"amount": [(NS, col_src, "amount")]})}})


def _answer(store: LineageStore, day: str) -> dict:
    found = rca.analyze(store, "sink", partition=day).as_dict()
    found.pop("elapsed_ms")
    return found


def test_cached_answers_equal_a_fresh_stores_and_follow_new_events(events: Events) -> None:
    for day in DAYS[:-1]:
        _day(events, day)
    store = events.store()
    url = str(store.engine.url)
    first = _answer(store, DAYS[-2])
    cache = cache_for(store)
    read = cache.datasets_read
    assert _answer(store, DAYS[-2]) == first and cache.datasets_read == read  # warm: nothing re-read
    before = len(events.events)
    _day(events, DAYS[-1], nulls=40)
    with LineageStore.open(url) as writer:  # another store object, as another process would
        assert writer.ingest(events.events[before:]).stored == len(events.events) - before
    warm = _answer(store, DAYS[-1])
    with LineageStore.open(url) as fresh:
        assert warm == _answer(fresh, DAYS[-1])
    assert warm["candidates"][0]["asset"] == "src_00" and warm["candidates"][0]["kind"] == "null_burst"
    assert cache.datasets_read - read == 3  # src_00, mid, sink: each touched by the new day's events
    store.dispose()


def test_cached_snapshots_equal_a_fresh_load_after_a_quarantine(events: Events) -> None:
    for day in DAYS[:4]:
        _day(events, day, nulls=30 if day == DAYS[3] else 0)
    store = events.store()
    cache = cache_for(store)
    with store.read() as conn:
        ids = sorted(reads.dataset_names(conn, range(1, 10)))
        kept = cache.load(conn, ids)
        e = t.events.c
        first = conn.execute(select(e.id).where(e.job_name == "sink", e.event_type == "COMPLETE")
                             .order_by(e.event_time)).first()[0]
        assert first < conn.execute(select(func.max(e.id))).scalar_one()  # no id probe sees this deletion
    quarantine(store, event_id=first, reason="test")  # sink's first COMPLETE: its facets go
    with store.read() as conn:
        fresh = load_snapshots(conn, ids)
        assert fresh != kept  # the quarantined COMPLETE changed what the store says
        assert cache.load(conn, ids) == fresh
    store.dispose()


def test_ancestry_lineage_ranks_as_the_full_graph(events: Events, monkeypatch) -> None:
    for day in DAYS[:-1]:
        _day(events, day, sources=SOURCES)
    _day(events, DAYS[-1], nulls=40, sources=SOURCES)
    store = events.store()
    partial = _answer(store, DAYS[-1])
    assert cache_for(store).lineages_built == 1 and not graph_for(store)._units  # no full graph was built
    with LineageStore.open(str(store.engine.url)) as full_store:
        monkeypatch.setattr(rca, "upstream_graph", lambda *a: (_ for _ in ()).throw(AssertionError("not used")))
        monkeypatch.setattr(rca, "_build_lineage", lambda s, i, t: rca._lineage_in(graph_for(s), i, t, walk=True))
        full = _answer(full_store, DAYS[-1])
    assert partial == full
    top = partial["candidates"][0]
    assert (top["asset"], top["column"], top["kind"]) == ("src_00", "amount", "null_burst")
    assert top["column_path"] == ["src_00.amount", "mid.amount", "sink.amount"]
    store.dispose()


def test_kept_evidence_answers_as_a_fresh_store_for_every_question_and_follows_new_events(events: Events) -> None:
    for day in DAYS[:-1]:
        _day(events, day, nulls=40 if day == DAYS[3] else 0, sources=3)
    store = events.store()
    url = str(store.engine.url)
    cache = cache_for(store)
    asked = [_answer(store, day) for day in DAYS[:-1]]
    built = cache.judgements_built
    assert built == len(DAYS) - 1  # one per question (symptom version, partition)
    assert [_answer(store, day) for day in reversed(DAYS[:-1])] == asked[::-1]  # warm: only ranked again
    assert cache.judgements_built == built
    with LineageStore.open(url) as fresh:
        assert [_answer(fresh, day) for day in DAYS[:-1]] == asked
    assert asked[3]["candidates"][0]["kind"] == "null_burst" and asked[3] != asked[2]
    before = len(events.events)
    _day(events, DAYS[-1], nulls=40, sources=3)
    with LineageStore.open(url) as writer:
        writer.ingest(events.events[before:])
    warm = _answer(store, DAYS[-2])  # an old question after new events: judged again, same answer
    assert cache.judgements_built == built + 1 and warm == asked[-1]
    with LineageStore.open(url) as fresh:
        assert _answer(store, DAYS[-1]) == _answer(fresh, DAYS[-1])
    store.dispose()

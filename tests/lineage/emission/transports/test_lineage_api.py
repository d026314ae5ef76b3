"""``type: obs_lineage_api``: batches to the real lineage API (uvicorn on loopback, a SQLite store)."""

from __future__ import annotations

import pytest
from helpers.emission_events import run_events
from helpers.lineage_live import LiveServer
from openlineage.client.transport import get_default_factory

from lineage.emission.delivery import flush
from lineage.emission.outbox import Outbox
from lineage.emission.transports import DeliveryError, LineageApiConfig, LineageApiTransport
from lineage.serve.api import create_app
from lineage.store import LineageStore

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    store = LineageStore.open(f"sqlite:///{tmp_path_factory.mktemp('api') / 'lineage.db'}")
    with LiveServer(create_app(store, token=TOKEN)) as server:
        yield server, store
    store.dispose()


def _transport(url: str, api_key: str | None = TOKEN) -> LineageApiTransport:
    return get_default_factory().create({"type": "obs_lineage_api", "url": url, "api_key": api_key})


def test_a_batch_is_one_request_and_every_event_is_stored(api, tmp_path):
    server, store = api
    before = store.event_count()
    outbox = Outbox(tmp_path / "o.db")
    outbox.append(run_events(3, per_run=2))
    transport = _transport(server.url)
    assert isinstance(transport, LineageApiTransport) and transport.max_batch >= 6
    assert flush(outbox, transport).delivered == 6
    assert store.event_count() == before + 6
    transport.close()


def test_a_refused_event_in_a_batch_goes_dead_and_the_others_are_stored(api, tmp_path):
    """The API answers 207 naming the refused event; it must not be counted as delivered."""
    server, store = api
    before = store.event_count()
    good = run_events(2, per_run=2)
    outbox = Outbox(tmp_path / "o.db")
    outbox.append([good[0], {**good[1], "eventTime": "not a time"}, *good[2:]])
    result = flush(outbox, _transport(server.url))
    assert (result.delivered, result.dead, result.remaining) == (3, 1, 0)
    assert store.event_count() == before + 3 and outbox.status().dead == 1


def test_a_wrong_token_is_transient_and_loses_nothing(api, tmp_path):
    server, _ = api
    outbox = Outbox(tmp_path / "o.db")
    outbox.append(run_events(1, per_run=2))
    with pytest.raises(DeliveryError, match="HTTP 401") as info:
        _transport(server.url, api_key="wrong").send(run_events(1), timeout=5)
    assert info.value.permanent is False
    result = flush(outbox, _transport(server.url, api_key="wrong"))
    assert (result.delivered, result.dead, result.remaining) == (0, 0, 2)


def test_credentials_in_the_url_are_basic_auth_and_never_in_its_name(api):
    server, _ = api
    transport = _transport(server.url.replace("http://", "http://user:hunter2@"), api_key=None)
    assert "hunter2" not in transport.name and "hunter2" not in transport.url
    with pytest.raises(DeliveryError) as info:  # the server wants the bearer token: refused, but said safely
        transport.send(run_events(1), timeout=5)
    assert "hunter2" not in str(info.value)


def test_an_unreachable_api_is_transient():
    transport = _transport("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(DeliveryError) as info:
        transport.send(run_events(1), timeout=1)
    assert info.value.permanent is False and info.value.index is None


def test_without_a_url_the_config_is_refused():
    with pytest.raises(ValueError, match="needs `url`"):
        LineageApiConfig.from_dict({"api_key": TOKEN})

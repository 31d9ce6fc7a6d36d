"""Liveness, readiness through a database outage, and catalog refresh without a restart."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from data.load import SAMPLE_COLLECTIONS
from harness import secrets_audit
from harness.polling import eventually
from harness.tcp_proxy import TcpProxy

ITEMS = "/collections/public.fire_lines/items"
REFRESH_TOKEN = secrets_audit.sent("s3cret-token")


# Generous: the deadlines only stop a test that would otherwise wait for ever. Each is far below
# the default catalog TTL (300 s), so a test that passes did not wait for a periodic reload.
DEADLINE = 30


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    eventually(predicate, seconds=DEADLINE, what=what)


@pytest.fixture
def db_proxy(database_url: str) -> Iterator[tuple[TcpProxy, str]]:
    proxy = TcpProxy.to_database(database_url)
    yield proxy, proxy.database_url(database_url)
    proxy.stop()


def test_healthz_needs_no_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_ready(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "collections": len(SAMPLE_COLLECTIONS)}


def test_database_outage_is_503_and_recovers(
    make_app: Callable[..., Any], db_proxy: tuple[TcpProxy, str]
) -> None:
    proxy, url = db_proxy
    proxy.start()
    with TestClient(make_app(url), raise_server_exceptions=False) as app_client:
        assert app_client.get("/readyz").status_code == 200
        proxy.stop()
        wait_for(lambda: app_client.get("/readyz").status_code == 503, "not ready")
        not_ready = app_client.get("/readyz").json()
        assert not_ready["code"] == "ServiceUnavailable"
        assert not_ready["description"].startswith("Not ready: database")
        during = app_client.get(ITEMS)
        assert during.status_code == 503, during.text
        assert during.json()["code"] == "ServiceUnavailable"
        assert app_client.get("/healthz").status_code == 200
        proxy.start()
        wait_for(lambda: app_client.get("/readyz").status_code == 200, "ready again")
        assert app_client.get(ITEMS).status_code == 200


def test_starts_without_database_and_becomes_ready(
    make_app: Callable[..., Any], db_proxy: tuple[TcpProxy, str]
) -> None:
    proxy, url = db_proxy
    with TestClient(make_app(url), raise_server_exceptions=False) as app_client:
        assert app_client.get("/healthz").status_code == 200
        assert app_client.get("/readyz").status_code == 503
        assert app_client.get("/collections").status_code == 503
        proxy.start()
        # The retry loop, not the catalog's 300 s reload, makes it ready.
        wait_for(lambda: app_client.get("/readyz").status_code == 200, "ready once it is back")
        assert app_client.get("/collections").json()["numberMatched"] == len(SAMPLE_COLLECTIONS)


@pytest.fixture
def new_table(sql: Callable[..., Any]) -> Iterator[Callable[[], str]]:
    """Call it to create a new spatial table; it is dropped after the test."""
    created: list[str] = []

    def create() -> str:
        sql("CREATE TABLE public.smoke_plumes (id int PRIMARY KEY, geom geometry(Point, 4326))")
        created.append("public.smoke_plumes")
        return created[-1]

    yield create
    for name in created:
        sql(f"DROP TABLE {name}")


def collection_ids(app_client: TestClient) -> set[str]:
    return {c["id"] for c in app_client.get("/collections").json()["collections"]}


def test_new_tables_appear_after_the_ttl(
    make_app: Callable[..., Any], new_table: Callable[[], str]
) -> None:
    with TestClient(make_app(catalog_ttl_seconds=0.3)) as app_client:
        assert "public.smoke_plumes" not in collection_ids(app_client)
        name = new_table()
        wait_for(lambda: name in collection_ids(app_client), "the new table listed")


def test_refresh_endpoint_absent_without_token(client: TestClient) -> None:
    assert client.post("/refresh").status_code == 404


def test_refresh_requires_the_token(
    make_app: Callable[..., Any], new_table: Callable[[], str]
) -> None:
    with TestClient(make_app(refresh_token=REFRESH_TOKEN, catalog_ttl_seconds=0)) as app_client:
        before = collection_ids(app_client)
        name = new_table()
        assert app_client.post("/refresh").status_code == 401
        wrong = app_client.post("/refresh", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert "s3cret" not in wrong.text
        ok = app_client.post("/refresh", headers={"Authorization": f"Bearer {REFRESH_TOKEN}"})
        assert ok.status_code == 200
        assert ok.json() == {"collections": len(before) + 1}
        assert collection_ids(app_client) - before == {name}

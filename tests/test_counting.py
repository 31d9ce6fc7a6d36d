"""numberMatched modes (app/ogc/counting.py): `cached` stays exact through writes and counts
only when the data changed; `exact`, `estimate` and `none` do what they say."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient

from app.ogc.counting import MatchedCounter
from harness.database import fresh_schema, run_sql

SCHEMA = "wfs3_counting"
ITEMS = f"/collections/{SCHEMA}.sightings/items"
SNAPSHOT = "SELECT pg_current_snapshot()::text"


@pytest.fixture(scope="module")
def sightings(database_url: str) -> str:
    fresh_schema(
        database_url,
        SCHEMA,
        f"CREATE TABLE {SCHEMA}.sightings (id int PRIMARY KEY, kind text,"
        " geom geometry(Point, 4326))",
        f"INSERT INTO {SCHEMA}.sightings SELECT n, CASE WHEN n % 2 = 0 THEN 'smoke' ELSE 'fire'"
        " END, ST_SetSRID(ST_MakePoint(n % 50, n % 40), 4326) FROM generate_series(1, 100) n",
    )
    return database_url


@pytest.fixture(scope="module")
def app_in(sightings: str, make_app: Callable[..., Any]) -> Iterator[Callable[[str], TestClient]]:
    clients: dict[str, TestClient] = {}

    def client_for(mode: str) -> TestClient:
        if mode not in clients:
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("WFS3_DB_SCHEMAS", SCHEMA)
                clients[mode] = TestClient(make_app(number_matched=mode)).__enter__()
        return clients[mode]

    yield client_for
    for client in clients.values():
        client.__exit__(None, None, None)


def matched(client: TestClient, **params: Any) -> Any:
    response = client.get(ITEMS, params={"limit": 5, **params})
    assert response.status_code == 200, response.text
    return response.json().get("numberMatched")


def test_cached_counts_follow_every_write_at_once(
    app_in: Callable[[str], TestClient], sightings: str
) -> None:
    client = app_in("cached")
    assert matched(client) == 100 and matched(client, kind="smoke") == 50
    run_sql(sightings, f"INSERT INTO {SCHEMA}.sightings VALUES (101, 'smoke', NULL)")
    assert matched(client) == 101 and matched(client, kind="smoke") == 51
    run_sql(sightings, f"DELETE FROM {SCHEMA}.sightings WHERE id IN (1, 2, 101)")
    assert matched(client) == 98 and matched(client, kind="smoke") == 49
    run_sql(
        sightings, f"INSERT INTO {SCHEMA}.sightings VALUES (1, 'fire', NULL), (2, 'smoke', NULL)"
    )
    assert matched(client) == 100


def test_cached_counts_only_when_the_snapshot_changed(sightings: str, client: TestClient) -> None:
    """Two counts of one filter under one snapshot: one count(*) statement; after a commit, a
    second. (The statements are read from asyncpg's query logger.) Anything else that commits
    meanwhile (autovacuum's ANALYZE, say) moves the snapshot too: such a try is made again."""
    collection = client.app.state.collection_catalog["collections"]["public.fire_lines"]

    async def under_one_snapshot(
        conn: asyncpg.Connection, counts: list[str]
    ) -> tuple[MatchedCounter, str, int, int]:
        for _ in range(5):
            counts.clear()
            counter = MatchedCounter("cached")
            snapshot = await conn.fetchval(SNAPSHOT)
            first = await counter.matched(collection, conn, None, {}, snapshot)
            again = await counter.matched(collection, conn, None, {}, snapshot)
            if await conn.fetchval(SNAPSHOT) == snapshot:
                return counter, snapshot, first, again
        pytest.fail("something committed during each of 5 tries")

    async def run() -> list[int]:
        conn = await asyncpg.connect(sightings)
        counts: list[str] = []
        conn.add_query_logger(lambda record: counts.append(record.query))
        try:
            counter, snapshot, first, again = await under_one_snapshot(conn, counts)
            await asyncio.sleep(0)  # asyncpg hands records to loggers with call_soon
            queries_before = sum("count(*)" in query for query in counts)
            await conn.execute(f"UPDATE {SCHEMA}.sightings SET kind = kind WHERE id = 3")
            changed = await conn.fetchval(SNAPSHOT)
            assert changed != snapshot
            third = await counter.matched(collection, conn, None, {}, changed)
            await asyncio.sleep(0)
            assert first == again == third
            return [queries_before, sum("count(*)" in query for query in counts)]
        finally:
            await conn.close()

    assert asyncio.run(run()) == [1, 2]


def test_exact_counts_every_time(app_in: Callable[[str], TestClient]) -> None:
    assert matched(app_in("exact")) == 100 and matched(app_in("exact"), kind="fire") == 50


def test_estimate_is_the_planners(app_in: Callable[[str], TestClient], sightings: str) -> None:
    estimate = matched(app_in("estimate"))
    planned = run_sql(
        sightings,
        f"SELECT reltuples::bigint FROM pg_class WHERE oid = '{SCHEMA}.sightings'::regclass",
    )
    assert isinstance(estimate, int) and (planned <= 0 or abs(estimate - planned) <= 1)


def test_none_omits_it_and_pages_while_full(app_in: Callable[[str], TestClient]) -> None:
    client = app_in("none")
    full = client.get(ITEMS, params={"limit": 10}).json()
    assert "numberMatched" not in full and full["numberReturned"] == 10
    assert any(link["rel"] == "next" for link in full["links"])
    last = client.get(ITEMS, params={"limit": 10, "offset": 95}).json()
    assert last["numberReturned"] == 5 and not any(link["rel"] == "next" for link in last["links"])


def test_the_services_connections_skip_jit_and_parallel_workers(client: TestClient) -> None:
    """The session settings every pooled connection gets (app/db/lifespan.py)."""

    async def settings() -> list[str]:
        async with client.app.state.pool.acquire() as conn:
            names = ("jit", "plan_cache_mode", "max_parallel_workers_per_gather", "TimeZone")
            return [await conn.fetchval(f"SHOW {name}") for name in names]

    assert client.portal.call(settings) == ["off", "auto", "0", "UTC"]  # type: ignore[union-attr]


def test_an_item_read_by_its_key_is_not_planned_again_each_time(client: TestClient) -> None:
    """The item statement takes its key as a parameter: from its sixth execution on a
    connection, PostgreSQL runs its one generic plan instead of planning it again (which
    cost 2.5x the server's CPU of the read itself; bench/plans.py)."""
    for item_id in range(1, 13):
        assert client.get(f"/collections/public.fire_perimeters/items/{item_id}").status_code == 200

    async def generic_executions() -> int:
        pool = client.app.state.pool.pool  # asyncpg's own, under BoundedPool
        # Every connection of the pool at once: the reads went to whichever was free.
        held = [await pool.acquire() for _ in range(pool.get_size())]
        try:
            counts = [await conn.fetchval(GENERIC_PLANS) for conn in held]
        finally:
            for conn in held:
                await pool.release(conn)
        return int(sum(counts))

    assert client.portal.call(generic_executions) >= 1  # type: ignore[union-attr]


GENERIC_PLANS = (
    "SELECT coalesce(sum(generic_plans), 0) FROM pg_prepared_statements"
    " WHERE statement LIKE '%tipg_n%' AND parameter_types <> '{}'"
)

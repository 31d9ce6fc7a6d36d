"""Cases (f) and (g), the database's own limit, run by asyncpg with the same concurrency as
wrk's connections, with no HTTP and no Python web stack:

- (f) the exact SQL our service issues for each request once warm (its numberMatched counts are
  cached, app/ogc/counting.py): captured by serving each path twice in-process (our app,
  untraced) with asyncpg's `fetch`/`fetchval`/`fetchrow` recording the second time;
- (g) the best SQL for the answer: the page as one JSON text built in SQL, no count: the page
  statement alone (app/ogc/geojson_sql.py); a tile's one statement as it is. A "request" is
  its statements in order on one connection, as the service runs them.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
from fastapi.testclient import TestClient
from tipg.database import connection_factory

from app.factory import create_app
from bench.wrk import Result
from harness.database import make_settings

Statement = tuple[str, str, tuple[Any, ...]]  # method, SQL, arguments


@contextmanager
def _recording(into: list[Statement]) -> Iterator[None]:
    methods = ("fetch", "fetchval", "fetchrow")
    originals = {name: getattr(asyncpg.Connection, name) for name in methods}

    def wrap(name: str) -> Any:
        async def recorded(self: asyncpg.Connection, query: str, *args: Any, **kw: Any) -> Any:
            into.append((name, query, args))
            return await originals[name](self, query, *args, **kw)

        return recorded

    for name in originals:
        setattr(asyncpg.Connection, name, wrap(name))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(asyncpg.Connection, name, original)


def capture(database_url: str, paths: list[str]) -> list[list[Statement]]:
    """The statements each path makes our service run once warm (the second time it is served)."""
    captured: list[list[Statement]] = []
    with TestClient(create_app(make_settings(database_url))) as client:
        for path in paths:
            assert client.get(path).status_code == 200, path
            statements: list[Statement] = []
            with _recording(statements):
                assert client.get(path).status_code == 200, path
            captured.append(statements)
    return captured


def best(requests: list[list[Statement]]) -> list[list[Statement]]:
    """(g): each request's page statement alone (the one that aggregates the GeoJSON text); a
    request without one (a tile: one ST_AsMVT statement) as it is."""
    return [
        [s for s in statements if "string_agg(feature" in s[1]] or statements
        for statements in requests
    ]


async def _replay(
    database_url: str, requests: list[list[Statement]], seconds: float, concurrency: int
) -> Result:
    init = connection_factory(["public"], "pg_temp", None)
    pool = await asyncpg.create_pool(
        database_url, min_size=concurrency, max_size=concurrency, init=init
    )
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def worker(offset: int) -> None:
        index = offset
        async with pool.acquire() as conn:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                for method, query, args in requests[index % len(requests)]:
                    await getattr(conn, method)(query, *args)
                latencies.append(time.perf_counter() - start)
                index += concurrency

    started = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.monotonic() - started
    await pool.close()
    cuts = statistics.quantiles(latencies, n=100)
    return Result(len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000, len(latencies), 0)


def run(
    database_url: str, requests: list[list[Statement]], seconds: float, concurrency: int
) -> Result:
    return asyncio.run(_replay(database_url, requests, seconds, concurrency))

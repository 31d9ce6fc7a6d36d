"""The connection pool as tipg's endpoints see it: asyncpg's pool, with a bounded wait.

tipg acquires connections with no timeout, so when every connection is busy (slow queries, a
burst) requests would queue without end. BoundedPool gives every `acquire()` that has to wait a
deadline (WFS3_DB_POOL_ACQUIRE_TIMEOUT_MS); past it the request fails fast with a 503 the client
may retry, instead of holding its socket open. When telemetry is on, each wait is also recorded
(db.client.connection.wait_time, app/otel/pool_metrics.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol, cast

import asyncpg

from app.db.idle import IdleConnections
from app.errors import PoolExhausted

POOL_NAME = {"db.client.connection.pool.name": "veda-wfs3"}
POOL_KEY = tuple(POOL_NAME.items())  # as the wait recorder keeps it: made once


class WaitRecorder(Protocol):
    """Where waits go: a histogram (app/otel/pool_metrics.py's, aggregated by
    app/otel/histograms.py)."""

    def record(
        self, value: float, attributes: Mapping[str, Any] | tuple[tuple[str, Any], ...]
    ) -> None: ...


class _Acquire:
    __slots__ = ("_pool", "_deadline", "_wait", "_timeout", "_connection")

    def __init__(
        self, pool: asyncpg.Pool, deadline: float | None, wait: WaitRecorder | None, timeout: float
    ) -> None:
        self._pool = pool
        self._deadline = deadline  # what asyncpg is asked for: None when a connection is idle
        self._wait = wait
        self._timeout = timeout  # the configured limit, for the 503's message
        self._connection: Any = None

    async def __aenter__(self) -> asyncpg.Connection:
        start = time.perf_counter()
        try:
            self._connection = await self._pool.acquire(timeout=self._deadline)
        except TimeoutError:
            raise PoolExhausted(
                f"No database connection became free within {self._timeout:g} s; retry shortly."
            ) from None
        if self._wait is not None:
            self._wait.record(time.perf_counter() - start, POOL_KEY)
        return cast(asyncpg.Connection, self._connection)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await release(self._pool, self._connection)


async def release(pool: asyncpg.Pool, connection: Any) -> None:
    """`pool.release(connection)`, without its asyncio.shield when nothing in it can wait.

    asyncpg runs the release in a new Task (shield) so that a cancelled request cannot stop it
    half-way; that Task costs every request an extra turn of the event loop, ~20 us of an item
    request's ~240 (bench/README.md). Out of a transaction, with our reset (keep_session, which
    does not wait), the release never suspends, so no cancellation can land in it: it is
    awaited directly. In a transaction it waits for a ROLLBACK: shielded, as asyncpg does it.
    Private asyncpg API (PoolConnectionProxy._con/_holder, Connection._on_release,
    PoolConnectionHolder.release/_timeout): tests/test_bounded_pool.py.
    """
    if connection._con is None:  # closed by its user: the pool already has it back
        return
    if connection.is_in_transaction():
        await pool.release(connection)
        return
    connection._con._on_release()  # as Pool.release: old references invalidated, listeners checked
    holder = connection._holder
    await holder.release(holder._timeout)


def _idle_connection_waits(pool: asyncpg.Pool) -> bool:
    """Whether an open connection waits in the pool's queue of free holders, which acquire hands
    over first: what `get_idle_size()` tells by asking every holder, 1.5 us per request in a
    tight loop, found here from the queue's end, where a released holder goes (0.2 us). Private
    asyncpg and asyncio API (Pool._queue, asyncio.Queue._queue): tests/test_bounded_pool.py."""
    for holder in reversed(pool._queue._queue):  # type: ignore[attr-defined]
        if holder.is_connected():
            return True
    return False


class BoundedPool:
    """An asyncpg pool whose acquire() waits at most `acquire_timeout` seconds."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        acquire_timeout: float,
        wait: WaitRecorder | None = None,
        idle: IdleConnections | None = None,
    ) -> None:
        self.pool = pool
        self.acquire_timeout = acquire_timeout
        self._wait = wait
        self.idle = idle  # what closes idle connections, stopped before the pool closes

    def acquire(self, *, timeout: float | None = None) -> _Acquire:
        limit = timeout if timeout is not None else self.acquire_timeout
        # An idle connection is handed over without waiting (asyncpg takes connected holders
        # first), so it needs no deadline: asyncpg's deadline is a timer armed and cancelled on
        # acquire and again on release, ~12 us of an item request's ~250 (bench/README.md).
        deadline = None if _idle_connection_waits(self.pool) else limit
        return _Acquire(self.pool, deadline, self._wait, limit)

    async def close(self) -> None:
        if self.idle is not None:
            await self.idle.stop()
        await self.pool.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)

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
from typing import Any, Protocol

import asyncpg

from app.errors import PoolExhausted

POOL_NAME = {"db.client.connection.pool.name": "veda-wfs3"}


class WaitRecorder(Protocol):
    """Where waits go: a histogram (app/otel/pool_metrics.py's, deferred)."""

    def record(self, value: float, attributes: Mapping[str, Any]) -> None: ...


class _Acquire:
    __slots__ = ("_context", "_wait", "_timeout")

    def __init__(self, context: Any, wait: WaitRecorder | None, timeout: float) -> None:
        self._context = context
        self._wait = wait
        self._timeout = timeout

    async def __aenter__(self) -> asyncpg.Connection:
        start = time.perf_counter()
        try:
            connection: asyncpg.Connection = await self._context.__aenter__()
        except TimeoutError:
            raise PoolExhausted(
                f"No database connection became free within {self._timeout:g} s; retry shortly."
            ) from None
        if self._wait is not None:
            self._wait.record(time.perf_counter() - start, POOL_NAME)
        return connection

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._context.__aexit__(kind, exc, tb)


class BoundedPool:
    """An asyncpg pool whose acquire() waits at most `acquire_timeout` seconds."""

    def __init__(
        self, pool: asyncpg.Pool, acquire_timeout: float, wait: WaitRecorder | None = None
    ) -> None:
        self.pool = pool
        self.acquire_timeout = acquire_timeout
        self._wait = wait

    def acquire(self, *, timeout: float | None = None) -> _Acquire:
        limit = timeout if timeout is not None else self.acquire_timeout
        # An idle connection is handed over without waiting (asyncpg takes connected holders
        # first), so it needs no deadline: asyncpg's deadline is a timer armed and cancelled on
        # acquire and again on release, ~12 us of an item request's ~250 (bench/README.md).
        deadline = None if self.pool.get_idle_size() else limit
        return _Acquire(self.pool.acquire(timeout=deadline), self._wait, limit)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)

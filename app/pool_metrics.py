"""Connection pool metrics (OpenTelemetry semantic conventions for database client pools).

- db.client.connection.count      connections by state, `used` or `idle` (observed on export)
- db.client.connection.max        the pool's maximum size
- db.client.connection.wait_time  seconds each `pool.acquire()` waited for a connection

asyncpg has no hook for the wait, so when telemetry is on the pool tipg opened is wrapped in a
MeasuredPool whose `acquire()` times itself; everything else is the asyncpg pool's own.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import asyncpg
from fastapi import FastAPI
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Histogram, Observation

POOL_NAME = {"db.client.connection.pool.name": "veda-wfs3"}
STATE = "db.client.connection.state"
WAIT_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]


class _TimedAcquire:
    __slots__ = ("_context", "_wait")

    def __init__(self, context: Any, wait: Histogram) -> None:
        self._context = context
        self._wait = wait

    async def __aenter__(self) -> asyncpg.Connection:
        start = time.perf_counter()
        connection: asyncpg.Connection = await self._context.__aenter__()
        self._wait.record(time.perf_counter() - start, POOL_NAME)
        return connection

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._context.__aexit__(kind, exc, tb)


class MeasuredPool:
    """An asyncpg pool whose acquire() records how long it waited."""

    def __init__(self, pool: asyncpg.Pool, wait: Histogram) -> None:
        self.pool = pool
        self._wait = wait

    def acquire(self, *, timeout: float | None = None) -> _TimedAcquire:
        return _TimedAcquire(self.pool.acquire(timeout=timeout), self._wait)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)


def observe_pool(app: FastAPI) -> Histogram:
    """Register the pool gauges (read from app.state.pool at export time); return the wait
    histogram for MeasuredPool."""
    meter = metrics.get_meter(__name__)

    def pool() -> asyncpg.Pool | None:
        current = getattr(app.state, "pool", None)
        return current.pool if isinstance(current, MeasuredPool) else current

    def count(options: CallbackOptions) -> Iterable[Observation]:
        if (p := pool()) is not None:
            idle = p.get_idle_size()
            yield Observation(idle, {**POOL_NAME, STATE: "idle"})
            yield Observation(p.get_size() - idle, {**POOL_NAME, STATE: "used"})

    def maximum(options: CallbackOptions) -> Iterable[Observation]:
        if (p := pool()) is not None:
            yield Observation(p.get_max_size(), POOL_NAME)

    meter.create_observable_up_down_counter(
        "db.client.connection.count", [count], unit="{connection}"
    )
    meter.create_observable_up_down_counter("db.client.connection.max", [maximum], "{connection}")
    return meter.create_histogram(
        "db.client.connection.wait_time",
        unit="s",
        description="Time it took to obtain an open connection from the pool.",
        explicit_bucket_boundaries_advisory=WAIT_BUCKETS,
    )

"""Connection pool metrics (OpenTelemetry semantic conventions for database client pools).

- db.client.connection.count      connections by state, `used` or `idle` (gauge, read on export)
- db.client.connection.max        the pool's maximum size (a gauge)
- db.client.connection.wait_time  seconds each `pool.acquire()` waited for a connection

asyncpg has no hook for the wait: app/db/pool.py's BoundedPool, which tipg's endpoints acquire
from, times each acquire() and records it in the histogram made here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import asyncpg
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from app.db.pool import POOL_NAME, BoundedPool
from app.otel.histograms import AggregatedHistogram

STATE = "db.client.connection.state"
WAIT_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]


def observe_pool(current_pool: Callable[[], Any]) -> AggregatedHistogram:
    """Register the pool gauges (read from `current_pool()` at export time: the app's pool,
    bounded or not, or None while it is closed); return the wait histogram for BoundedPool."""
    meter = metrics.get_meter(__name__)

    def pool() -> asyncpg.Pool | None:
        current = current_pool()
        return current.pool if isinstance(current, BoundedPool) else current

    def count(options: CallbackOptions) -> Iterable[Observation]:
        if (p := pool()) is not None:
            idle = p.get_idle_size()
            yield Observation(idle, {**POOL_NAME, STATE: "idle"})
            yield Observation(p.get_size() - idle, {**POOL_NAME, STATE: "used"})

    def maximum(options: CallbackOptions) -> Iterable[Observation]:
        if (p := pool()) is not None:
            yield Observation(p.get_max_size(), POOL_NAME)

    # Gauges, not the conventions' up-down counters: CloudWatch's EMF exporter would turn a
    # cumulative sum into per-interval deltas, and the dashboard wants the level.
    meter.create_observable_gauge("db.client.connection.count", [count], unit="{connection}")
    meter.create_observable_gauge("db.client.connection.max", [maximum], "{connection}")
    return AggregatedHistogram(
        "db.client.connection.wait_time",
        unit="s",
        description="Time it took to obtain an open connection from the pool.",
        bounds=WAIT_BUCKETS,
    )

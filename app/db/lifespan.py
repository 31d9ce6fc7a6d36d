"""The database side of the lifespan: the asyncpg pool, the collection catalog, readiness.

tipg's `connect_to_db` owns the pool (its per-connection init registers tipg's SQL functions) and
the catalog loader (app/ogc/catalog.py) reads the published tables. A background loop keeps both
alive: it retries every second while the database is unreachable (the service starts and serves
/healthz without it) and reloads the catalog every WFS3_CATALOG_TTL_SECONDS, so new tables appear
without a restart.

The start-up work (pool, tipg's per-connection setup, catalog queries) is one `startup` trace and
each later reload a `catalog.load` trace; with telemetry off these are the API's no-op spans.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from fastapi import FastAPI
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import StatusCode
from tipg.database import connect_to_db
from tipg.settings import PostgresSettings as TipgPostgresSettings

from app.db.idle import IdleConnections
from app.db.pool import BoundedPool, WaitRecorder
from app.settings import Settings

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
_meter = metrics.get_meter(__name__)
catalog_loads = _meter.create_counter(
    "wfs3.catalog.loads", unit="{load}", description="Catalog (re)loads, by outcome."
)
catalog_load_duration = _meter.create_histogram(
    "wfs3.catalog.load.duration", unit="s", description="Time to (re)load the catalog."
)

RETRY_SECONDS = 1.0
READY_TIMEOUT_SECONDS = 2.0

CatalogLoad = Callable[[FastAPI], Awaitable[int]]  # fills app.state's catalog; how many


def session_settings(statement_timeout_ms: int) -> dict[str, str]:
    """What every pooled connection's session runs with (also bench/floor.py's, whose database
    work is then ours)."""
    return {
        "statement_timeout": str(statement_timeout_ms),
        "application_name": "veda-wfs3",
        # Our statements are short: compiling them (JIT) costs more than it saves (a
        # 2°x2° bbox count over 1M points: 16.3 ms with, 13.1 ms without; bench/plans.py).
        "jit": "off",
        # A statement with parameters (an item read by its key) keeps one generic plan
        # from its sixth execution on, instead of being planned again at every one:
        # 220 -> 85 us of the server's CPU per item read (bench/plans.py). Boxes and
        # filters are inlined, not parameters, so no generic plan ignores a box.
        "plan_cache_mode": "auto",
        # Parallel workers for a page or a count cost more to start than they save
        # (the same count: 25.0 ms with two, 14.8 ms without; bench/plans.py), and a
        # service's concurrent requests already keep the cores busy.
        "max_parallel_workers_per_gather": "0",
        # PostgreSQL writes the GeoJSON's timestamps: in UTC, as tipg's encoder did.
        "TimeZone": "UTC",
    }


async def keep_session(conn: asyncpg.Connection) -> None:
    """Release a connection without asyncpg's reset query (`SELECT pg_advisory_unlock_all();
    CLOSE ALL; UNLISTEN *; RESET ALL`): a round trip per request to undo session state that no
    request creates here (tipg and this app run no SET, LISTEN, cursor or advisory lock outside
    connection set-up). asyncpg still rolls back an open transaction before calling this. The
    reset also undid the search_path tipg sets on connect; keeping it is what tipg intends."""


@dataclass
class Database:
    """The pool and the catalog of one app, with what telemetry adds to them handed in."""

    settings: Settings
    load_catalog: CatalogLoad
    connection_class: type[asyncpg.Connection] = asyncpg.Connection
    pool_wait: WaitRecorder | None = None

    async def open_pool(self, app: FastAPI) -> None:
        params = self.settings.database.connection()
        pool = self.settings.pool
        await connect_to_db(
            app,
            schemas=pool.schemas,
            settings=TipgPostgresSettings(
                _env_file=None,
                database_url=params.dsn_without_password(),
                db_min_conn_size=pool.pool_min_size,
                db_max_conn_size=pool.pool_max_size,
                # asyncpg's timer per release is off: IdleConnections closes idle ones instead.
                db_max_inactive_conn_lifetime=0,
            ),
            password=params.password.get_secret_value() if params.password else None,
            server_settings=session_settings(pool.statement_timeout_ms),
            reset=keep_session,
            connection_class=self.connection_class,
        )
        timeout = pool.pool_acquire_timeout_ms / 1000
        idle = IdleConnections(app.state.pool, pool.pool_max_idle_seconds)
        if pool.pool_max_idle_seconds:
            idle.start()
        app.state.pool = BoundedPool(app.state.pool, timeout, self.pool_wait, idle)

    async def reload(self, app: FastAPI) -> int:
        """Open the pool if needed and (re)load the catalog; return how many collections."""
        if getattr(app.state, "pool", None) is None:
            await self.open_pool(app)
        return await self.load_catalog(app)

    async def _try_load(self, app: FastAPI) -> bool:
        start = time.perf_counter()
        with tracer.start_as_current_span("catalog.load"):
            try:
                count = await self.reload(app)
            except Exception as exc:  # any failure here must not stop the service
                logger.warning("database not ready, will retry: %s", type(exc).__name__)
                trace.get_current_span().set_status(StatusCode.ERROR, type(exc).__name__)
                outcome = "failure"
            else:
                logger.info("collection catalog loaded: %d collections", count)
                outcome = "success"
        catalog_loads.add(1, {"outcome": outcome})
        catalog_load_duration.record(time.perf_counter() - start, {"outcome": outcome})
        return outcome == "success"

    async def _keep_catalog_fresh(self, app: FastAPI, loaded: bool) -> None:
        ttl = self.settings.api.catalog_ttl_seconds
        while True:
            if loaded and not ttl:
                return
            await asyncio.sleep(ttl if loaded else RETRY_SECONDS)
            loaded = await self._try_load(app) or loaded

    @contextlib.asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = None
        with tracer.start_as_current_span("startup"):
            loaded = await self._try_load(app)
        task = asyncio.create_task(self._keep_catalog_fresh(app, loaded))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if app.state.pool is not None:
                await app.state.pool.close()


async def readiness_problem(app: FastAPI) -> str | None:
    """None when a query can run and the catalog is loaded, else the reason why not."""
    pool = getattr(app.state, "pool", None)
    if pool is None:
        return "database connection pool is not open"
    if not getattr(app.state, "collection_catalog", None):
        return "collection catalog is not loaded"
    try:
        # Probes have no server span (excluded), so their query would be a lone root span.
        with suppress_instrumentation():
            async with asyncio.timeout(READY_TIMEOUT_SECONDS), pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
    except Exception as exc:
        return f"database query failed: {type(exc).__name__}"
    return None

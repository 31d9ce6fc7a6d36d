"""The database side of the lifespan: the asyncpg pool, the collection catalog, readiness.

tipg's `connect_to_db` owns the pool (its per-connection init registers tipg's SQL functions) and
`register_collection_catalog` reads the published tables. A background loop keeps both alive: it
retries every second while the database is unreachable (the service starts and serves /healthz
without it) and reloads the catalog every WFS3_CATALOG_TTL_SECONDS, so new tables appear without a
restart.

With telemetry on, the start-up work (pool, tipg's per-connection setup, catalog queries) is one
`startup` trace, each later reload a `catalog.load` trace, and the pool is measured
(app/pool_metrics.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import asyncpg
from fastapi import FastAPI
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import StatusCode
from tipg.collections import register_collection_catalog
from tipg.database import connect_to_db
from tipg.settings import DatabaseSettings as TipgCatalogSettings
from tipg.settings import PostgresSettings as TipgPostgresSettings

from app.catalog import served
from app.pool import BoundedPool
from app.pool_metrics import observe_pool
from app.settings import Settings
from app.sql_spans import TracedConnection

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


def catalog_settings(settings: Settings) -> TipgCatalogSettings:
    # Publish tables and views only: functions in these schemas (PostGIS's own st_* functions
    # live in public) would otherwise be listed as collections.
    return TipgCatalogSettings(
        _env_file=None,
        schemas=settings.pool.schemas,
        exclude_function_schemas=[*settings.pool.schemas, "pg_temp"],
    )


async def keep_session(conn: asyncpg.Connection) -> None:
    """Release a connection without asyncpg's reset query (`SELECT pg_advisory_unlock_all();
    CLOSE ALL; UNLISTEN *; RESET ALL`): a round trip per request to undo session state that no
    request creates here (tipg and this app run no SET, LISTEN, cursor or advisory lock outside
    connection set-up). asyncpg still rolls back an open transaction before calling this. The
    reset also undid the search_path tipg sets on connect; keeping it is what tipg intends."""


async def open_pool(app: FastAPI, settings: Settings) -> None:
    params = settings.database.connection()
    pool_settings = TipgPostgresSettings(
        _env_file=None,
        database_url=params.dsn_without_password(),
        db_min_conn_size=settings.pool.pool_min_size,
        db_max_conn_size=settings.pool.pool_max_size,
    )
    await connect_to_db(
        app,
        schemas=settings.pool.schemas,
        settings=pool_settings,
        password=params.password.get_secret_value() if params.password else None,
        server_settings={
            "statement_timeout": str(settings.pool.statement_timeout_ms),
            "application_name": "veda-wfs3",
        },
        reset=keep_session,
        connection_class=(
            asyncpg.Connection if settings.telemetry.otel_sdk_disabled else TracedConnection
        ),
    )
    timeout = settings.pool.pool_acquire_timeout_ms / 1000
    app.state.pool = BoundedPool(app.state.pool, timeout, app.state.pool_wait)


async def load_catalog(app: FastAPI, settings: Settings) -> int:
    """Open the pool if needed and (re)load the catalog; return how many collections it has."""
    if getattr(app.state, "pool", None) is None:
        await open_pool(app, settings)
    await register_collection_catalog(app, db_settings=catalog_settings(settings))
    catalog = app.state.collection_catalog
    traced = not settings.telemetry.otel_sdk_disabled
    catalog["collections"] = served(catalog["collections"], traced)
    return len(catalog["collections"])


async def _try_load(app: FastAPI, settings: Settings) -> bool:
    start = time.perf_counter()
    with tracer.start_as_current_span("catalog.load"):
        try:
            count = await load_catalog(app, settings)
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


async def _keep_catalog_fresh(app: FastAPI, settings: Settings, loaded: bool) -> None:
    ttl = settings.api.catalog_ttl_seconds
    while True:
        if loaded and not ttl:
            return
        await asyncio.sleep(ttl if loaded else RETRY_SECONDS)
        loaded = await _try_load(app, settings) or loaded


@contextlib.asynccontextmanager
async def database(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    app.state.pool = None
    app.state.pool_wait = None if settings.telemetry.otel_sdk_disabled else observe_pool(app)
    with tracer.start_as_current_span("startup"):
        loaded = await _try_load(app, settings)
    task = asyncio.create_task(_keep_catalog_fresh(app, settings, loaded))
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

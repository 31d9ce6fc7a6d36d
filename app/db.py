"""The database side of the lifespan: the asyncpg pool, the collection catalog, readiness.

tipg's `connect_to_db` owns the pool (its per-connection init registers tipg's SQL functions) and
`register_collection_catalog` reads the published tables. A background loop keeps both alive: it
retries every second while the database is unreachable (the service starts and serves /healthz
without it) and reloads the catalog every WFS3_CATALOG_TTL_SECONDS, so new tables appear without a
restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
from fastapi import FastAPI
from opentelemetry.instrumentation.utils import suppress_instrumentation
from tipg.collections import register_collection_catalog
from tipg.database import connect_to_db
from tipg.settings import DatabaseSettings as TipgCatalogSettings
from tipg.settings import PostgresSettings as TipgPostgresSettings

from app.settings import Settings

logger = logging.getLogger(__name__)

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


async def reset_untraced(conn: asyncpg.Connection) -> None:
    """asyncpg's own reset on release, without a span: it is pool housekeeping, not the
    request's work, and would otherwise add one `SELECT pg_advisory_unlock_all(); …` span to
    every traced request."""
    query = conn.get_reset_query()
    if query:
        with suppress_instrumentation():
            await conn.execute(query)


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
        reset=reset_untraced,
    )


async def load_catalog(app: FastAPI, settings: Settings) -> int:
    """Open the pool if needed and (re)load the catalog; return how many collections it has."""
    if getattr(app.state, "pool", None) is None:
        await open_pool(app, settings)
    await register_collection_catalog(app, db_settings=catalog_settings(settings))
    return len(app.state.collection_catalog["collections"])


async def _try_load(app: FastAPI, settings: Settings) -> bool:
    try:
        count = await load_catalog(app, settings)
    except Exception as exc:  # any failure here must not stop the service
        logger.warning("database not ready, will retry: %s", type(exc).__name__)
        return False
    logger.info("collection catalog loaded: %d collections", count)
    return True


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
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            async with pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
    except Exception as exc:
        return f"database query failed: {type(exc).__name__}"
    return None

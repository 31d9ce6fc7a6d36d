"""Throw-away databases and settings for tests and benchmarks, on the server DATABASE_URL names."""

from __future__ import annotations

import asyncio
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from pydantic import SecretStr

from app.settings import (
    ApiSettings,
    DatabaseSettings,
    PoolSettings,
    ProxySettings,
    Settings,
    TelemetrySettings,
)
from data.grants import grant_read_only

READER_ROLE = "wfs3_reader"  # the service's read-only role (scripts/db.sh creates it)
SLOW_SCHEMA = "slow"
SLOW_ITEMS = "/collections/slow.sleepy/items"  # waits while a HeldNap is held
NAP_LOCK = 720_001  # the advisory lock key of that wait


def with_dbname(url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{dbname}"))


async def recreate_database(admin_url: str, dbname: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        # PostGIS is not a trusted extension: start from a template that has it, when there is one.
        has_template = await conn.fetchval(
            "SELECT true FROM pg_database WHERE datname = 'template_postgis'"
        )
        template = " TEMPLATE template_postgis" if has_template else ""
        await conn.execute(f'CREATE DATABASE "{dbname}"{template}')
    finally:
        await conn.close()


def run_sql(url: str, query: str, *args: Any) -> Any:
    """Run one query on its own connection and return the first value of the first row."""

    async def go() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()

    return asyncio.run(go())


def fresh_schema(url: str, schema: str, *statements: str) -> None:
    """`schema` dropped and made again by `statements` (run after its CREATE SCHEMA), readable
    by the read-only role."""
    for statement in (f"DROP SCHEMA IF EXISTS {schema} CASCADE", f"CREATE SCHEMA {schema}"):
        run_sql(url, statement)
    for statement in statements:
        run_sql(url, statement)
    asyncio.run(grant_read_only(url, READER_ROLE, [schema]))


def create_slow_view(url: str) -> None:
    """A view whose features query waits while a HeldNap is held, in its own schema (so only
    servers told to publish `slow` see it). A test decides when the query ends, so no test has
    to guess how long "still in flight" lasts on this machine. The wait is a column declared
    STABLE, so PostgreSQL drops it from queries that do not select it: the catalog's and the
    count's stay fast; only the features query waits."""
    run_sql(url, f"DROP SCHEMA IF EXISTS {SLOW_SCHEMA} CASCADE")
    run_sql(url, f"CREATE SCHEMA {SLOW_SCHEMA}")
    run_sql(
        url,
        f"CREATE FUNCTION {SLOW_SCHEMA}.nap(int) RETURNS boolean LANGUAGE plpgsql STABLE"
        f" AS 'BEGIN PERFORM pg_advisory_xact_lock_shared({NAP_LOCK}); RETURN true; END'",
    )
    run_sql(
        url,
        f"CREATE VIEW {SLOW_SCHEMA}.sleepy AS SELECT 1 AS id,"
        f" ST_SetSRID(ST_MakePoint(0, 0), 4326) AS geom, {SLOW_SCHEMA}.nap(1) AS napped",
    )


class HeldNap:
    """While entered, every features query of the slow view waits (for the advisory lock this
    holds on a connection of its own); `waiting()` counts the queries that do."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._taken = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._hold()), daemon=True)

    async def _hold(self) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f"SELECT pg_advisory_lock({NAP_LOCK})")
            self._taken.set()
            await asyncio.to_thread(self._release.wait)
        finally:
            await conn.close()  # the lock goes with the session

    def __enter__(self) -> HeldNap:
        self._thread.start()
        assert self._taken.wait(30), "could not take the nap lock"
        return self

    def release(self) -> None:
        self._release.set()
        self._thread.join(30)

    def __exit__(self, *exc: object) -> None:
        self.release()

    def waiting(self) -> int:
        count: int = run_sql(
            self.url,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            f" AND objid = {NAP_LOCK}",
        )
        return count


def make_settings(database_url: str, **api: Any) -> Settings:
    """Settings of an in-process app: untraced (telemetry is tested on real server processes,
    whose export goes to a real OTLP receiver)."""
    trusted = api.pop("forwarded_allow_ips", ["127.0.0.1"])
    return Settings(
        database=DatabaseSettings(database_url=SecretStr(database_url)),
        pool=PoolSettings(),
        api=ApiSettings(**api),
        proxy=ProxySettings(forwarded_allow_ips=trusted),
        telemetry=TelemetrySettings(otel_sdk_disabled=True),
    )

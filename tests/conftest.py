"""Shared fixtures: a fresh PostGIS database with the sample data, and apps built on it.

The server comes from DATABASE_URL (scripts/test.sh prepares it with scripts/db.sh). Each test
session creates its own database beside it, so tests may add tables without touching the one
`make run` serves.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.factory import create_app
from app.settings import (
    ApiSettings,
    DatabaseSettings,
    PoolSettings,
    ProxySettings,
    Settings,
    TelemetrySettings,
)
from data.load import DEFAULT_SIZES, load

TEST_DB = "wfs3_test"


def _with_dbname(url: str, dbname: str) -> str:
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


@pytest.fixture(scope="session")
def database_url() -> str:
    base = os.environ.get("DATABASE_URL")
    if not base:
        pytest.fail("DATABASE_URL is not set: run the suite with `make test`")
    url = _with_dbname(base, TEST_DB)
    asyncio.run(recreate_database(base, TEST_DB))
    asyncio.run(load(url, DEFAULT_SIZES))
    return url


def run_sql(url: str, query: str, *args: Any) -> Any:
    """Run one query on its own connection and return the first value of the first row."""

    async def go() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()

    return asyncio.run(go())


@pytest.fixture(scope="session")
def sql(database_url: str) -> Callable[..., Any]:
    return lambda query, *args: run_sql(database_url, query, *args)


def make_settings(database_url: str, **api: Any) -> Settings:
    trusted = api.pop("forwarded_allow_ips", ["127.0.0.1"])
    return Settings(
        database=DatabaseSettings(database_url=SecretStr(database_url)),
        pool=PoolSettings(),
        api=ApiSettings(**api),
        proxy=ProxySettings(forwarded_allow_ips=trusted),
        # In-process apps run untraced: telemetry is tested on a real server process, whose
        # export goes to a real OTLP receiver (tests/test_tracing.py).
        telemetry=TelemetrySettings(otel_sdk_disabled=True),
    )


@pytest.fixture(scope="session")
def make_app(database_url: str) -> Callable[..., FastAPI]:
    def factory(url: str | None = None, **api: Any) -> FastAPI:
        return create_app(make_settings(url or database_url, **api))

    return factory


@pytest.fixture(scope="session")
def client(make_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(make_app(), raise_server_exceptions=False) as test_client:
        yield test_client

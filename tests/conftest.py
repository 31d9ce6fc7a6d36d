"""Shared fixtures: a fresh PostGIS database with the sample data, and apps built on it.

The server comes from DATABASE_URL (scripts/test.sh prepares it with scripts/db.sh). Each test
session creates its own database beside it, so tests may add tables without touching the one
`make run` serves.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.factory import create_app
from app.logs import JsonFormatter
from app.settings import (
    ApiSettings,
    DatabaseSettings,
    PoolSettings,
    ProxySettings,
    Settings,
    TelemetrySettings,
)
from data.grants import grant_read_only
from data.load import DEFAULT_SIZES, load
from tests import secrets_audit

TEST_DB = "wfs3_test"
READER_ROLE = "wfs3_reader"


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
    asyncio.run(grant_read_only(url, READER_ROLE, ["public"]))
    return url


@pytest.fixture(scope="session")
def reader_url(database_url: str) -> str:
    """The test database through the service's read-only role (scripts/db.sh creates it)."""
    reader = os.environ.get("WFS3_READER_URL")
    if not reader:
        pytest.fail("WFS3_READER_URL is not set: run the suite with `make test`")
    return _with_dbname(reader, TEST_DB)


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
def make_app(reader_url: str) -> Callable[..., FastAPI]:
    """Apps as production runs them: through the read-only role, unless given another URL."""

    def factory(url: str | None = None, **api: Any) -> FastAPI:
        app = create_app(make_settings(url or reader_url, **api))
        app.add_middleware(RecordErrorBodies)
        return app

    return factory


@pytest.fixture(scope="session")
def client(make_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(make_app(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def slow_view(database_url: str) -> str:
    """A published view whose items take 2 s (in its own schema, so only servers told to publish
    `slow` see it). The nap is a column declared STABLE, so PostgreSQL drops it from queries
    that do not select it: the catalog's and the count's stay fast, the features query sleeps."""
    run_sql(database_url, "DROP SCHEMA IF EXISTS slow CASCADE")
    run_sql(database_url, "CREATE SCHEMA slow")
    run_sql(
        database_url,
        "CREATE FUNCTION slow.nap(int) RETURNS boolean LANGUAGE plpgsql STABLE"
        " AS 'BEGIN PERFORM pg_sleep(2); RETURN true; END'",
    )
    run_sql(
        database_url,
        "CREATE VIEW slow.sleepy AS SELECT 1 AS id,"
        " ST_SetSRID(ST_MakePoint(0, 0), 4326) AS geom, slow.nap(1) AS napped",
    )
    asyncio.run(grant_read_only(database_url, READER_ROLE, ["slow"]))
    return "slow"


class RecordErrorBodies:
    """Hands every 4xx/5xx body an in-process app sends to the secrets audit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 0

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status >= 400:
                secrets_audit.record("error bodies", message.get("body", b""))
            await send(message)

        await self.app(scope, receive, recording_send)


class _AuditHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        secrets_audit.record("log records", self.format(record))


_audit_summary: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def secrets_scan() -> Iterator[None]:
    """At the end of the run: no secret in anything the service let out (tests/secrets_audit.py)."""
    handler = _AuditHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)  # as app/logging.json has it: the access lines too
    root.addHandler(handler)
    yield
    root.removeHandler(handler)
    root.setLevel(level)
    _audit_summary.append(secrets_audit.audit())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in _audit_summary:
        terminalreporter.write_line(line)

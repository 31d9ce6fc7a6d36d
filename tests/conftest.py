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
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.factory import create_app
from app.otel.logs import JsonFormatter
from data.grants import grant_read_only
from data.load import DEFAULT_SIZES, load
from harness import secrets_audit
from harness.database import (
    READER_ROLE,
    SLOW_SCHEMA,
    create_slow_view,
    make_settings,
    recreate_database,
    run_sql,
    with_dbname,
)

TEST_DB = "wfs3_test"


@pytest.fixture(scope="session")
def database_url() -> str:
    base = os.environ.get("DATABASE_URL")
    if not base:
        pytest.fail("DATABASE_URL is not set: run the suite with `make test`")
    url = with_dbname(base, TEST_DB)
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
    return with_dbname(reader, TEST_DB)


@pytest.fixture(scope="session")
def sql(database_url: str) -> Callable[..., Any]:
    return lambda query, *args: run_sql(database_url, query, *args)


@pytest.fixture(scope="session")
def make_app(reader_url: str) -> Callable[..., FastAPI]:
    """Apps as production runs them: through the read-only role, unless given another URL."""

    def factory(url: str | None = None, **api: Any) -> FastAPI:
        app: Any = create_app(make_settings(url or reader_url, **api))
        edge = app.edge  # the outermost layer (app/factory.py): the recorder goes outside it
        app.edge = lambda inner: RecordErrorBodies(edge(inner))
        return cast(FastAPI, app)

    return factory


@pytest.fixture(scope="session")
def client(make_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(make_app(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def slow_view(database_url: str) -> str:
    """The schema of a published view whose items take 2 s (harness.database.SLOW_ITEMS)."""
    create_slow_view(database_url)
    asyncio.run(grant_read_only(database_url, READER_ROLE, [SLOW_SCHEMA]))
    return SLOW_SCHEMA


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
    """At the end of the run: no secret in anything the service let out
    (harness/secrets_audit.py)."""
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

"""The SQL spans of app/otel/sql_spans.py, on a real PostGIS connection, caught in memory.

(That they reach a collector as children of the request span, in both launch modes, is in
tests/test_tracing.py; this is the span logic itself.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, SamplingResult
from opentelemetry.trace import SpanKind, StatusCode

from app.otel import sql_spans
from app.otel.sql_spans import TracedConnection, operation

SECRET = "argument-value-7f3a"


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    monkeypatch.setattr(sql_spans, "_tracer", provider.get_tracer("test"))
    yield memory
    provider.shutdown()


def on_connection(database_url: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        conn = await asyncpg.connect(database_url, connection_class=TracedConnection)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    [span] = exporter.get_finished_spans()
    return span


@pytest.mark.parametrize("method", ["fetch", "fetchval", "fetchrow", "execute"])
def test_one_client_span_per_statement_without_its_arguments(
    database_url: str, exporter: InMemorySpanExporter, method: str
) -> None:
    query = "SELECT count(*) FROM fire_perimeters WHERE fire_name <> $1"
    on_connection(database_url, lambda conn: getattr(conn, method)(query, SECRET))
    span = only_span(exporter)
    assert (span.name, span.kind) == ("SELECT", SpanKind.CLIENT)
    attributes = dict(span.attributes or {})
    assert attributes["db.statement"] == query
    assert attributes["db.system"] == "postgresql"
    assert attributes["db.name"] and attributes["net.peer.port"]
    assert SECRET not in repr(attributes)


def test_a_failing_statement_is_an_error_span(
    database_url: str, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(asyncpg.UndefinedTableError):
        on_connection(database_url, lambda conn: conn.fetch("SELECT * FROM no_such_table"))
    span = only_span(exporter)
    assert span.status.status_code == StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]


def test_suppressed_instrumentation_makes_no_span(
    database_url: str, exporter: InMemorySpanExporter
) -> None:
    async def probe(conn: Any) -> Any:
        with suppress_instrumentation():
            return await conn.fetchval("SELECT 1")

    assert on_connection(database_url, probe) == 1
    assert exporter.get_finished_spans() == ()


def test_span_name_is_the_first_keyword() -> None:
    assert operation("  select 1") == "SELECT"
    assert operation("WITH x AS (SELECT 1) SELECT * FROM x") == "WITH"
    assert operation("") == "SQL"


class CountingSampler(ParentBased):
    def __init__(self) -> None:
        super().__init__(ALWAYS_ON)
        self.calls = 0

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        self.calls += 1
        return super().should_sample(*args, **kwargs)


def test_no_span_at_all_below_an_unsampled_parent(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not even a non-recording one: the sampler is never asked."""
    sampler = CountingSampler()
    monkeypatch.setattr(sql_spans, "_tracer", TracerProvider(sampler=sampler).get_tracer("t"))
    unsampled = trace.NonRecordingSpan(
        trace.SpanContext(0x1234, 0x5678, is_remote=False, trace_flags=trace.TraceFlags(0))
    )

    async def queries(conn: Any) -> Any:
        with trace.use_span(unsampled):
            await conn.fetchval("SELECT 2")
        return await conn.fetchval("SELECT 3")  # no parent: sampled as usual

    assert on_connection(database_url, queries) == 3
    assert sampler.calls == 1

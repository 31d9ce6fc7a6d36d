"""PausingSpanExporter (app/export_breaker.py): after a failed export, batches are dropped
unexported for the pause, then tried again. (End to end: make reliability's collector rows.)"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from app.export_breaker import PausingSpanExporter


class Scripted(SpanExporter):
    def __init__(self, results: list[SpanExportResult]) -> None:
        self.results = results
        self.calls = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.calls += 1
        return self.results.pop(0)


def test_a_failure_pauses_exports_then_they_resume() -> None:
    now = [0.0]
    inner = Scripted([SpanExportResult.FAILURE, SpanExportResult.SUCCESS, SpanExportResult.SUCCESS])
    exporter = PausingSpanExporter(inner, pause_seconds=30, clock=lambda: now[0])
    assert exporter.export([]) is SpanExportResult.FAILURE  # the collector is down
    now[0] = 29.9
    assert exporter.export([]) is SpanExportResult.FAILURE  # paused: not even tried
    assert inner.calls == 1
    now[0] = 30.0
    assert exporter.export([]) is SpanExportResult.SUCCESS  # tried again, and it is back
    assert exporter.export([]) is SpanExportResult.SUCCESS
    assert inner.calls == 3


def test_resume_ends_a_pause() -> None:
    now = [0.0]
    inner = Scripted([SpanExportResult.FAILURE, SpanExportResult.SUCCESS])
    exporter = PausingSpanExporter(inner, pause_seconds=30, clock=lambda: now[0])
    exporter.export([])
    exporter.resume()  # what Telemetry.shutdown does before its final flush
    assert exporter.export([]) is SpanExportResult.SUCCESS
    assert inner.calls == 2

"""The access line written without a LogRecord (app/otel/access_log.py): the same line logging
would write, and a LogRecord whenever anything but the JSON stdout handler listens; on an event
loop, held and written in batches, each line with its own request's trace ids."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanContext

from app.otel import access_log as access_log_module
from app.otel.access_log import BATCH, AccessLine, AccessLog, flush_all
from app.otel.logs import JsonFormatter, RateLimitFilter

ROUTE = "/collections/{collectionId}/items"


def line(path: str, status: int = 200, span: SpanContext | None = None) -> AccessLine:
    """A request's access line, as the observer makes it."""
    return AccessLine(time.time(), "GET", path, ROUTE, status, 0.0123, 456, "10.0.0.1", span)


class CountingStream(io.StringIO):
    """Counts the writes it is given: one per batch of held lines."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


class CountingLogger(logging.Logger):
    """Counts the LogRecords made: none when the line is written directly."""

    records = 0

    def makeRecord(self, *args: Any, **kwargs: Any) -> logging.LogRecord:  # noqa: N802
        self.records += 1
        return super().makeRecord(*args, **kwargs)


@pytest.fixture
def logger() -> Iterator[CountingLogger]:
    """A logger configured as app/logging.json configures the root: JSON to a stream."""
    logger = CountingLogger("test.access")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(CountingStream())
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RateLimitFilter())
    logger.addHandler(handler)
    yield logger


def lines(logger: logging.Logger) -> list[dict[str, Any]]:
    stream = logger.handlers[0].stream  # type: ignore[attr-defined]
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_direct_line_is_the_line_logging_writes(logger: CountingLogger) -> None:
    written = line("/collections/a/items")
    AccessLog(logger).write(written)
    logger.info("%s %s %d", "GET", "/collections/a/items", 200, extra=written.fields())
    direct, logged = lines(logger)
    assert logger.records == 1, "only logger.info made a record"
    assert direct.pop("time")[:19] == logged.pop("time")[:19]
    assert direct == logged
    assert list(direct) == list(logged), "the same keys in the same order"


def captured_records(logger: logging.Logger) -> list[logging.LogRecord]:
    """A handler that wants INFO lines added to `logger`: the records it gets, from now on."""
    captured: list[logging.LogRecord] = []
    capture = logging.Handler(logging.INFO)
    capture.emit = captured.append  # type: ignore[method-assign]
    logger.addHandler(capture)
    return captured


def test_a_handler_that_wants_info_lines_gets_a_record(logger: CountingLogger) -> None:
    access = AccessLog(logger)
    access.write(line("/a"))
    captured = captured_records(logger)
    access.write(line("/b", 404))
    [record] = captured
    assert record.getMessage() == "GET /b 404"
    assert record.__dict__["http.route"] == ROUTE
    assert "trace_id" not in record.__dict__, "a record's ids are its handlers' to add"
    assert [line["message"] for line in lines(logger)] == ["GET /a 200", "GET /b 404"]


def test_a_handler_above_info_leaves_the_line_direct(logger: CountingLogger) -> None:
    """The OTLP log handler's default level is WARNING: it must not cost every request."""
    logger.addHandler(logging.Handler(logging.WARNING))
    AccessLog(logger).write(line("/a"))
    assert logger.records == 0
    assert [line["message"] for line in lines(logger)] == ["GET /a 200"]


def test_a_raised_level_silences_the_line(logger: CountingLogger) -> None:
    access = AccessLog(logger)
    logger.setLevel(logging.WARNING)
    access.write(line("/a"))
    assert lines(logger) == []


def test_a_closed_stream_is_reported_as_logging_reports_it(
    logger: CountingLogger, capsys: pytest.CaptureFixture[str]
) -> None:
    logger.handlers[0].stream.close()  # type: ignore[attr-defined]
    AccessLog(logger).write(line("/a"))
    assert "--- Logging error ---" in capsys.readouterr().err


def writes(logger: logging.Logger) -> int:
    return int(logger.handlers[0].stream.writes)  # type: ignore[attr-defined]


async def _until(condition: Any, seconds: float = 5.0) -> None:
    """Wait for `condition()` on the running loop, with a deadline."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not within the deadline"
        await asyncio.sleep(0.01)


def test_on_an_event_loop_lines_are_held_then_written_together(logger: CountingLogger) -> None:
    async def serve_three() -> tuple[int, int]:
        access = AccessLog(logger)
        for path in ("/a", "/b", "/c"):
            access.write(line(path))
        held = len(lines(logger))
        await _until(lambda: len(lines(logger)) == 3)  # FLUSH_SECONDS after the first
        return held, writes(logger)

    held, written = asyncio.run(serve_three())
    assert held == 0
    assert written == 1, "the three lines in one write"
    assert [line["message"] for line in lines(logger)] == ["GET /a 200", "GET /b 200", "GET /c 200"]


def test_a_full_batch_is_written_at_once(logger: CountingLogger) -> None:
    async def serve_a_batch() -> int:
        access = AccessLog(logger)
        for number in range(BATCH):
            access.write(line(f"/{number}"))
        return len(lines(logger))

    assert asyncio.run(serve_a_batch()) == BATCH
    assert writes(logger) == 1


def test_the_shutdown_writes_what_is_held(logger: CountingLogger) -> None:
    async def serve_one_then_shut_down() -> tuple[int, int]:
        AccessLog(logger).write(line("/a"))
        held = len(lines(logger))
        flush_all()  # factory.py's lifespan, on shutdown
        return held, len(lines(logger))

    assert asyncio.run(serve_one_then_shut_down()) == (0, 1)


def test_a_held_line_keeps_its_own_trace_ids(logger: CountingLogger) -> None:
    """Flushed inside another request's span, each line has its own request's ids, or none."""
    tracer = TracerProvider().get_tracer("test")

    async def two_requests_then_a_third() -> str:
        access = AccessLog(logger)
        with tracer.start_as_current_span("first") as first:
            access.write(line("/a", span=first.get_span_context()))
        access.write(line("/healthz"))  # a probe: no span
        with tracer.start_as_current_span("third"):
            access.flush()
        return f"{first.get_span_context().span_id:016x}"

    first_span_id = asyncio.run(two_requests_then_a_third())
    first, probe = lines(logger)
    assert first["span_id"] == first_span_id
    assert "trace_id" not in probe and "span_id" not in probe


def test_a_new_handler_gets_records_after_the_held_lines_are_written(
    logger: CountingLogger,
) -> None:
    async def hold_then_capture() -> list[logging.LogRecord]:
        access = AccessLog(logger)
        access.write(line("/held"))
        captured = captured_records(logger)
        access.write(line("/captured"))
        return captured

    captured = asyncio.run(hold_then_capture())
    assert [line["message"] for line in lines(logger)] == ["GET /held 200", "GET /captured 200"]
    assert [record.getMessage() for record in captured] == ["GET /captured 200"]


def test_the_module_holds_no_line_for_an_app_that_is_gone() -> None:
    """The registry flush_all walks is weak: an app's AccessLog goes with it."""
    AccessLog(logging.getLogger("test.gone"))
    assert all(log.logger.name != "test.gone" for log in access_log_module._all)

"""The access line written without a LogRecord (app/otel/access_log.py): the same line logging
would write, and a LogRecord whenever anything but the JSON stdout handler listens."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from app.otel.access_log import AccessLog
from app.otel.logs import JsonFormatter, RateLimitFilter

FIELDS = {"http.route": "/collections/{collectionId}/items", "http.response.status_code": 200}


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
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RateLimitFilter())
    logger.addHandler(handler)
    yield logger


def lines(logger: logging.Logger) -> list[dict[str, Any]]:
    stream = logger.handlers[0].stream  # type: ignore[attr-defined]
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_direct_line_is_the_line_logging_writes(logger: CountingLogger) -> None:
    AccessLog(logger).write("GET", "/collections/a/items", 200, dict(FIELDS))
    logger.info("%s %s %d", "GET", "/collections/a/items", 200, extra=dict(FIELDS))
    direct, logged = lines(logger)
    assert logger.records == 1, "only logger.info made a record"
    assert direct.pop("time")[:19] == logged.pop("time")[:19]
    assert direct == logged
    assert list(direct) == list(logged), "the same keys in the same order"


def test_a_handler_that_wants_info_lines_gets_a_record(logger: CountingLogger) -> None:
    captured: list[logging.LogRecord] = []
    access = AccessLog(logger)
    access.write("GET", "/a", 200, dict(FIELDS))
    capture = logging.Handler(logging.INFO)
    capture.emit = captured.append  # type: ignore[method-assign]
    logger.addHandler(capture)
    access.write("GET", "/b", 404, dict(FIELDS))
    [record] = captured
    assert record.getMessage() == "GET /b 404"
    assert record.__dict__["http.route"] == FIELDS["http.route"]
    assert [line["message"] for line in lines(logger)] == ["GET /a 200", "GET /b 404"]


def test_a_handler_above_info_leaves_the_line_direct(logger: CountingLogger) -> None:
    """The OTLP log handler's default level is WARNING: it must not cost every request."""
    logger.addHandler(logging.Handler(logging.WARNING))
    AccessLog(logger).write("GET", "/a", 200, dict(FIELDS))
    assert logger.records == 0
    assert [line["message"] for line in lines(logger)] == ["GET /a 200"]


def test_a_raised_level_silences_the_line(logger: CountingLogger) -> None:
    access = AccessLog(logger)
    logger.setLevel(logging.WARNING)
    access.write("GET", "/a", 200, dict(FIELDS))
    assert lines(logger) == []


def test_a_closed_stream_is_reported_as_logging_reports_it(
    logger: CountingLogger, capsys: pytest.CaptureFixture[str]
) -> None:
    logger.handlers[0].stream.close()  # type: ignore[attr-defined]
    AccessLog(logger).write("GET", "/a", 200, dict(FIELDS))
    assert "--- Logging error ---" in capsys.readouterr().err

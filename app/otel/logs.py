"""Structured logs: one JSON object per line on stdout, configured by app/logging.json.

uvicorn loads that file (`--log-config`) before it imports the app, in every worker, so its own
lines are JSON too. Each line carries the trace and span id of the span it was written in (trace
id in X-Ray form, to paste into the X-Ray console), and any `extra={...}` fields as keys.

The exporters' own complaints (collector down, queue full) are rate-limited: at most one line
per message per minute, with a count of what was held back. They are never sent over OTLP,
which is the path that is failing when they are written.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import orjson
from opentelemetry import trace

from app.otel.xray import format_trace_id

# Attributes every LogRecord has; anything else on a record came from `extra=`.
STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
    | {"message", "asctime", "color_message", "taskName"}
)
TELEMETRY_LOGGERS = ("opentelemetry", "grpc", "app.collector_gate")
RATE_LIMIT_SECONDS = 60.0


def exclude_telemetry_logs(record: logging.LogRecord) -> bool:
    """Filter for the OTLP log handler: the exporters' own logs stay on stdout."""
    return not record.name.startswith(TELEMETRY_LOGGERS)


def span_ids(context: trace.SpanContext) -> dict[str, str]:
    """A line's `trace_id` (X-Ray form) and `span_id`; none for an invalid context."""
    if not context.is_valid:
        return {}
    return {"trace_id": format_trace_id(context.trace_id), "span_id": f"{context.span_id:016x}"}


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str] = (-1, "")  # the last whole second, formatted

    def _time(self, created: float) -> str:
        # One access line per request: format each second once, not each line.
        second = int(created)
        if second != self._second[0]:
            self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{self._second[1]}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k not in STANDARD_ATTRIBUTES}
        if record.exc_info:
            fields["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return self.line(record.created, record.levelname, record.name, record.getMessage(), fields)

    def line(
        self,
        created: float,
        level: str,
        logger: str,
        message: str,
        fields: dict[str, Any],
        *,
        current_ids: bool = True,
    ) -> str:
        """The one shape of a line, for records and for the access line (app/otel/access_log.py,
        which writes without making a record, later, with the ids of its span in `fields` and
        current_ids=False: the span current when it is written is another request's)."""
        entry: dict[str, Any] = {
            "time": self._time(created),
            "level": level,
            "logger": logger,
            "message": message,
        }
        entry.update(fields)
        if current_ids and "trace_id" not in entry:
            entry.update(span_ids(trace.get_current_span().get_span_context()))
        if "exception" in entry:  # last, after the ids: the longest field
            entry["exception"] = entry.pop("exception")
        try:
            return orjson.dumps(entry, default=str).decode()
        except orjson.JSONEncodeError:  # a lone surrogate from an undecodable request path
            return json.dumps(entry, default=str)


class RateLimitFilter(logging.Filter):
    """Lets through one telemetry-exporter line per message template per minute."""

    def __init__(
        self, seconds: float = RATE_LIMIT_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(TELEMETRY_LOGGERS):
            return True
        key = (record.name, str(record.msg))
        now = self.clock()
        with self._lock:
            if now - self._last.get(key, -self.seconds) < self.seconds:
                self._held[key] = self._held.get(key, 0) + 1
                return False
            self._last[key] = now
            held = self._held.pop(key, 0)
        if held:
            record.suppressed_since_last = held
        return True

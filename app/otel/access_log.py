"""The access line: one JSON line per request on stdout, the same shape as every other line.

It is the one line written on every request, and going through `logging` (a LogRecord, the
caller lookup, the handler chain, the formatter's scan of the record for `extra` keys) cost
about a sixth of an item request's CPU in-process, most of what the rest of the observations
cost together (measured with bench/layers.py; the numbers are in BENCHMARKS.md's notes).

So when the handlers that would receive the line are only the service's own JSON stdout
handlers (app/logging.json), the line is formatted by that handler's JsonFormatter and written
to its stream directly. Any other handler that wants INFO lines (the OTLP log handler at
WFS3_OTLP_LOG_LEVEL=info, a test's capture, a deployer's own logging config) gets a normal
LogRecord instead, at once, so nothing that listens to `app.access` misses a line.

Written directly, the lines are also buffered, as nginx's `access_log ... buffer= flush=`: held
until BATCH of them are waiting or FLUSH_SECONDS after the first, whichever comes first, and at
the app's shutdown (flush_all, from factory.py's lifespan); then formatted and written in one
write. A write and flush per line was ~10 us of an item request's ~200 (one system call each;
bench/README.md). So an access line reaches stdout up to FLUSH_SECONDS late, possibly after a
later line of another logger (each has its time stamp), and a killed worker loses at most the
lines of its last FLUSH_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from typing import Any, NamedTuple

from opentelemetry.trace import SpanContext

from app.otel.logs import JsonFormatter, RateLimitFilter, span_ids

LOGGER = logging.getLogger("app.access")
BATCH = 64  # lines held at most: one write of a few kB
FLUSH_SECONDS = 0.5  # the longest a line waits for its batch

_all: weakref.WeakSet[AccessLog] = weakref.WeakSet()  # an app's, while it lives


class AccessLine(NamedTuple):
    """One request's access line as observed; its fields are made only when it is written, a
    batch at a time (in the request they were ~4 us of an untraced item request's ~220)."""

    created: float  # time.time() at the request's end
    method: str
    path: str
    route: str | None
    status: int
    seconds: float
    body_size: int
    client: str | None
    span: SpanContext | None  # the request's own span: a held line is written after it ended

    @property
    def message(self) -> str:
        return f"{self.method} {self.path} {self.status}"

    def fields(self, ids: bool = True) -> dict[str, Any]:
        """The line's fields; with its span's ids unless `ids` is False (a LogRecord, whose
        handlers take the ids of the span current when it is emitted: this one)."""
        fields: dict[str, Any] = {
            "http.request.method": self.method,
            "http.route": self.route,
            "url.path": self.path,
            "http.response.status_code": self.status,
            "duration_ms": round(self.seconds * 1000, 2),
            "http.response.body.size": self.body_size,
            "client.address": self.client,
        }
        if ids and self.span is not None:
            fields.update(span_ids(self.span))
        return fields


class AccessLog:
    def __init__(self, logger: logging.Logger = LOGGER) -> None:
        self.logger = logger
        self._seen: list[object] = []  # the logger's filters and handler chain last looked at
        self._direct: list[logging.StreamHandler[Any]] | None = None  # None: use logging
        self._lock = threading.Lock()  # flush_all runs wherever the app's shutdown does
        self._held: list[AccessLine] = []
        _all.add(self)

    def write(self, line: AccessLine) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        if self._direct_handlers() is None:
            fields = line.fields(ids=False)
            self.logger.info("%s %s %d", line.method, line.path, line.status, extra=fields)
            return
        with self._lock:
            self._held.append(line)
            held = len(self._held)
        if held >= BATCH:
            self.flush()
        elif held == 1:
            _flush_later(self)

    def flush(self) -> None:
        """Write the held lines, in one write per handler."""
        with self._lock:
            held, self._held = self._held, []
        if not held or not self._direct:
            return
        name = self.logger.name
        # Each line's fields made once, whatever the number of handlers.
        entries = [(line.created, line.message, line.fields()) for line in held]
        for handler in self._direct:
            formatter: JsonFormatter = handler.formatter  # type: ignore[assignment]
            lines = [
                formatter.line(created, "INFO", name, message, fields, current_ids=False)
                for created, message, fields in entries
            ]
            try:
                with handler.lock:  # type: ignore[union-attr]  # the lock StreamHandler.emit takes
                    handler.stream.write(handler.terminator.join(lines) + handler.terminator)
                    handler.stream.flush()
            except Exception:  # a closed stream: reported as StreamHandler.emit would
                record = self.logger.makeRecord(
                    name, logging.INFO, "", 0, held[0].message, (), None
                )
                handler.handleError(record)

    def _direct_handlers(self) -> list[logging.StreamHandler[Any]] | None:
        """The JSON stdout handlers to write to, or None when a line must be a LogRecord.
        Decided again only when the logger's filters or its handlers or their levels change;
        the lines held for the handlers decided before are written first."""
        chain = _handler_chain(self.logger)
        seen: list[object] = [*self.logger.filters, *((h, h.level) for h in chain)]
        if seen != self._seen:
            self.flush()
            self._seen = seen
            listening = [h for h in chain if h.level <= logging.INFO]
            direct = not self.logger.filters and all(map(_is_plain_json_stdout, listening))
            self._direct = listening if direct else None  # type: ignore[assignment]
        return self._direct


def flush_all() -> None:
    """Write every app's held lines (the app's shutdown; uvicorn's exit runs no atexit hook)."""
    for access_log in list(_all):
        access_log.flush()


def _flush_later(access_log: AccessLog) -> None:
    """A flush FLUSH_SECONDS from now on the running event loop; at once outside one."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        access_log.flush()
        return
    loop.call_later(FLUSH_SECONDS, access_log.flush)


def _handler_chain(logger: logging.Logger) -> list[logging.Handler]:
    """The handlers a record from `logger` reaches, as Logger.callHandlers walks them."""
    handlers: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        handlers.extend(current.handlers)
        current = current.parent if current.propagate else None
    return handlers


def _is_plain_json_stdout(handler: logging.Handler) -> bool:
    """app/logging.json's handler: a StreamHandler (not a subclass, whose emit may differ) with
    our formatter and no filter but the exporters' rate limit, which never holds app lines."""
    return (
        type(handler) is logging.StreamHandler
        and isinstance(handler.formatter, JsonFormatter)
        and all(isinstance(f, RateLimitFilter) for f in handler.filters)
    )

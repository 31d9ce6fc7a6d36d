"""The access line: one JSON line per request on stdout, the same shape as every other line.

It is the one line written on every request, and going through `logging` (a LogRecord, the
caller lookup, the handler chain, the formatter's scan of the record for `extra` keys) cost
about a sixth of an item request's CPU in-process, most of what the rest of the observations
cost together (measured with bench/layers.py; the numbers are in BENCHMARKS.md's notes).

So when the handlers that would receive the line are only the service's own JSON stdout
handlers (app/logging.json), the line is formatted by that handler's JsonFormatter and written
to its stream directly. Any other handler that wants INFO lines (the OTLP log handler at
WFS3_OTLP_LOG_LEVEL=info, a test's capture, a deployer's own logging config) gets a normal
LogRecord instead, so nothing that listens to `app.access` misses a line.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from app.otel.logs import JsonFormatter, RateLimitFilter

LOGGER = logging.getLogger("app.access")


class AccessLog:
    def __init__(self, logger: logging.Logger = LOGGER) -> None:
        self.logger = logger
        self._seen: list[object] = []  # the logger's filters and handler chain last looked at
        self._direct: list[logging.StreamHandler[Any]] | None = None  # None: use logging

    def write(self, method: str, path: str, status: int, fields: dict[str, Any]) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        direct = self._direct_handlers()
        if direct is None:
            self.logger.info("%s %s %d", method, path, status, extra=fields)
            return
        created, message = time.time(), f"{method} {path} {status}"
        for handler in direct:
            formatter: JsonFormatter = handler.formatter  # type: ignore[assignment]
            line = formatter.line(created, "INFO", self.logger.name, message, fields)
            try:
                with handler.lock:  # type: ignore[union-attr]  # the lock StreamHandler.emit takes
                    handler.stream.write(line + handler.terminator)
                    handler.stream.flush()
            except Exception:  # a closed stream: reported as StreamHandler.emit would
                record = self.logger.makeRecord(
                    self.logger.name, logging.INFO, "", 0, message, (), None, extra=fields
                )
                handler.handleError(record)

    def _direct_handlers(self) -> list[logging.StreamHandler[Any]] | None:
        """The JSON stdout handlers to write to, or None when a line must be a LogRecord.
        Decided again only when the logger's filters or its handlers or their levels change."""
        chain = _handler_chain(self.logger)
        seen: list[object] = [*self.logger.filters, *((h, h.level) for h in chain)]
        if seen != self._seen:
            self._seen = seen
            listening = [h for h in chain if h.level <= logging.INFO]
            direct = not self.logger.filters and all(map(_is_plain_json_stdout, listening))
            self._direct = listening if direct else None  # type: ignore[assignment]
        return self._direct


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

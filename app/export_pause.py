"""A pause in span export while the collector is unreachable, that keeps the newest spans.

With the collector down, the OTLP/gRPC exporter (SDK 1.45) spends each batch's 10 s timeout
retrying it, re-encoding it on every attempt, while every span ended meanwhile takes the batch
processor's "queue full" logging path: about 4 % of a busy worker's samples (py-spy), and
`make reliability` measured 0.93 x the rate and 1.21 x the p99 of a healthy twin.

After a failed export this wrapper stops exporting from the batch processor's thread: batches
handed over are kept, newest first, up to HOLD spans, and nothing is encoded or sent. A timer
tries the kept spans again after PAUSE_SECONDS, and again after each failure. Once one attempt
succeeds, exporting resumes and the kept spans go out with the next batch. So the spans sent
after a collector comes back are delivered, whether or not traffic continues (a first version
that dropped batches during the pause lost them all when traffic stopped). Shutdown sends what
is kept, within the app's flush budget.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

PAUSE_SECONDS = 5.0
HOLD = 2048  # spans kept during a pause, as many as the batch processor's own queue

Timer = Callable[[float, Callable[[], None]], None]


def daemon_timer(seconds: float, callback: Callable[[], None]) -> None:
    timer = threading.Timer(seconds, callback)
    timer.daemon = True
    timer.start()


class PausingSpanExporter(SpanExporter):
    def __init__(
        self,
        inner: SpanExporter,
        pause_seconds: float = PAUSE_SECONDS,
        hold: int = HOLD,
        start_timer: Timer = daemon_timer,
    ) -> None:
        self.inner = inner
        self.pause_seconds = pause_seconds
        self.start_timer = start_timer
        self._lock = threading.Lock()
        self._kept: deque[ReadableSpan] = deque(maxlen=hold)
        self._paused = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            if self._paused:
                self._kept.extend(spans)
                return SpanExportResult.FAILURE
            batch = [*self._kept, *spans]
            self._kept.clear()
        return self._send(batch)

    def _send(self, batch: list[ReadableSpan]) -> SpanExportResult:
        """Export `batch`; on failure keep it and pause (the timer will try again)."""
        result = self.inner.export(batch) if batch else SpanExportResult.SUCCESS
        with self._lock:
            self._paused = result is not SpanExportResult.SUCCESS
            if self._paused:  # keep it, older than what arrived meanwhile; the newest win
                newer = list(self._kept)
                self._kept.clear()
                self._kept.extend([*batch, *newer])
        if self._paused:
            self.start_timer(self.pause_seconds, self._retry)
        return result

    def _retry(self) -> None:
        with self._lock:
            batch = list(self._kept)
            self._kept.clear()
        self._send(batch)

    def shutdown(self) -> None:
        with self._lock:
            batch = list(self._kept)
            self._kept.clear()
        if batch:
            self.inner.export(batch)
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)

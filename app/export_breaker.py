"""A pause after a failed span export, so an unreachable collector costs (almost) nothing.

With the collector down, the OTLP/gRPC exporter (SDK 1.45) spends each batch's timeout retrying
it: it re-encodes the batch on every attempt, and meanwhile the batch processor's queue stays
full, so every span ended takes the SDK's "Queue full" logging path before it is dropped. Both
are work on the serving process for spans that are lost anyway (py-spy, collector absent: about
4 % of the samples). After a failed export this wrapper fails the following batches at once,
unencoded, for PAUSE_SECONDS: the processor drops them a batch at a time and its queue drains.
Then the next batch is tried for real.

The price is recovery time: spans flow again up to PAUSE_SECONDS later than without the pause
after a collector comes back (README, "When the collector is down", has the figures). A shutdown
resumes first, so the last spans always get a real try.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

PAUSE_SECONDS = 10.0


class PausingSpanExporter(SpanExporter):
    def __init__(
        self,
        inner: SpanExporter,
        pause_seconds: float = PAUSE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.pause_seconds = pause_seconds
        self.clock = clock
        self._paused_until = 0.0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.clock() < self._paused_until:
            return SpanExportResult.FAILURE
        result = self.inner.export(spans)
        if result is not SpanExportResult.SUCCESS:
            self._paused_until = self.clock() + self.pause_seconds
        return result

    def resume(self) -> None:
        """End a pause now (before the final flush)."""
        self._paused_until = 0.0

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)

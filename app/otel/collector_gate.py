"""Spans are not even queued while the collector does not answer.

Without this, an absent or silent collector costs the serving thread on every span: the SDK's
exporter retries each batch for up to its timeout, re-encoding it each time, while the full queue
turns each new span into a dropped one through a logging call (py-spy, docs/telemetry.md "When the
collector is down": ~4 % of a busy worker's samples, and p99 1.2 x that of a twin with a collector).

The gate closes when an export fails *and* the collector does not react to a probe, so a batch
the collector rejects leaves it open. While it is closed, ended spans are counted and let go on
the spot, and a thread probes the collector once a second; its first reaction opens the gate, so
spans flow again about a second after the collector is back, without a restart.

The probe connects and sends the HTTP/2 client preface, which is what a gRPC client sends first.
A collector reacts (a gRPC receiver with its SETTINGS, an HTTP/1 one with an error or by closing);
a closed port refuses the connection, and a black hole accepts it and stays silent.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

# The name its log lines had before app/otel existed: log filters and alarms match on it.
logger = logging.getLogger("app.collector_gate")

PROBE_INTERVAL_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 0.5
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def collector_answers(address: tuple[str, int], timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """Whether whatever listens at `address` reacts to a new connection within `timeout`: with
    bytes, a close or a reset. False when nothing listens or it stays silent."""
    try:
        conn = socket.create_connection(address, timeout=timeout)
    except OSError:
        return False
    with conn:
        try:
            conn.sendall(HTTP2_PREFACE)
            conn.recv(1)
        except TimeoutError:
            return False
        except OSError:  # reset: a listener that closed on us, which is a reaction
            pass
    return True


class CollectorGate:
    """Open while the collector is believed to answer; see the module's docstring."""

    def __init__(self, address: tuple[str, int], interval: float = PROBE_INTERVAL_SECONDS) -> None:
        self.address = address
        self.interval = interval
        self.is_open = True
        self.dropped = 0  # spans let go since the gate last closed
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def export_failed(self) -> None:
        """An export failed: close the gate, unless the collector still answers (then it was
        that batch the collector refused, and the next one may well go through)."""
        if self.is_open and not collector_answers(self.address):
            self._close()

    def stop(self) -> None:
        self._stopped.set()

    def _close(self) -> None:
        with self._lock:
            if not self.is_open:
                return
            self.is_open = False
            self.dropped = 0
        logger.warning(
            "collector at %s:%d does not answer: spans are dropped until it does",
            *self.address,
            extra={"probe_interval_s": self.interval},
        )
        threading.Thread(target=self._probe_until_open, name="collector-probe", daemon=True).start()

    def _probe_until_open(self) -> None:
        closed_at = time.monotonic()
        while not self._stopped.wait(self.interval):
            if collector_answers(self.address):
                self.is_open = True
                logger.warning(
                    "collector at %s:%d answers again: spans are exported",
                    *self.address,
                    extra={
                        "closed_s": round(time.monotonic() - closed_at, 1),
                        "spans_dropped": self.dropped,
                    },
                )
                return


class GatedSpanExporter(SpanExporter):
    """Refuses batches at once while the gate is closed; a failed export may close it."""

    def __init__(self, exporter: SpanExporter, gate: CollectorGate) -> None:
        self.exporter = exporter
        self.gate = gate

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not self.gate.is_open:
            return SpanExportResult.FAILURE
        result = self.exporter.export(spans)
        if result is SpanExportResult.FAILURE:
            self.gate.export_failed()
        return result

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self.gate.stop()
        self.exporter.shutdown()


class GatedBatchSpanProcessor(BatchSpanProcessor):
    """The SDK's batch processor, which does not queue a span while the gate is closed."""

    def __init__(self, exporter: SpanExporter, gate: CollectorGate) -> None:
        super().__init__(GatedSpanExporter(exporter, gate))
        self.gate = gate

    def on_end(self, span: ReadableSpan) -> None:
        if self.gate.is_open:
            super().on_end(span)
        else:
            self.gate.dropped += 1

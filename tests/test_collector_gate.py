"""The collector gate (app/otel/collector_gate.py): the probe against real listeners, and the gate
closing and opening again around a real OTLP receiver that is stopped and started."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from app.otel.collector_gate import CollectorGate, GatedBatchSpanProcessor, collector_answers
from app.otel.endpoint import address_of
from app.otel.exporters import GRPC_CHANNEL_OPTIONS
from harness.faults import BlackHole, closed_port, port_below_ephemeral_range
from harness.otlp_receiver import OtlpReceiver
from harness.polling import eventually

PROBE_INTERVAL = 0.2
ANSWER_WITHIN = 10.0  # seconds; a listener that has not reacted by then never will


@pytest.mark.parametrize(
    ("endpoint", "address"),
    [
        ("http://localhost:4317", ("localhost", 4317)),
        ("collector:4317", ("collector", 4317)),
        ("http://otel.example:4318/v1/traces", ("otel.example", 4318)),
        ("https://otel.example", ("otel.example", 443)),
    ],
)
def test_address_of_an_endpoint(endpoint: str, address: tuple[str, int]) -> None:
    assert address_of(endpoint) == address


@pytest.fixture
def http1_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1/traces"
    server.shutdown()


def test_probe_tells_a_collector_from_a_closed_port_and_a_black_hole(http1_server: str) -> None:
    receiver = OtlpReceiver(discard=True)
    receiver.start()
    # A generous timeout where something answers: the probe returns as soon as it does.
    try:
        assert collector_answers(address_of(receiver.endpoint), ANSWER_WITHIN)  # gRPC: SETTINGS
    finally:
        receiver.stop()
    assert collector_answers(address_of(http1_server), ANSWER_WITHIN)  # HTTP/1: an error
    with closed_port() as endpoint:
        assert not collector_answers(address_of(endpoint))
    with BlackHole() as hole:
        assert not collector_answers(address_of(hole.endpoint), timeout=0.2)


def _end_spans(provider: TracerProvider, count: int, phase: str = "span") -> None:
    tracer = provider.get_tracer(__name__)
    for number in range(count):
        tracer.start_span(f"{phase} {number}").end()


class Refusing(SpanExporter):
    """A collector that answers but refuses every batch (a bad payload, say)."""

    def __init__(self) -> None:
        self.batches = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.batches += 1
        return SpanExportResult.FAILURE


def test_a_refused_batch_leaves_the_gate_open_while_the_collector_answers() -> None:
    receiver = OtlpReceiver(discard=True)
    receiver.start()
    gate = CollectorGate(address_of(receiver.endpoint), interval=PROBE_INTERVAL)
    exporter = Refusing()
    provider = TracerProvider()
    provider.add_span_processor(GatedBatchSpanProcessor(exporter, gate))
    try:
        for _ in range(3):
            _end_spans(provider, 1)
            provider.force_flush()
        assert exporter.batches == 3
        assert gate.is_open
    finally:
        provider.shutdown()
        receiver.stop()


def test_the_gate_closes_while_the_collector_is_gone_and_opens_when_it_is_back() -> None:
    receiver = OtlpReceiver(port=port_below_ephemeral_range())
    receiver.start()
    port = receiver.port
    gate = CollectorGate(address_of(receiver.endpoint), interval=PROBE_INTERVAL)
    # A 3 s export deadline keeps the failing flush below short; nothing here depends on it.
    exporter = OTLPSpanExporter(
        endpoint=receiver.endpoint, insecure=True, timeout=3, channel_options=GRPC_CHANNEL_OPTIONS
    )
    provider = TracerProvider()
    provider.add_span_processor(GatedBatchSpanProcessor(exporter, gate))
    try:
        _end_spans(provider, 5)
        provider.force_flush()
        assert len(receiver.spans) == 5

        receiver.stop()
        _end_spans(provider, 5)
        provider.force_flush()  # fails, and the probe finds nobody: closed
        assert not gate.is_open
        _end_spans(provider, 7, "closed")
        assert gate.dropped == 7  # let go on the spot, never queued

        back = OtlpReceiver(port=port)
        back.start()
        eventually(lambda: gate.is_open, what="the gate open again")

        def delivered_after_reopening() -> list[str]:
            _end_spans(provider, 1, "after")
            provider.force_flush()
            return [s.name for s in back.spans if s.name.startswith("after")]

        # An export may still fail while the new channel connects: retried until one arrives.
        eventually(delivered_after_reopening, what="a span delivered after reopening")
        assert not [s for s in back.spans if s.name.startswith("closed")], "kept while closed"
        back.stop()
    finally:
        provider.shutdown()

"""app/otel/span_encoding.py: the same OTLP message as the SDK's encoder, for every kind of span
content, and the gRPC exporter sends it."""

from __future__ import annotations

import inspect
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.exporter import OTLPExporterMixin
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, StatusCode, TraceFlags, TraceState

from app.otel import span_encoding
from app.otel.exporters import EXPORTERS
from app.otel.span_encoding import OTLPSpanExporter, SpanEncoder

EVERY_TYPE = {
    "text": "GET",
    "flag": True,
    "count": 7,
    "ratio": 0.5,
    "texts": ("a", "b"),
    "flags": (True, False),
    "counts": (1, 2),
    "ratios": (0.25, 1.0),
}
REMOTE_PARENT = SpanContext(
    trace_id=0x5759E988BD862E3FE1BE46A994272793,
    span_id=0x53995C3F42CD8AD8,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "value")]),
)


def finished_spans(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    """Spans with each thing a span can carry, from two tracers (scopes) of `provider`."""
    server = provider.get_tracer("server", "1.2", schema_url="https://opentelemetry.io/schemas/1")
    sql = provider.get_tracer("sql")
    parent = trace.set_span_in_context(trace.NonRecordingSpan(REMOTE_PARENT))
    with server.start_as_current_span("GET", context=parent, kind=SpanKind.SERVER) as span:
        span.set_attributes(EVERY_TYPE)
        span.add_event("page", {"ogc.items.number_returned": 10, "kinds": ("a",)})
        with sql.start_as_current_span("SELECT", kind=SpanKind.CLIENT) as child:
            child.set_attribute("db.statement", "SELECT 1")
            child.set_status(StatusCode.ERROR, "statement timeout")
            child.record_exception(TimeoutError("canceling statement"))
    link = Link(REMOTE_PARENT, {"why": "follows"})
    with server.start_as_current_span("catalog.load", links=[link]) as span:
        span.set_attribute("text", "GET")  # the same pair as above: a kept KeyValue, reused
        # Equal in Python to pairs above (True == 1 == 1.0, (1, 2) == (True, 2)), not in OTLP.
        span.set_attributes({"flag": 1, "count": 7.0, "ratio": 0, "counts": (True, 2)})


def spans_of_two_resources() -> Sequence[ReadableSpan]:
    exporter = InMemorySpanExporter()
    for name in ("veda-wfs3", "other"):
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        finished_spans(provider, exporter)
    return exporter.get_finished_spans()


def test_the_message_is_the_sdk_encoders() -> None:
    spans = spans_of_two_resources()
    assert len(spans) == 6
    assert SpanEncoder().request(spans) == encode_spans(spans)


def test_dropped_counts_and_long_values_are_the_sdk_encoders() -> None:
    # Counts past the span limits, and values whose lengths take a varint of two bytes or more.
    exporter = InMemorySpanExporter()
    limits = SpanLimits(max_span_attributes=2, max_events=1, max_links=1)
    provider = TracerProvider(span_limits=limits)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    links = [Link(REMOTE_PARENT), Link(REMOTE_PARENT)]
    with provider.get_tracer("t").start_as_current_span("é" * 200, links=links) as span:
        span.set_attributes({"db.query.text": "SELECT " + "x, " * 5000, "n": -3, "m": 2**40})
        span.add_event("one")
        span.add_event("two")
    spans = exporter.get_finished_spans()
    assert (spans[0].dropped_attributes, spans[0].dropped_events, spans[0].dropped_links) == (
        1,
        1,
        1,
    )
    assert SpanEncoder().request(spans) == encode_spans(spans)


def test_kept_key_values_stay_right_across_batches_and_a_full_cache() -> None:
    spans = spans_of_two_resources()
    encoder = SpanEncoder()
    for _ in range(3):
        assert encoder.request(spans) == encode_spans(spans)
    kept, span_encoding.KEPT_PAIRS = span_encoding.KEPT_PAIRS, 3
    try:
        assert encoder.request(spans) == encode_spans(spans)
    finally:
        span_encoding.KEPT_PAIRS = kept


def test_the_grpc_exporter_sends_what_our_encoder_makes() -> None:
    # _translate_data is private in opentelemetry-exporter-otlp-proto-grpc: it must still be the
    # method whose result the base exporter sends.
    assert "_translate_data" in vars(GrpcSpanExporter)
    assert "self._translate_data(data)" in inspect.getsource(OTLPExporterMixin._export)
    assert EXPORTERS[("traces", "grpc")] == "app.otel.span_encoding:OTLPSpanExporter"
    spans = spans_of_two_resources()
    exporter = OTLPSpanExporter(endpoint="http://127.0.0.1:9", insecure=True)
    try:
        assert exporter._translate_data(spans) == encode_spans(spans)
    finally:
        exporter.shutdown()

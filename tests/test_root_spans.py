"""RootSpans (app/otel/root_spans.py) makes root server spans itself, an unsampled one as a
NonRecordingSpan and a sampled one as a RecordedSpan: either way the span must be what the SDK's
start_span would make, and the sampler asked exactly once per span."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    StaticSampler,
)
from opentelemetry.trace import Link, NonRecordingSpan, SpanKind, TraceFlags
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from app.otel.recorded_spans import RecordedSpan
from app.otel.root_spans import NO_PARENT, RootSpans
from app.otel.xray import AdoptingXRayIdGenerator

ATTRIBUTES = {"http.request.method": "GET", "url.path": "/collections", "server.address": "h"}
STATE = TraceState([("vendor", "value")])


class Counting(Sampler):
    """A root sampler that answers `decision` (with a trace state) and writes down the trace ids
    it was asked about."""

    def __init__(self, decision: Decision) -> None:
        self.inner = StaticSampler(decision)
        self.asked: list[int] = []

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        self.asked.append(trace_id)
        result = self.inner.should_sample(parent_context, trace_id, name, kind, attributes)
        return SamplingResult(result.decision, result.attributes, STATE)

    def get_description(self) -> str:
        return "Counting"


class Kept(SpanProcessor):
    """Every span the processors are told of, sampled or not (an exporter gets only sampled)."""

    def __init__(self) -> None:
        self.started: list[object] = []
        self.ended: list[ReadableSpan] = []

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.started.append(span)

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


def _roots(decision: Decision) -> tuple[RootSpans, Counting, Kept, TracerProvider]:
    counting = Counting(decision)
    provider = TracerProvider(
        sampler=ParentBased(counting),
        id_generator=AdoptingXRayIdGenerator(),
        shutdown_on_exit=False,
    )
    kept = Kept()
    provider.add_span_processor(kept)
    roots = RootSpans.of(provider.get_tracer("test"))
    assert roots is not None
    return roots, counting, kept, provider


def test_an_unsampled_root_span_is_the_sdks_without_the_sdk() -> None:
    roots, counting, kept, provider = _roots(Decision.DROP)
    span = roots.start("GET", ATTRIBUTES)
    sdk = provider.get_tracer("test").start_span("GET", NO_PARENT, SpanKind.SERVER, ATTRIBUTES)
    ours, theirs = span.get_span_context(), sdk.get_span_context()
    assert type(span) is type(sdk) is NonRecordingSpan
    assert ours.is_valid and not ours.is_remote
    assert (ours.trace_flags, ours.trace_state) == (theirs.trace_flags, theirs.trace_state)
    assert ours.trace_flags == TraceFlags(TraceFlags.DEFAULT) and ours.trace_state == STATE
    # An X-Ray id: its first 32 bits are the epoch second it was made.
    assert abs((ours.trace_id >> 96) - time.time()) < 600
    assert counting.asked == [ours.trace_id, theirs.trace_id]
    span.end()
    assert kept.started == kept.ended == []


@pytest.mark.parametrize("decision", [Decision.RECORD_AND_SAMPLE, Decision.RECORD_ONLY])
def test_a_recorded_root_span_is_the_sdks_with_the_sampler_asked_once(decision: Decision) -> None:
    roots, counting, kept, provider = _roots(decision)
    span = roots.start("GET", ATTRIBUTES)
    assert isinstance(span, RecordedSpan) and span.is_recording()
    assert kept.started == [span], "the processors are told of its start"
    span.end()
    provider.get_tracer("test").start_span("GET", NO_PARENT, SpanKind.SERVER, ATTRIBUTES).end()
    ours, theirs = kept.ended
    assert isinstance(ours, ReadableSpan) and ours.context is not None
    assert counting.asked[0] == ours.context.trace_id, "asked once, about the span's own id"
    assert len(counting.asked) == 2
    for field in ("name", "kind", "parent", "attributes", "resource", "instrumentation_scope"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert theirs.context is not None
    assert ours.context.trace_flags == theirs.context.trace_flags
    assert ours.context.trace_state == theirs.context.trace_state == STATE


def test_roots_are_made_for_sdk_tracers_without_a_value_length_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a limit on value lengths (which RecordedSpan does not apply), or a tracer that is
    not the SDK's, the SDK makes every span."""
    provider = TracerProvider(shutdown_on_exit=False)
    assert RootSpans.of(provider.get_tracer("test")) is not None
    assert RootSpans.of(trace.NoOpTracer()) is None
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64")
    assert RootSpans.of(provider.get_tracer("test")) is None

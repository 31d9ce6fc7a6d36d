"""Root server spans made without the SDK's start_span.

Most requests start a trace (they carry no propagation header) and most are not sampled (10 % are,
as deployed). For each of those the SDK's Tracer.start_span looks the parent up twice, builds a
SamplingResult, two TraceFlags, a SpanContext and a NonRecordingSpan, through a dozen calls. Here
the tracer's own id generator and sampler decide, exactly as start_span would ask them, once per
span; an unsampled span is then a NonRecordingSpan made here, and a sampled one a RecordedSpan
(recorded_spans.py), each with the ids, flags and trace state start_span would give it.

An unsampled item request's CPU in-process (`OTEL_TRACES_SAMPLER=always_off python -m
bench.inprocess .../items/5 on`, two sets of 10 runs interleaved with the SDK's start_span),
median: 174 -> 170 us, and 199 -> 186 us on a busier machine.

Used only for a tracer RecordedSpans can record for (`RootSpans.of`); otherwise, and for a request
that continues a caller's trace, start_span makes every span. What start_span also does and this
does not: count spans in the SDK's own metrics (only with OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED)
and ask a tracer configurator (telemetry.py sets none).
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags

from app.otel.recorded_spans import RecordedSpans

NO_PARENT = Context()  # a root span's parent context: none


class RootSpans:
    """Starts root SERVER spans of an SDK tracer, deciding as its start_span would."""

    def __init__(self, recorded: RecordedSpans) -> None:
        self.ids = recorded.ids  # the tracer's, which RecordedSpans keeps
        self.sampler = recorded.sampler
        self.recorded = recorded
        # The flags start_span gives a root span, unsampled and sampled.
        random = TraceFlags.RANDOM_TRACE_ID if self.ids.is_trace_id_random() else 0
        self.unsampled = TraceFlags(TraceFlags.DEFAULT | random)
        self.sampled = TraceFlags(TraceFlags.SAMPLED | random)

    @classmethod
    def of(cls, tracer: trace.Tracer) -> RootSpans | None:
        """For an SDK tracer whose spans RecordedSpans can record; None otherwise."""
        recorded = RecordedSpans.of(tracer)
        return None if recorded is None else cls(recorded)

    def start(self, name: str, attributes: dict[str, str]) -> Span:
        """A root SERVER span named `name`, as `tracer.start_span` would make it."""
        trace_id = self.ids.generate_trace_id()
        result = self.sampler.should_sample(NO_PARENT, trace_id, name, SpanKind.SERVER, attributes)
        sampled = result.decision is Decision.RECORD_AND_SAMPLE
        flags = self.sampled if sampled else self.unsampled
        span_id = self.ids.generate_span_id()
        context = SpanContext(trace_id, span_id, False, flags, result.trace_state)
        if result.decision is Decision.DROP:
            return NonRecordingSpan(context)
        return self.recorded.start(
            name, context, None, SpanKind.SERVER, result.attributes, NO_PARENT
        )

"""Root server spans decided before they are made: an unsampled request's span without the SDK's
start_span.

Most requests start a trace (they carry no propagation header) and most are not sampled (10 % are,
as deployed). For each of those the SDK's Tracer.start_span looks the parent up twice, builds a
SamplingResult, two TraceFlags, a SpanContext and a NonRecordingSpan, through a dozen calls. Here
the provider's own id generator and sampler decide first, exactly as start_span would ask them; an
unsampled span is then a NonRecordingSpan made here, with the ids, flags and trace state start_span
would give it. A span the sampler wants recorded is made by the SDK as before, with the id and the
decision already made handed back to it: the id by the id generator (xray.AdoptingXRayIdGenerator,
as it hands an ALB's Root), the decision by DecidedOnce, the provider's sampler, so that no sampler
is asked twice about one span (the X-Ray rules sampler's reservoir and statistics count each
request once).

An unsampled item request's CPU in-process (`OTEL_TRACES_SAMPLER=always_off python -m
bench.inprocess .../items/5 on`, two sets of 10 runs interleaved with the SDK's start_span),
median: 174 -> 170 us, and 199 -> 186 us on a busier machine.

Used only when the provider is the one telemetry.py builds (`RootSpans.of`); otherwise, and for
a request that continues a caller's trace, start_span makes every span. What start_span also does
for an unsampled span and this does not: count it in the SDK's own metrics (only with
OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED) and ask a tracer configurator (telemetry.py sets none).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from app.otel.xray import AdoptingXRayIdGenerator, adopted

NO_PARENT = Context()  # a root span's parent context: none
_decided: ContextVar[tuple[int, SamplingResult] | None] = ContextVar("decided_root", default=None)


class DecidedOnce(Sampler):
    """The provider's sampler: `inner`, except that a decision RootSpans made is given back, once,
    for the trace id it was made for."""

    def __init__(self, inner: Sampler) -> None:
        self.inner = inner

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
        decided = _decided.get()
        if decided is not None and decided[0] == trace_id:
            _decided.set(None)
            return decided[1]
        return self.inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return self.inner.get_description()


class RootSpans:
    """Starts root SERVER spans of `tracer`, whose provider decides through DecidedOnce and makes
    ids with AdoptingXRayIdGenerator."""

    def __init__(self, tracer: trace.Tracer, provider: TracerProvider) -> None:
        self.tracer = tracer
        self.ids = provider.id_generator
        self.sampler = provider.sampler
        # The flags start_span gives an unsampled root span.
        self.unsampled = TraceFlags(
            TraceFlags.DEFAULT
            | (TraceFlags.RANDOM_TRACE_ID if self.ids.is_trace_id_random() else 0)
        )

    @classmethod
    def of(cls, tracer: trace.Tracer) -> RootSpans | None:
        """For the current provider, if it is one telemetry.py builds; None otherwise."""
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            return None
        if not isinstance(provider.sampler, DecidedOnce):
            return None
        if not isinstance(provider.id_generator, AdoptingXRayIdGenerator):
            return None
        return cls(tracer, provider)

    def start(self, name: str, attributes: dict[str, str]) -> Span:
        """A root SERVER span named `name`, as `tracer.start_span` would make it."""
        trace_id = self.ids.generate_trace_id()
        result = self.sampler.should_sample(NO_PARENT, trace_id, name, SpanKind.SERVER, attributes)
        if result.decision is Decision.DROP:
            span_id = self.ids.generate_span_id()
            context = SpanContext(trace_id, span_id, False, self.unsampled, result.trace_state)
            return NonRecordingSpan(context)
        decided = _decided.set((trace_id, result))
        try:
            with adopted(trace_id):
                return self.tracer.start_span(
                    name, context=NO_PARENT, kind=SpanKind.SERVER, attributes=attributes
                )
        finally:
            _decided.reset(decided)


def deciding_once(sampler: Sampler | None) -> DecidedOnce:
    """`sampler`, or the one the SDK would build from OTEL_TRACES_SAMPLER (read from a provider
    made for the purpose: the SDK's own function for it is private), as DecidedOnce."""
    return DecidedOnce(sampler or TracerProvider(shutdown_on_exit=False).sampler)

"""X-Ray trace ids: adopt an ALB's Root-only header, and write ids in X-Ray form.

An Application Load Balancer sends `X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793`
with no `Parent`. The stock AwsXRayPropagator needs a parent span id, so it ignores that header and
the request starts an unrelated trace. We want the ALB's access log and X-Ray to share one trace
id, with our server span as the root of that trace (there is no parent to invent).

OpenTelemetry takes a root span's trace id from the IdGenerator, which does not see the extracted
context. So the propagator leaves the adopted Root in a context variable of the request's task, and
the id generator hands it out once, for the next trace id it is asked for: the server span, which
the instrumentation starts right after extracting.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.propagators.textmap import CarrierT, Getter, default_getter
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator

ROOT_PATTERN = re.compile(r"(?:^|;)\s*Root=1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})\s*(?:;|$)")
HEADER = "X-Amzn-Trace-Id"

_adopted_root: ContextVar[int | None] = ContextVar("xray_adopted_root", default=None)


def parse_root(header: str) -> int | None:
    """The trace id of a `Root=1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx` field, or None."""
    match = ROOT_PATTERN.search(header)
    if match is None:
        return None
    trace_id = int(match.group(1) + match.group(2), 16)
    return trace_id or None


LOW_96_BITS = (1 << 96) - 1


def format_trace_id(trace_id: int) -> str:
    """128-bit trace id → `1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx` (X-Ray's form): its first 32
    bits (the epoch seconds of an X-Ray id), then the other 96; one format, no slicing."""
    return f"1-{trace_id >> 96:08x}-{trace_id & LOW_96_BITS:024x}"


class AlbAwareXRayPropagator(AwsXRayPropagator):
    """AwsXRayPropagator that also adopts a Root-only header (what an ALB sends)."""

    def extract(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        getter: Getter[CarrierT] = default_getter,
    ) -> Context:
        _adopted_root.set(None)
        extracted = super().extract(carrier, context=context, getter=getter)
        if trace.get_current_span(extracted).get_span_context().is_valid:
            return extracted
        values = getter.get(carrier, HEADER)
        if values and len(values) == 1:
            _adopted_root.set(parse_root(values[0]))
        return extracted


class AdoptingXRayIdGenerator(AwsXRayIdGenerator):
    """X-Ray ids (time-prefixed), except that an adopted ALB Root is used once, as is."""

    def generate_trace_id(self) -> int:
        adopted = _adopted_root.get()
        if adopted is not None:
            _adopted_root.set(None)
            return adopted
        trace_id: int = super().generate_trace_id()
        return trace_id


def trace_header(context: trace.SpanContext) -> str | None:
    """`Root=1-…` for a span, for responses and error bodies; None for no span."""
    if not context.is_valid:
        return None
    return f"Root={format_trace_id(context.trace_id)}"


def current_trace_header() -> str | None:
    """trace_header of the current span."""
    return trace_header(trace.get_current_span().get_span_context())

"""server_span._propagation_headers: the caller's context read from the headers gathered in one
pass is the context asgi_getter's scan of the scope gives, for the propagators the service sets
up (X-Ray, adopting an ALB's Root, and W3C trace context); and with none of their headers,
the empty context start_server_span uses instead of extracting."""

from __future__ import annotations

from typing import Any, cast

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.asgi import asgi_getter
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from app.otel.server_span import HEADER_GETTER, NO_PARENT, _propagation_headers
from app.otel.xray import AlbAwareXRayPropagator

XRAY = b"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
TRACEPARENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
HEADER_SETS = [
    [],
    [(b"x-amzn-trace-id", XRAY)],
    [(b"x-amzn-trace-id", b"Root=1-5759e988-bd862e3fe1be46a994272793")],  # an ALB's
    [(b"traceparent", TRACEPARENT), (b"tracestate", b"a=b")],
    [(b"x-amzn-trace-id", XRAY), (b"x-amzn-trace-id", XRAY)],  # twice: ignored, as before
    [(b"x-amzn-trace-id", b"garbage"), (b"user-agent", b"QGIS")],
]


@pytest.mark.parametrize("headers", HEADER_SETS)
def test_the_context_is_the_one_asgi_getter_reads(headers: list[tuple[bytes, bytes]]) -> None:
    propagator = CompositePropagator([AlbAwareXRayPropagator(), TraceContextTextMapPropagator()])
    scope = {"type": "http", "headers": [(b"host", b"example.org"), *headers]}
    gathered = _propagation_headers(scope, propagator)
    assert set(gathered) <= {"x-amzn-trace-id", "traceparent", "tracestate"}
    ours = propagator.extract(gathered, getter=HEADER_GETTER)
    theirs = propagator.extract(cast(dict[str, Any], scope), getter=asgi_getter)
    ours_span = trace.get_current_span(ours).get_span_context()
    assert ours_span == trace.get_current_span(theirs).get_span_context()


def test_without_a_propagation_header_the_context_is_the_one_used_unextracted() -> None:
    propagator = CompositePropagator([AlbAwareXRayPropagator(), TraceContextTextMapPropagator()])
    scope = {"type": "http", "headers": [(b"host", b"example.org"), (b"user-agent", b"QGIS")]}
    gathered = _propagation_headers(scope, propagator)
    assert gathered == {}
    assert propagator.extract(gathered, getter=HEADER_GETTER) == NO_PARENT

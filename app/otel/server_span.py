"""The request's server span, made by our own middleware rather than by
opentelemetry-instrumentation-fastapi.

That instrumentation's ASGI middleware matched every request against the routes a second time,
wrapped receive and send, and gathered a dozen attributes: 0.3 ms per request, a third of a whole
untraced items/{id} request (bench/inprocess.py: 1.31 ms with it, 1.00 ms without, untraced
1.07 ms). Here the span is started once the trusted-proxy headers are applied, named by the
route template once the router has matched it, and carries the semantic-convention attributes
that X-Ray and the dashboards use. /healthz and /readyz get none.
"""

from __future__ import annotations

import functools

from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter, TextMapPropagator
from opentelemetry.trace import Span, SpanKind, StatusCode
from starlette.types import Scope

from app.ogc.catalog import COLLECTION_ID, served_collection_id
from app.otel.root_spans import NO_PARENT, RootSpans

EXCLUDED_PATHS = frozenset({"/healthz", "/readyz"})  # polled by the ALB and ECS: noise


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class _HeaderGetter(Getter[dict[str, list[str]]]):
    """Reads _propagation_headers, whose names are lower case, as asgi_getter reads a scope."""

    def get(self, carrier: dict[str, list[str]], key: str) -> list[str] | None:
        return carrier.get(key.lower())

    def keys(self, carrier: dict[str, list[str]]) -> list[str]:
        return list(carrier)


HEADER_GETTER = _HeaderGetter()


@functools.lru_cache(maxsize=4)  # one global propagator, kept: never another's names by its id
def _field_names(propagator: TextMapPropagator) -> frozenset[bytes]:
    return frozenset(field.lower().encode() for field in propagator.fields)


def _propagation_headers(scope: Scope, propagator: TextMapPropagator) -> dict[str, list[str]]:
    """The request's headers that `propagator` reads (its `fields`), gathered in one
    pass: asgi_getter scanned and decoded every header on each of the propagators' three
    lookups, a quarter of an unsampled span's cost."""
    names = _field_names(propagator)
    found: dict[str, list[str]] = {}
    for name, value in scope["headers"]:
        if name in names:
            found.setdefault(name.decode("latin-1"), []).append(_decoded(value))
    return found


def _decoded(value: bytes) -> str:
    """As asgi_getter decodes a header value."""
    try:
        return value.decode("utf-8")
    except ValueError:
        return value.decode("unicode_escape")


def server_tracer() -> trace.Tracer:
    """The tracer of server spans, taken from the provider once telemetry has set it up (the
    Observer is made after): a tracer taken at import is a ProxyTracer, whose every start_span
    goes through a property and repacks its arguments, ~2.5 us of a request
    (`python -m bench.inrequest`). Made before a provider is set, it is that ProxyTracer."""
    return trace.get_tracer(__name__)


def start_server_span(
    scope: Scope, method: str, tracer: trace.Tracer, roots: RootSpans | None
) -> Span | None:
    """A SERVER span continuing the caller's trace (X-Ray or W3C headers), or None for probes.

    The sampler is given what a sampling rule matches on (method, path, host); the rest is
    gathered only for a span that records: most requests are not sampled in production.
    """
    if scope["path"] in EXCLUDED_PATHS:
        return None
    propagator = propagate.get_global_textmap()
    headers = _propagation_headers(scope, propagator)
    # No propagation header (most requests): nothing to extract, the span starts a trace.
    context = propagator.extract(headers, getter=HEADER_GETTER) if headers else NO_PARENT
    attributes = {
        "http.request.method": method,
        "url.path": scope["path"],
        "server.address": _header(scope, b"host") or "",
    }
    if context is NO_PARENT and roots is not None:
        span = roots.start(method, attributes)
    else:
        span = tracer.start_span(method, context, kind=SpanKind.SERVER, attributes=attributes)
    if span.is_recording():
        span.set_attributes(_recorded_attributes(scope))
    return span


def _recorded_attributes(scope: Scope) -> dict[str, str]:
    client = scope.get("client")
    attributes = {
        "url.scheme": scope["scheme"],
        "client.address": client[0] if client else "",
        "user_agent.original": _header(scope, b"user-agent") or "",
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    if scope.get("query_string"):
        attributes["url.query"] = scope["query_string"].decode("latin-1")
    return attributes


def finish_server_span(
    span: Span, method: str, route: str | None, status: int, body_size: int, scope: Scope
) -> None:
    """The attributes known at the end, set in one call (the span's lock taken once)."""
    attributes: dict[str, str | int] = {
        "http.response.status_code": status,
        "http.response.body.size": body_size,
    }
    collection_id = served_collection_id(scope)
    if collection_id is not None:
        attributes[COLLECTION_ID] = collection_id
    if route is not None:
        span.update_name(f"{method} {route}")
        attributes["http.route"] = route
    span.set_attributes(attributes)
    if status >= 500:
        span.set_status(StatusCode.ERROR)
    span.end()

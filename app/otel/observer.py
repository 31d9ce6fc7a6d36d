"""Per-request observations: the server span, the access log line, request metrics and the trace
id header.

Driven by the edge (app/edge.py), after the trusted proxy's headers are applied (so it sees the
client address they name); the edge answers an unhandled exception inside the span, so its 500
carries the trace id. The log line and the response header carry the span's ids. The route
template that the router leaves in the scope names the request, so metric and log attributes
never hold a raw path, id or query string.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Hashable, Iterable

from opentelemetry import context, metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from starlette.types import Message, Scope

from app.memo import remembered_call
from app.otel.access_log import AccessLine, AccessLog
from app.otel.histograms import AggregatedHistogram, Key, key_of
from app.otel.root_spans import RootSpans
from app.otel.server_span import finish_server_span, server_tracer, start_server_span
from app.otel.xray import HEADER, trace_header

HEADER_NAME = HEADER.lower().encode()

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
# The OpenTelemetry semantic conventions' advice for http.server.request.duration, in seconds.
KEYS = 1024  # duration attribute sets kept (methods are a known few; statuses and routes too)
DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]


class RequestMetrics:
    """http.server.request.duration and http.server.active_requests (semantic conventions).

    active_requests is a gauge observed from an in-process tally rather than the conventions'
    up-down counter: CloudWatch's EMF exporter turns every cumulative sum into per-interval
    deltas, so an up-down counter would reach the dashboard as "net change", not "in flight".
    """

    def __init__(self) -> None:
        meter = metrics.get_meter(__name__)
        self.duration = AggregatedHistogram(
            "http.server.request.duration",
            unit="s",
            description="Duration of HTTP server requests.",
            bounds=DURATION_BUCKETS,
        )
        self.in_flight: Counter[tuple[str, str]] = Counter()  # (method, scheme) -> requests
        meter.create_observable_gauge(
            "http.server.active_requests",
            [self._observe_in_flight],
            unit="{request}",
            description="Number of active HTTP server requests.",
        )

    def _observe_in_flight(self, options: CallbackOptions) -> Iterable[Observation]:
        for (method, scheme), count in list(self.in_flight.items()):
            yield Observation(count, {"http.request.method": method, "url.scheme": scheme})


def route_of(scope: Scope) -> str | None:
    """The matched route's template (`/collections/{collectionId}/items`), None if none matched."""
    route = scope.get("route")
    return getattr(route, "path", None)


class RequestObservation:
    """One request's observation, from `Observer.begin` to `Observer.end`."""

    __slots__ = ("start", "method", "span", "token", "status", "bytes", "started")

    def __init__(self, method: str, span: trace.Span | None) -> None:
        self.start = time.perf_counter()
        self.method = method
        self.span = span
        self.token = context.attach(trace.set_span_in_context(span)) if span is not None else None
        self.status = 500  # what the client gets if nothing is sent before an exception
        self.bytes = 0
        self.started = False


class Observer:
    """Per-request observations, driven by the edge (app/edge.py): `begin` before the app runs,
    `sent` for each response message, `end` after it (in a `finally`)."""

    def __init__(self, request_metrics: RequestMetrics | None) -> None:
        self.metrics = request_metrics
        self.traced = request_metrics is not None
        self.tracer = server_tracer()
        self.roots = RootSpans.of(self.tracer) if self.traced else None
        self.access_log = AccessLog()
        self._duration_keys: dict[Hashable, Key] = {}  # by (method, scheme, status, route)

    def begin(self, scope: Scope) -> RequestObservation:
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "_OTHER"
        span = start_server_span(scope, method, self.tracer, self.roots) if self.traced else None
        if self.metrics:
            self.metrics.in_flight[(method, scope["scheme"])] += 1
        return RequestObservation(method, span)

    def sent(self, observation: RequestObservation, message: Message) -> None:
        """Called with every message the app sends, before it is sent on."""
        if message["type"] == "http.response.start":
            observation.started = True
            observation.status = message["status"]
            if observation.span is not None:
                _add_trace_header(message, observation.span)
        elif message["type"] == "http.response.body":
            observation.bytes += len(message.get("body", b""))

    def end(self, scope: Scope, observation: RequestObservation) -> None:
        seconds = time.perf_counter() - observation.start
        route = route_of(scope)
        if self.metrics:
            self.metrics.in_flight[(observation.method, scope["scheme"])] -= 1
            self._record(observation, scope["scheme"], route, seconds)
        span = observation.span
        if span is not None and span.is_recording():  # an unsampled span's end does nothing
            finish_server_span(
                span, observation.method, route, observation.status, observation.bytes, scope
            )
        self._log_access(scope, route, observation, seconds)
        if observation.token is not None:
            context.detach(observation.token)

    def _log_access(
        self, scope: Scope, route: str | None, observation: RequestObservation, seconds: float
    ) -> None:
        client = scope.get("client")
        span = observation.span
        self.access_log.write(
            AccessLine(
                time.time(),
                scope["method"],
                scope["path"],
                route,
                observation.status,
                seconds,
                observation.bytes,
                client[0] if client else None,
                None if span is None else span.get_span_context(),
            )
        )

    def _record(
        self, observation: RequestObservation, scheme: str, route: str | None, seconds: float
    ) -> None:
        assert self.metrics is not None
        labels = (observation.method, scheme, observation.status, route)
        key = remembered_call(self._duration_keys, labels, KEYS, _duration_key, *labels)
        self.metrics.duration.record(seconds, key)


def _duration_key(method: str, scheme: str, status: int, route: str | None) -> Key:
    """http.server.request.duration's attribute set (semantic conventions), as the histogram
    keeps it: made once per method, scheme, status and route, not per request."""
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "url.scheme": scheme,
        "http.response.status_code": status,
    }
    if route is not None:
        attributes["http.route"] = route
    return key_of(attributes)


def _add_trace_header(message: Message, span: trace.Span) -> None:
    """The request's own span, not a lookup of the current one: the same span, found once."""
    header = trace_header(span.get_span_context())
    if header is not None:  # appended: no one else sets it
        message["headers"] = [*message.get("headers", ()), (HEADER_NAME, header.encode())]

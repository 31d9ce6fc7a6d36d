"""Per-request observations: the server span, the access log line, request metrics, the trace id
header, and the 500 for an unhandled exception (inside the span, so it carries the trace id).

One pure-ASGI middleware, just inside the proxy-header middleware (so it sees the client address
through trusted proxies); the log line and the response header carry the span's ids. It reads
the route template that the router leaves in the scope, so metric and log attributes never hold a
raw path, id or query string.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable

from opentelemetry import context, metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import unexpected_error
from app.otel.access_log import AccessLog
from app.otel.server_span import finish_server_span, start_server_span
from app.otel.xray import HEADER, current_trace_header

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
# The OpenTelemetry semantic conventions' advice for http.server.request.duration, in seconds.
DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]


class RequestMetrics:
    """http.server.request.duration and http.server.active_requests (semantic conventions).

    active_requests is a gauge observed from an in-process tally rather than the conventions'
    up-down counter: CloudWatch's EMF exporter turns every cumulative sum into per-interval
    deltas, so an up-down counter would reach the dashboard as "net change", not "in flight".
    """

    def __init__(self) -> None:
        meter = metrics.get_meter(__name__)
        self.duration = meter.create_histogram(
            "http.server.request.duration",
            unit="s",
            description="Duration of HTTP server requests.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
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


class _Response:
    __slots__ = ("status", "bytes", "started")

    def __init__(self) -> None:
        self.status = 500  # what the client gets if nothing is sent before an exception
        self.bytes = 0
        self.started = False


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, request_metrics: RequestMetrics | None) -> None:
        self.app = app
        self.metrics = request_metrics
        self.traced = request_metrics is not None
        self.access_log = AccessLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "_OTHER"
        span = start_server_span(scope, method) if self.traced else None
        token = context.attach(trace.set_span_in_context(span)) if span is not None else None
        response = _Response()
        try:
            await self._serve(scope, receive, send, response, method)
        finally:
            seconds = time.perf_counter() - start
            route = route_of(scope)
            if self.metrics:
                self._record(method, scope["scheme"], route, response.status, seconds)
            if span is not None:
                span.set_attribute("http.response.body.size", response.bytes)
                finish_server_span(span, method, route, response.status)
            self._log_access(scope, route, response, seconds)
            if token is not None:
                context.detach(token)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, response: _Response, method: str
    ) -> None:
        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                response.started = True
                response.status = message["status"]
                if self.traced:
                    _add_trace_header(message)
            elif message["type"] == "http.response.body":
                response.bytes += len(message.get("body", b""))
            await send(message)

        in_flight = (method, scope["scheme"])
        if self.metrics:
            self.metrics.in_flight[in_flight] += 1
        try:
            await self.app(scope, receive, send_observed)
        except Exception as exc:
            # Inside the span, so the 500 carries the trace id like every other error.
            if response.started:
                raise
            response_for = unexpected_error(scope, exc, current_trace_header())
            await response_for(scope, receive, send_observed)
        finally:
            if self.metrics:
                self.metrics.in_flight[in_flight] -= 1

    def _log_access(
        self, scope: Scope, route: str | None, response: _Response, seconds: float
    ) -> None:
        client = scope.get("client")
        self.access_log.write(
            scope["method"],
            scope["path"],
            response.status,
            {
                "http.request.method": scope["method"],
                "http.route": route,
                "url.path": scope["path"],
                "http.response.status_code": response.status,
                "duration_ms": round(seconds * 1000, 2),
                "http.response.body.size": response.bytes,
                "client.address": client[0] if client else None,
            },
        )

    def _record(
        self, method: str, scheme: str, route: str | None, status: int, seconds: float
    ) -> None:
        assert self.metrics is not None
        attributes: dict[str, str | int] = {
            "http.request.method": method,
            "url.scheme": scheme,
            "http.response.status_code": status,
        }
        if route is not None:
            attributes["http.route"] = route
        self.metrics.duration.record(seconds, attributes)


def _add_trace_header(message: Message) -> None:
    header = current_trace_header()
    if header is not None:
        MutableHeaders(scope=message)[HEADER] = header

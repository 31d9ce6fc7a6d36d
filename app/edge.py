"""The edge: what every HTTP request goes through before routing and after its answer, in one
pure-ASGI pass (one call, one `send` wrapper), the app's outermost layer.

It used to be six middleware, one per concern; each layer is a call and a wrapped `send` per
message, and together they cost a quarter of an item request's CPU (bench.layers). Here, in
order: the trusted proxy's headers (proxy.py), doubled slashes collapsed (app/ogc/slashes.py),
the observation (app/otel/observer.py: server span, metrics, access line, trace id header), and
Cache-Control. An exception the app lets through is answered here, inside the span, so its
answer carries the trace id like every other: by the handler the app registered for it, else a
500. That is why the edge stands where Starlette's ServerErrorMiddleware would (factory.py): that
layer only passed through what the edge had answered, at the cost of a call and a wrapped `send`.

CORS and compression are Starlette's and cramjam's own middleware, entered only by a request
that names an `Origin` or an `Accept-Encoding` header: both pass any other request through
untouched, so skipping them changes nothing but the cost.

Innermost, the first routes: the items and item routes (app/ogc/items.py), the requests nearly
every client makes, are matched here by their path's segments before the app's own stack (the
metadata memo, Starlette's ExceptionMiddleware, FastAPI's exit stack, the router), which they do
not need. They are the very routes the app's router holds (for its names, /api and 405s): one
route, one endpoint, found first.
"""

from __future__ import annotations

import inspect
import re
from typing import cast

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_cramjam.middleware import CompressionMiddleware

from app.errors import registered_handler, unexpected_error
from app.ogc.paths import NOT_CACHED
from app.ogc.slashes import collapsed
from app.otel.observer import Observer, RequestMetrics
from app.otel.xray import current_trace_header
from app.proxy import ProxyHeaders
from app.settings import Settings

CACHED_METHODS = frozenset({"GET", "HEAD"})
ROUTED_METHODS = CACHED_METHODS  # what a Route for GET takes (Starlette adds HEAD)
CACHED_STATUSES = range(400)  # errors must not be cached
CACHE_CONTROL = b"cache-control"


class CacheControl:
    """The configured Cache-Control on a successful GET or HEAD, unless the path is one whose
    answers change with the data (paths.NOT_CACHED) or the app set one itself."""

    def __init__(self, value: str | None, first_routes: tuple[Route, ...]) -> None:
        self.value = value.encode("latin-1") if value else None
        self.not_cached = re.compile("|".join(f"(?:{path})" for path in sorted(NOT_CACHED)))
        # The first routes whose every path is data (their template matches NOT_CACHED): their
        # answers, most requests, are known not cached without matching the path (~3 us).
        self.data_routes = frozenset(id(r) for r in first_routes if self.not_cached.match(r.path))

    def mark(self, scope: Scope, start: Message) -> None:
        if self.value is None or start["status"] not in CACHED_STATUSES:
            return
        if id(scope.get("route")) in self.data_routes:
            return
        if scope["method"] not in CACHED_METHODS or self.not_cached.match(scope["path"]):
            return
        headers = start.setdefault("headers", [])
        if any(name.lower() == CACHE_CONTROL for name, _ in headers):
            return
        start["headers"] = [*headers, (CACHE_CONTROL, self.value)]


class FirstRoutes:
    """The items and item routes, tried before `app` by the path's segments: what their
    templates match (a segment is one or more characters but "/"), found without a regular
    expression per route; anything else goes on to `app`, whose router holds the same routes
    (tests/test_edge.py holds the two ways of matching to the same answers)."""

    def __init__(self, app: ASGIApp, items: Route, item: Route) -> None:
        self.app = app
        self.items = items
        self.item = item

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.matched(scope)
        await (self.app if route is None else route.app)(scope, receive, send)

    def matched(self, scope: Scope) -> Route | None:
        """The route a GET or HEAD request is for, its path parameters put in the scope; None
        for any other request (a wrong method is the router's 405)."""
        if scope["type"] != "http" or scope["method"] not in ROUTED_METHODS:
            return None
        parts = route_path(scope).split("/")
        if len(parts) not in (4, 5) or parts[0] or parts[1] != "collections" or not parts[2]:
            return None
        if parts[3] != "items" or (len(parts) == 5 and not parts[4]):
            return None
        route, params = self.items, {"collectionId": parts[2]}
        if len(parts) == 5:
            route, params = self.item, {**params, "itemId": parts[4]}
        scope.update(route=route, endpoint=route.endpoint, path_params=params)
        return route


def route_path(scope: Scope) -> str:
    """The path below the root path, which is what Starlette's router matches (its own function
    for this, starlette._utils.get_route_path, is private)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root) :] if path[len(root)] == "/" else path


async def _error_response(scope: Scope, receive: Receive, exc: Exception) -> Response:
    """The answer to an exception the app let through, while nothing of its response has been
    sent: the handler the app registered for it (a first route's error: no ExceptionMiddleware
    stands between the edge and those routes), else the 500 of an unexpected error."""
    handler = registered_handler(scope["app"].exception_handlers, exc)
    if handler is None:
        return unexpected_error(scope, exc, current_trace_header())
    response = handler(Request(scope, receive), exc)
    if inspect.isawaitable(response):  # Starlette takes handlers of either kind
        response = await response
    return cast(Response, response)


class Edge:
    """The outermost layer (factory.py puts it in place of Starlette's ServerErrorMiddleware):
    see the module's docstring."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        request_metrics: RequestMetrics | None,
        first_routes: tuple[Route, Route],
    ) -> None:
        self.app = app
        self.proxy = ProxyHeaders(settings.proxy.forwarded_allow_ips)
        self.observer = Observer(request_metrics)
        self.cache_control = CacheControl(settings.api.cache_control, first_routes)
        self.inner = _inner_apps(FirstRoutes(app, *first_routes), settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # the lifespan: the app's own
            return
        try:
            scope = collapsed(self.proxy.applied(scope))
            observation = self.observer.begin(scope)
        except Exception as exc:  # a fault in the edge's own steps: a 500 all the same
            await unexpected_error(scope, exc, None)(scope, receive, send)
            return

        async def send_on(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.cache_control.mark(scope, message)
            self.observer.sent(observation, message)
            await send(message)

        try:
            await self.inner[_named(scope)](scope, receive, send_on)
        except Exception as exc:
            if observation.started:
                raise
            response = await _error_response(scope, receive, exc)
            await response(scope, receive, send_on)
        finally:
            self.observer.end(scope, observation)


def _named(scope: Scope) -> tuple[bool, bool]:
    """Whether the request has an Origin header, and an Accept-Encoding one: one pass."""
    origin = encoding = False
    for name, _ in scope["headers"]:
        if name == b"origin":
            origin = True
        elif name == b"accept-encoding":
            encoding = True
    return origin, encoding


def _inner_apps(app: ASGIApp, settings: Settings) -> dict[tuple[bool, bool], ASGIApp]:
    """The app behind the edge, by (has Origin, has Accept-Encoding): CORS outside compression,
    each only where its header is."""

    def cors(inner: ASGIApp) -> ASGIApp:
        return CORSMiddleware(
            inner,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=["*"],
        )

    compressed = CompressionMiddleware(app, minimum_size=1024, compression_level=6)
    return {
        (False, False): app,
        (True, False): cors(app),
        (False, True): compressed,
        (True, True): cors(compressed),
    }

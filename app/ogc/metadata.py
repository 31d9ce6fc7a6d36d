"""Metadata rendered once: the landing page, conformance, collections, a collection, queryables,
/api and their HTML are built once per catalog, base URL and format, then served from memory.

They depend on nothing but the catalog (loaded at start-up and on reload) and the request's path,
query, Accept header and base URL (scheme, server, Host, root path: the links hold it). So each
200 is kept under that key, with a weak ETag of its body (etags.py), and a request with the same
key is answered from memory: a 304 when its If-None-Match holds the ETag. A reload brings a new
catalog object, which empties the memo. What is not kept passes through as rendered: another
status, another media type, a body over MAX_KEPT_BYTES (no ETag then).

What tipg's documents lack is added to them as they are rendered, once (documents.py): a
collection's CRS lists and links to its schemas and tilesets, the tileset lists' links.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.ogc import documents
from app.ogc.etags import matches, weak_etag
from app.ogc.links import base_url_inputs
from app.ogc.paths import NOT_METADATA

KEPT_TYPES = (
    "application/json",
    "application/geo+json",
    "application/schema+json",
    "application/vnd.oai",
    "text/html",
)
MAX_KEPT_BYTES = 16 * 1024 * 1024  # a bigger body streams through as it is, without an ETag
MAX_KEPT_TOTAL = 64 * 1024 * 1024  # the memo is emptied past this: Host is the client's choice
RESPONSE_MESSAGES = ("http.response.start", "http.response.body")
ROUTED = ("route", "endpoint", "path_params")


@dataclass(frozen=True)
class Rendered:
    start: Message  # http.response.start, with the ETag
    body: bytes
    etag: str
    # What routing left in the scope, put back for an answer from memory: telemetry names the
    # request by its route, and tags it with its collection (path_params).
    routed: dict[str, Any]

    def restore(self, scope: Scope) -> None:
        scope.update(self.routed)


def _finished(scope: Scope, start: Message, body: bytes) -> bytes:
    """The body as clients get it: what documents.py adds to tipg's JSON."""
    content_type = Headers(raw=start["headers"]).get("content-type", "")
    finish = documents.finisher(scope["path"]) if content_type == "application/json" else None
    if finish is None:
        return body
    return orjson.dumps(finish(orjson.loads(body), scope))


def _keepable(start: Message) -> bool:
    headers = Headers(raw=start["headers"])
    content_type = headers.get("content-type", "")
    return start["status"] == 200 and "etag" not in headers and content_type.startswith(KEPT_TYPES)


def _rendered(scope: Scope, start: Message, body: bytes) -> Rendered:
    etag = weak_etag(body)
    headers = MutableHeaders(raw=list(start["headers"]))
    headers["ETag"] = etag
    headers["Content-Length"] = str(len(body))
    routed = {name: scope[name] for name in ROUTED if name in scope}
    return Rendered({**start, "headers": headers.raw}, body, etag, routed)


class MetadataMiddleware:
    """Pure ASGI: metadata GETs answered from what was rendered for the same key (see above)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._kept: dict[Hashable, Rendered] = {}
        self._kept_bytes = 0
        self._catalog: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or NOT_METADATA.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        key = self._key(scope)
        rendered = self._kept.get(key)
        if rendered is not None:
            rendered.restore(scope)
        else:
            rendered = await self._render(scope, receive, send)
            if rendered is None:
                return  # passed through as it was
            self._keep(key, rendered)
        await _answer(rendered, Headers(scope=scope).get("if-none-match"), send)

    def _key(self, scope: Scope) -> Hashable:
        catalog = getattr(scope["app"].state, "collection_catalog", None)
        if catalog is not self._catalog:  # loaded or reloaded: every document may change
            self._forget()
            self._catalog = catalog
        accept = next((value for name, value in scope["headers"] if name == b"accept"), None)
        return (scope["path"], scope.get("query_string", b""), accept, *base_url_inputs(scope))

    def _forget(self) -> None:
        self._kept.clear()
        self._kept_bytes = 0

    def _keep(self, key: Hashable, rendered: Rendered) -> None:
        if self._kept_bytes + len(rendered.body) > MAX_KEPT_TOTAL:
            self._forget()
        self._kept[key] = rendered
        self._kept_bytes += len(rendered.body)

    async def _render(self, scope: Scope, receive: Receive, send: Send) -> Rendered | None:
        """The app's answer, whole, when it is one to keep; else None, once it has been sent."""
        held: list[Message] = []
        passing = False

        async def hold(message: Message) -> None:
            nonlocal passing
            if message["type"] not in RESPONSE_MESSAGES:  # e.g. a template's debug extension
                await send(message)
                return
            if passing or (message["type"] == "http.response.start" and not _keepable(message)):
                passing = True
                await send(message)
                return
            held.append(message)
            if sum(len(m.get("body", b"")) for m in held) > MAX_KEPT_BYTES:
                passing = True  # too big to hold: as it is, without an ETag
                for pending in held:
                    await send(pending)
                held.clear()

        await self.app(scope, receive, hold)
        if passing or not held:
            return None
        body = b"".join(m.get("body", b"") for m in held[1:])
        return _rendered(scope, held[0], _finished(scope, held[0], body))


async def _answer(rendered: Rendered, if_none_match: str | None, send: Send) -> None:
    if if_none_match is not None and matches(if_none_match, rendered.etag):
        headers = MutableHeaders(raw=list(rendered.start["headers"]))
        for name in ("content-length", "content-type"):
            del headers[name]
        await send({**rendered.start, "status": 304, "headers": headers.raw})
        await send({"type": "http.response.body", "body": b""})
        return
    # A copy: the middleware outside (CORS, compression, Cache-Control) edit the headers in place.
    await send({**rendered.start, "headers": list(rendered.start["headers"])})
    await send({"type": "http.response.body", "body": rendered.body})

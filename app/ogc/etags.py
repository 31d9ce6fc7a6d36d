"""Conditional GETs: weak ETags, and 304 Not Modified for a client that already has the answer.

- Metadata (landing, conformance, collections, a collection, queryables, /api): the ETag is a
  hash of the body, added by MetadataETagMiddleware; the body comes from the catalog in memory,
  so a 304 saves the transfer, not a query.
- GeoJSON items and item (geojson_items.py): the ETag is a hash of what the answer depends on: the
  request's URL (path, query, scheme and host, which the links hold), the settings that shape
  the document, and the data PostgreSQL shows, as `pg_current_snapshot()` (the page statement
  returns it; see counting.py: two statements with the same snapshot see the same rows). A
  conditional request reads only the snapshot, one short statement: no feature query, no count.
  Any commit anywhere in the cluster changes the snapshot, so a change is seen at once, and
  sometimes a page is sent again that did not change: never a stale 304.

ETags are weak (`W/"…"`): the same ETag holds for the gzip and the plain encoding of a body,
and an items page's `timeStamp` differs between two equivalent answers. There is no
Last-Modified: PostgreSQL does not record when a table last changed (commit timestamps are off
by default), and a made-up date would make caches wrong.
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.ogc.paths import NOT_METADATA

HASHED_TYPES = (
    "application/json",
    "application/geo+json",
    "application/schema+json",
    "application/vnd.oai",
    "text/html",
)
MAX_HASHED_BYTES = 4 * 1024 * 1024  # a bigger body streams through without an ETag


def weak_etag(*parts: str | bytes) -> str:
    digest = hashlib.blake2b(digest_size=12)
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode("utf-8", "replace"))
        digest.update(b"\x00")
    return f'W/"{digest.hexdigest()}"'


def matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110's weak comparison of If-None-Match (a list, or `*`) with our ETag."""
    if if_none_match.strip() == "*":
        return True
    ours = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == ours for tag in if_none_match.split(","))


def not_modified(etag: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag})


class DataETags:
    """ETags of GeoJSON items and item pages (see the module's docstring)."""

    SNAPSHOT_SQL = "SELECT pg_current_snapshot()::text"

    def __init__(self, representation: str) -> None:
        self.representation = representation  # the settings that shape the documents

    def etag(self, request: Request, snapshot: str) -> str:
        root = request.scope.get("root_path", "")
        return weak_etag(self.representation, str(request.url), root, snapshot)

    async def unchanged(self, request: Request) -> Response | None:
        """A 304 when the client's If-None-Match holds the page as the data is now."""
        condition = request.headers.get("if-none-match")
        if condition is None or condition.strip() == "*":
            # `*` asks whether the item exists at all: only the page query can tell (a 404).
            return None
        async with request.app.state.pool.acquire() as conn:
            snapshot = await conn.fetchval(self.SNAPSHOT_SQL)
        etag = self.etag(request, snapshot)
        return not_modified(etag) if matches(condition, etag) else None


class MetadataETagMiddleware:
    """Pure ASGI: a weak ETag from the body of each 200 metadata GET, and a 304 for a match."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or NOT_METADATA.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        condition = Headers(scope=scope).get("if-none-match")
        held: list[Message] = []

        async def send_with_etag(message: Message) -> None:
            if held or (message["type"] == "http.response.start" and _hashable(message)):
                held.append(message)
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    await _send_held(held, condition, send)
                elif sum(len(m.get("body", b"")) for m in held) > MAX_HASHED_BYTES:
                    for pending in held:  # too big to hold: as it is, without an ETag
                        await send(pending)
                    held.clear()
                return
            await send(message)

        await self.app(scope, receive, send_with_etag)


def _hashable(start: Message) -> bool:
    headers = MutableHeaders(raw=start["headers"])
    content_type = headers.get("content-type", "")
    return (
        start["status"] == 200 and "etag" not in headers and content_type.startswith(HASHED_TYPES)
    )


async def _send_held(held: list[Message], condition: str | None, send: Send) -> None:
    start, body = held[0], b"".join(m.get("body", b"") for m in held[1:])
    etag = weak_etag(body)
    headers = MutableHeaders(raw=start["headers"])
    headers["ETag"] = etag
    if condition is not None and matches(condition, etag):
        for name in ("content-length", "content-type"):
            del headers[name]
        await send({**start, "status": 304, "headers": headers.raw})
        await send({"type": "http.response.body", "body": b""})
        return
    await send(start)
    await send({"type": "http.response.body", "body": body})

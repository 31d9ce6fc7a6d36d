"""Conditional GETs: weak ETags, and 304 Not Modified for a client that already has the answer.

- Metadata (landing, conformance, collections, a collection, queryables, /api): the ETag is a
  hash of the body, computed once when it is rendered (metadata.py), which also answers the 304.
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

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from app.ogc.links import base_url_inputs


def _nul_ended(*parts: str | bytes) -> bytes:
    """The parts as one text, each ended by a NUL."""
    return b"".join(
        (part if isinstance(part, bytes) else part.encode("utf-8", "replace")) + b"\x00"
        for part in parts
    )


def weak_etag(*parts: str | bytes) -> str:
    """The parts hashed as one text (one update: one call into the hash per part cost more than
    hashing)."""
    return _weak(_nul_ended(*parts))


def _weak(text: bytes) -> str:
    return f'W/"{hashlib.blake2b(text, digest_size=12).hexdigest()}"'


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

    def prefix(self, scope: Scope) -> bytes:
        """What the ETag hashes before the URL's path: the settings and what the base URL is
        built from (the links hold it), read from the scope: building `request.url` for it cost
        more than the hash. The same for every page at that base URL (plans.py keeps it)."""
        scheme, server, host, root = base_url_inputs(scope)
        return _nul_ended(self.representation, scheme or "", str(server), host or b"", root)

    def etag(self, scope: Scope, snapshot: str) -> str:
        return self.etag_at(self.prefix(scope), scope["path"], scope["query_string"], snapshot)

    def etag_at(self, prefix: bytes, path: str, query_string: bytes, snapshot: str) -> str:
        """The ETag of the page at that URL (`prefix`: `self.prefix` of its scope, which a
        plan keeps) as the data is at `snapshot`."""
        return _weak(prefix + _nul_ended(path, query_string, snapshot))

    async def unchanged(self, request: Request) -> Response | None:
        """A 304 when the client's If-None-Match holds the page as the data is now."""
        condition = request.headers.get("if-none-match")
        if condition is None or condition.strip() == "*":
            # `*` asks whether the item exists at all: only the page query can tell (a 404).
            return None
        async with request.app.state.pool.acquire() as conn:
            snapshot = await conn.fetchval(self.SNAPSHOT_SQL)
        etag = self.etag(request.scope, snapshot)
        return not_modified(etag) if matches(condition, etag) else None

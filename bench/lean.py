"""The lean item: a measuring stick for how much of an item request our layers cost, never
served in production.

`make bench-floor` serves it beside the floor (bench/floor.py) and our service: our own app, with
one ASGI function in front that answers a plain GeoJSON item request (GET, no query, no header
but Host, User-Agent, Connection and Accept, an integer id) with the least Python our answer's
semantics need: our pool and our page statement (the one the app built and keeps), the item's
links from a template per base URL, an ETag from the URL and the snapshot, Content-Crs,
Cache-Control and the access line. Everything else, and the first request of each collection
(which builds the statement), is our app's. What it leaves out is what the app's layers add
per request: FastAPI's and Starlette's entry, routing, Request and Response objects, the edge's
proxy, slash and observation steps, the query read and checked, the collection found and put in
its CRS, the page request and its statement looked up. It is not a second lane: nothing but
this benchmark imports it, and its answer is checked only for its size and status.

    uvicorn bench.lean:app      # as bench/floor.py starts it, OTEL_SDK_DISABLED=true
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import orjson

from app.main import app as service
from app.ogc.links import base_url_inputs
from app.otel.access_log import AccessLine, AccessLog

ROUTE = "/collections/{collectionId}/items/{itemId}"
PLAIN_HEADERS = frozenset({b"host", b"user-agent", b"connection", b"accept"})
GEOJSON_ACCEPTED = frozenset({b"*/*", b"application/geo+json"})
CRS84 = b"<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
MARKER = "\x00id\x00"

_access = AccessLog()
_statements: dict[str, str] = {}  # collection id -> the app's statement for an item by key
_links: dict[tuple[Any, ...], tuple[bytes, ...]] = {}  # (base URL inputs, collection id)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    item = _plain_item(scope)
    sql = item and (_statements.get(item[0]) or _statement(item[0]))
    if item is None or not sql:
        await service(scope, receive, send)
        return
    await _answer(scope, send, sql, *item)


def _plain_item(scope: dict[str, Any]) -> tuple[str, str] | None:
    """(collection id, item id) of a plain GeoJSON item request, else None."""
    if scope["type"] != "http" or scope["method"] != "GET" or scope["query_string"]:
        return None
    parts = scope["path"].split("/")
    if len(parts) != 5 or parts[1] != "collections" or parts[3] != "items":
        return None
    for name, value in scope["headers"]:
        if name not in PLAIN_HEADERS or (name == b"accept" and value not in GEOJSON_ACCEPTED):
            return None
    return (parts[2], parts[4]) if parts[4].isdigit() else None


def _statement(collection_id: str) -> str | None:
    """The statement the app built for an item by key of this collection (its private memo,
    catalog.ServedCollection._statements, keyed by the page's shape: key, links, properties)."""
    catalog = getattr(service.state, "collection_catalog", None)
    collection = catalog and catalog["collections"].get(collection_id)
    for shape, sql in getattr(collection, "_statements", {}).items():
        if shape[0] and not shape[1] and shape[2] is None:
            _statements[collection_id] = sql
            return str(sql)
    return None


def _link_template(base: tuple[Any, ...], collection_id: str) -> tuple[bytes, ...]:
    scheme, _, host, root = base
    url = f"{scheme}://{(host or b'').decode('latin-1')}{root}/collections/{collection_id}"
    item = f"{url}/items/{MARKER}"
    links = [
        {"href": url, "rel": "collection", "type": "application/json"},
        {"href": item, "rel": "self", "type": "application/geo+json"},
        {"href": f"{item}?f=html", "rel": "alternate", "type": "text/html", "title": "HTML"},
        {"href": f"{item}?f=json", "rel": "alternate", "type": "application/json", "title": "JSON"},
    ]
    return tuple(orjson.dumps(links).split(orjson.dumps(MARKER)[1:-1]))


async def _answer(
    scope: dict[str, Any], send: Any, sql: str, collection_id: str, item_id: str
) -> None:
    start = time.perf_counter()
    async with service.state.pool.acquire() as conn:
        row = await conn.fetchrow(sql, int(item_id))
    base = base_url_inputs(scope)
    template = _links.get((base, collection_id))
    if template is None:
        template = _links[(base, collection_id)] = _link_template(base, collection_id)
    links = orjson.dumps(item_id)[1:-1].join(template)
    body = b"".join((memoryview(row[1])[:-1], b',"links":', links, b"}"))
    tag = repr(base).encode() + scope["path"].encode() + b"\x00" + row[2].encode()
    etag = f'W/"{hashlib.blake2b(tag, digest_size=12).hexdigest()}"'.encode()
    headers = [
        (b"etag", etag),
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/geo+json"),
        (b"content-crs", CRS84),
        (b"cache-control", b"public, max-age=60"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    _log(scope, time.perf_counter() - start, len(body))


def _log(scope: dict[str, Any], seconds: float, size: int) -> None:
    client = scope.get("client")
    address = client[0] if client else None
    _access.write(
        AccessLine(time.time(), "GET", scope["path"], ROUTE, 200, seconds, size, address, None)
    )

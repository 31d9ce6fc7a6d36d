"""`crs` and `bbox-crs` on items and item, `Content-Crs` on their responses, and `crs` /
`storageCrs` in collection descriptions (OGC API - Features Part 2; the CRSs are crs.py's).

tipg knows none of these. Its routes get one more dependency each (as query_check.py adds its
own): on items and item it refuses a CRS the collection does not offer (400, naming the offered
ones) and records the chosen one for the SQL (crs.OUTPUT_CRS) and for the header; on the two
collection routes it makes the catalog known to the response renderer (responses.py), which adds
the lists to the JSON tipg built.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Annotated, Any

from fastapi import FastAPI, Query
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tipg.collections import Collection

from app.errors import InvalidParameter
from app.ogc.crs import OUTPUT_CRS, Crs, choose_crs, crs_metadata, offered_crs
from app.ogc.overrides import append_dependency
from app.ogc.params import CollectionDep, _echo

ITEMS_PATH = "/collections/{collectionId}/items"
ITEM_PATH = "/collections/{collectionId}/items/{itemId}"
COLLECTION_PATHS = ("/collections", "/collections/{collectionId}")
CHOSEN_KEY = "wfs3.content_crs"  # in the ASGI scope: where the route tells the middleware

# The catalog the collection routes describe, for the renderer (it is given only the body).
DESCRIBED: ContextVar[Mapping[str, Collection] | None] = ContextVar("wfs3.described", default=None)

CRS_DESCRIPTION = "CRS of the returned geometries, one of the collection's `crs` list (URI)."
BBOX_CRS_DESCRIPTION = "CRS of `bbox`, one of the collection's `crs` list (default CRS84)."


def _offered_or_refused(
    value: str | None, offered: list[Crs], name: str, collection_id: str
) -> Crs:
    chosen = choose_crs(value, offered)
    if chosen is None:
        listed = ", ".join(c.uri for c in offered) or "none: it has no geometry"
        raise InvalidParameter(
            f"{name} '{_echo(value or '')}' is not offered for {collection_id}; it offers: {listed}"
        )
    return chosen


CrsParam = Annotated[str | None, Query(description=CRS_DESCRIPTION)]
BboxCrsParam = Annotated[str | None, Query(alias="bbox-crs", description=BBOX_CRS_DESCRIPTION)]


async def item_crs_query(request: Request, collection: CollectionDep, crs: CrsParam = None) -> None:
    offered = offered_crs(collection)
    output = _offered_or_refused(crs, offered, "crs", collection.id)
    OUTPUT_CRS.set(output)
    chosen = request.scope.get(CHOSEN_KEY)
    if offered and chosen is not None:
        chosen["uri"] = output.uri


async def items_crs_query(
    request: Request, collection: CollectionDep, crs: CrsParam = None, bbox_crs: BboxCrsParam = None
) -> None:
    _offered_or_refused(bbox_crs, offered_crs(collection), "bbox-crs", collection.id)
    await item_crs_query(request, collection, crs)


async def describe_crs(request: Request) -> None:
    catalog = getattr(request.app.state, "collection_catalog", None) or {}
    DESCRIBED.set(catalog.get("collections", {}))


def add_crs_lists(content: Any) -> Any:
    """A collection's (or each listed collection's) JSON with its `crs` and `storageCrs`."""
    if not isinstance(content, dict):
        return content
    described = DESCRIBED.get()
    if not described:
        return content
    listed = content.get("collections")
    for body in listed if isinstance(listed, list) else [content]:
        if isinstance(body, dict) and (collection := described.get(str(body.get("id")))):
            body.update(crs_metadata(collection))
    return content


class ContentCrsMiddleware:
    """`Content-Crs: <uri>` on a successful items or item response (/req/crs/ogc-crs-header):
    the CRS its geometries are in, as the route's crs_query chose it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chosen: dict[str, str] = {}
        scope[CHOSEN_KEY] = chosen

        async def send_with_crs(message: Message) -> None:
            if message["type"] == "http.response.start" and "uri" in chosen:
                if 200 <= message["status"] < 300:
                    MutableHeaders(scope=message).append("Content-Crs", f"<{chosen['uri']}>")
            await send(message)

        await self.app(scope, receive, send_with_crs)


def install_crs(app: FastAPI) -> None:
    """The CRS parameters on items and item, the lists on the collection routes, the header.
    Before query_check.py's install, which reads each route's declared parameters."""
    append_dependency(app, items_crs_query, ITEMS_PATH)
    append_dependency(app, item_crs_query, ITEM_PATH)
    append_dependency(app, describe_crs, *COLLECTION_PATHS)
    app.add_middleware(ContentCrsMiddleware)

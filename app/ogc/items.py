"""The items and item endpoints: one function each, in place of tipg's two routes.

Each reads its query once (items_query.py) into one value, finds the collection, and answers:
GeoJSON from PostgreSQL's own text (geojson_items.py), every other format (HTML, CSV, JSON, the
sequences) by tipg's own endpoint function, called with the same values. Both are plain ASGI
apps; the item's answers in GeoJSON come from a plan where one applies (plans.py), made of
the same functions' results, and the general way's Request and Response are built only where
it does not. tipg's routes are taken
out of its factory's router; ours are the first of the app's routes, with tipg's names ("items",
"item"), which links.py resolves through the app's router; their /api operations keep tipg's
responses and take their parameters from our tables.

Relied upon (tests/test_tipg_hooks.py): tipg's items and item routes are `APIRoute`s named
"items" and "item" on `OGCFeaturesFactory.router`, and their endpoint functions take the keyword
arguments `tipg_items_arguments` and `tipg_item_arguments` give.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from tipg.collections import Collection
from tipg.resources.enums import MediaType

from app.memo import remembered_call
from app.ogc.catalog import ServedCollection
from app.ogc.geojson_items import GeoJsonAnswers
from app.ogc.items_query import (
    ITEM,
    ITEMS,
    QUERIES,
    ItemQuery,
    ItemsQuery,
    PageSizes,
    openapi_parameters,
    read_item_query,
    read_items_query,
    read_remembered,
)
from app.ogc.links import base_url_inputs
from app.ogc.params import find_collection
from app.ogc.paths import ITEM_PATH, ITEMS_PATH
from app.ogc.plans import (
    ItemPlan,
    ItemsPlan,
    answered_item,
    answered_items,
    make_item_plan,
    make_items_plan,
)

Endpoint = Callable[..., Awaitable[Response]]
COLLECTION_ID = {
    "name": "collectionId",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
}
ITEM_ID = {"name": "itemId", "in": "path", "required": True, "schema": {"type": "string"}}


def tipg_items_arguments(request: Request, collection: Any, query: ItemsQuery) -> dict[str, Any]:
    return {
        "request": request,
        "collection": collection,
        "ids_filter": query.ids,
        "bbox_filter": query.bbox,
        "datetime_filter": query.datetime,
        "properties": query.properties,
        "cql_filter": query.filter,
        "sortby": query.sortby,
        "geom_column": query.geom_column,
        "datetime_column": query.datetime_column,
        "limit": query.limit,
        "offset": query.offset,
        "bbox_only": query.bbox_only,
        "simplify": query.simplify,
        "output_type": query.output,
    }


def tipg_item_arguments(
    request: Request, collection: Any, item_id: str, query: ItemQuery
) -> dict[str, Any]:
    return {
        "request": request,
        "collection": collection,
        "itemId": item_id,
        "bbox_only": query.bbox_only,
        "simplify": query.simplify,
        "geom_column": query.geom_column,
        "datetime_column": query.datetime_column,
        "properties": query.properties,
        "output_type": query.output,
    }


def with_applied_limit(request: Request, limit: int) -> Request:
    """The request with `limit` in its query as applied (the default added, a limit above the
    maximum lowered), so that the self and next links show the page size actually served."""
    raw = request.scope.get("query_string", b"")
    parts = [part for part in raw.split(b"&") if part] if raw else []
    given = [i for i, part in enumerate(parts) if part.partition(b"=")[0] == b"limit"]
    applied = b"limit=" + str(limit).encode()
    if given and parts[given[0]] == applied:
        return request
    if given:
        parts[given[0]] = applied
    else:
        parts.append(applied)
    return Request({**request.scope, "query_string": b"&".join(parts)}, request.receive)


def _with_content_crs(response: Response, query: ItemQuery) -> Response:
    """/req/crs/ogc-crs-header: the CRS the geometries of a successful answer are in."""
    if response.status_code < 300 and query.content_crs is not None:
        # Appended to the raw pairs: no Response here has one, and MutableHeaders costs more.
        value = f"<{query.content_crs.uri}>".encode("latin-1")
        response.raw_headers.append((b"content-crs", value))
    return response


class ItemsEndpoints:
    """Our items and item answers, the general way (Request in, Response out); `geojson` is None
    when tipg writes GeoJSON too (WFS3_GEOJSON_IN_SQL=false)."""

    def __init__(
        self,
        sizes: PageSizes,
        geojson: GeoJsonAnswers | None,
        tipg_items: Endpoint,
        tipg_item: Endpoint,
    ) -> None:
        self.sizes = sizes
        self.geojson = geojson
        self.tipg_items = tipg_items
        self.tipg_item = tipg_item

    async def items(self, request: Request) -> Response:
        collection = find_collection(request.app, request.path_params["collectionId"])
        return await self.items_of(request, collection)

    async def item(self, request: Request) -> Response:
        collection = find_collection(request.app, request.path_params["collectionId"])
        return await self.item_of(request, collection)

    def items_query(self, request: Request, collection: Collection) -> ItemsQuery:
        return cast(ItemsQuery, self._query(read_items_query, request, collection))

    def item_query(self, request: Request, collection: Collection) -> ItemQuery:
        return cast(ItemQuery, self._query(read_item_query, request, collection))

    def _query(self, read: Any, request: Request, collection: Collection) -> Any:
        accept = request.headers.get("accept")
        return read_remembered(read, request.scope["query_string"], accept, collection, self.sizes)

    async def items_of(self, request: Request, collection: Any) -> Response:
        query = self.items_query(request, collection)
        request = with_applied_limit(request, query.limit)
        in_crs = _in_crs(collection, query)
        if self.geojson is not None and query.output is MediaType.geojson:
            response = await self.geojson.items(request, in_crs, query)
        else:
            response = await self.tipg_items(**tipg_items_arguments(request, in_crs, query))
        return _with_content_crs(response, query)

    async def item_of(self, request: Request, collection: Any) -> Response:
        query = self.item_query(request, collection)
        item_id = request.path_params["itemId"]
        in_crs = _in_crs(collection, query)
        keyed = collection.id_column is not None  # else tipg's own 404 (NoPrimaryKey)
        if self.geojson is not None and query.output is MediaType.geojson and keyed:
            response = await self.geojson.item(request, in_crs, item_id, query)
        else:
            arguments = tipg_item_arguments(request, in_crs, item_id, query)
            response = await self.tipg_item(**arguments)
        return _with_content_crs(response, query)


def _in_crs(collection: Any, query: ItemQuery) -> Any:
    return collection.in_crs(query.crs) if isinstance(collection, ServedCollection) else collection


class PlannedEndpoint:
    """A route's ASGI endpoint: its answer from a plan where one applies (plans.py), else the
    general way (ItemsEndpoints), with its Request and Response. Plain ASGI so that a Route
    calls it without Starlette's per-request wrapper (request_response: its own exception
    handling). Exceptions go to whoever called the route, and are answered there as any other:
    by the app's ExceptionMiddleware through the router, by app/edge.py, which tries the items
    and item routes first."""

    def __init__(self, endpoints: ItemsEndpoints) -> None:
        self.endpoints = endpoints
        self.geojson = endpoints.geojson

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        collection = find_collection(scope["app"], scope["path_params"]["collectionId"])
        if await self._planned(scope, receive, send, collection):
            return
        response = await self.general(Request(scope, receive), collection)
        await response(scope, receive, send)

    async def _planned(self, scope: Scope, receive: Receive, send: Send, collection: Any) -> bool:
        """Whether the request's plan answered it (nothing sent if not)."""
        if self.geojson is None or not isinstance(collection, ServedCollection):
            return False
        accept, conditional = _plan_headers(scope)
        # What the plan depends on, with the query's reader and sizes (self), and the app's
        # answers (self.geojson): a key of its own among the collection's remembered queries.
        key = (self, scope["query_string"], accept, *base_url_inputs(scope))
        plan = remembered_call(
            collection.queries, key, QUERIES, self._made, scope, receive, collection
        )
        return not conditional and await self.answer(self.geojson, plan, scope, send)

    def _made(self, scope: Scope, receive: Receive, collection: ServedCollection) -> Any:
        """The plan of a request not seen before, from a Request made only then."""
        return self.make(Request(scope, receive), collection)

    def make(self, request: Request, collection: ServedCollection) -> Any:
        raise NotImplementedError

    async def answer(self, geojson: GeoJsonAnswers, plan: Any, scope: Scope, send: Send) -> bool:
        raise NotImplementedError

    async def general(self, request: Request, collection: Any) -> Response:
        raise NotImplementedError


class ItemsEndpoint(PlannedEndpoint):
    def make(self, request: Request, collection: ServedCollection) -> ItemsPlan:
        assert self.geojson is not None
        query = self.endpoints.items_query(request, collection)
        served = with_applied_limit(request, query.limit)
        return make_items_plan(self.geojson, served, _in_crs(collection, query), query)

    async def answer(self, geojson: GeoJsonAnswers, plan: Any, scope: Scope, send: Send) -> bool:
        return await answered_items(geojson, plan, scope, send)

    async def general(self, request: Request, collection: Any) -> Response:
        return await self.endpoints.items_of(request, collection)


class ItemEndpoint(PlannedEndpoint):
    def make(self, request: Request, collection: ServedCollection) -> ItemPlan:
        assert self.geojson is not None
        query = self.endpoints.item_query(request, collection)
        return make_item_plan(self.geojson, request, _in_crs(collection, query), query)

    async def answer(self, geojson: GeoJsonAnswers, plan: Any, scope: Scope, send: Send) -> bool:
        item_id = scope["path_params"]["itemId"]
        return await answered_item(geojson, plan, scope, send, item_id)

    async def general(self, request: Request, collection: Any) -> Response:
        return await self.endpoints.item_of(request, collection)


def _plan_headers(scope: Scope) -> tuple[bytes | None, bool]:
    """The request's Accept header (the first, as Starlette's Headers.get gives it), and whether
    it asks conditionally (If-None-Match)."""
    accept, conditional = None, False
    for name, value in scope["headers"]:
        if name == b"accept" and accept is None:
            accept = value
        elif name == b"if-none-match":
            conditional = True
    return accept, conditional


class NamedRoute(Route):
    """A Starlette route that leaves itself in the scope, as FastAPI's routes do: telemetry names
    the request by `scope["route"].path` (FastAPI's router does not set it for plain routes)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self
        await super().handle(scope, receive, send)


ItemsRoutes = tuple[NamedRoute, NamedRoute]  # the items route, the item route


def _tipg_route(router: APIRouter, name: str) -> APIRoute:
    found = [r for r in router.routes if isinstance(r, APIRoute) and r.name == name]
    if len(found) != 1:
        raise RuntimeError(f"tipg's '{name}' route not found: re-check app/ogc/items.py")
    return found[0]


def _described(tipg: APIRoute, endpoint: Endpoint, parameters: list[Any]) -> APIRoute:
    """The /api operation of our endpoint: tipg's responses and tags, our parameters."""
    return APIRoute(
        tipg.path,
        endpoint,
        methods=["GET"],
        name=tipg.name,
        response_class=tipg.response_class,
        responses=tipg.responses,
        tags=tipg.tags,
        summary=tipg.summary,
        openapi_extra={"parameters": parameters},
    )


@dataclass(frozen=True)
class InstalledItems:
    routes: ItemsRoutes  # first among the app's routes
    described: list[APIRoute]  # their /api operations, which openapi.py adds to the document


def install_items(
    app: FastAPI, router: APIRouter, sizes: PageSizes, geojson: GeoJsonAnswers | None
) -> InstalledItems:
    """Our items and item endpoints in place of tipg's: tipg's routes taken out of its factory
    `router` (before the app includes it), ours first among the app's routes as plain Starlette
    routes to ASGI endpoints, so that FastAPI solves nothing per request. The edge
    (app/edge.py) tries the same routes before the app's middleware and router."""
    tipg_items, tipg_item = _tipg_route(router, "items"), _tipg_route(router, "item")
    assert (tipg_items.path, tipg_item.path) == (ITEMS_PATH, ITEM_PATH)
    router.routes[:] = [r for r in router.routes if r not in (tipg_items, tipg_item)]
    endpoints = ItemsEndpoints(sizes, geojson, tipg_items.endpoint, tipg_item.endpoint)
    routes = (
        NamedRoute(ITEMS_PATH, ItemsEndpoint(endpoints), methods=["GET"], name="items"),
        NamedRoute(ITEM_PATH, ItemEndpoint(endpoints), methods=["GET"], name="item"),
    )
    app.router.routes[:0] = routes
    items_parameters = [COLLECTION_ID, *openapi_parameters(ITEMS, sizes)]
    item_parameters = [COLLECTION_ID, ITEM_ID, *openapi_parameters(ITEM, sizes)]
    described = [
        _described(tipg_items, endpoints.items, items_parameters),
        _described(tipg_item, endpoints.item, item_parameters),
    ]
    return InstalledItems(routes, described)

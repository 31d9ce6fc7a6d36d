"""The common GeoJSON items and item requests, served without FastAPI's dependency solving.

On every request FastAPI solves the items route's twenty-odd dependencies, validating each query
value with pydantic: 0.6 of the 1.3 ms an in-process `items/{id}` took (bench/inprocess.py with
cProfile; figures in the commit). Yet most of those parameters are strings that only our own
parsers check (bbox, datetime, filter, sortby, properties, ids, crs). For a GeoJSON request, a
route placed before tipg's two routes calls those very functions, in the route's order, and
answers with the same FastGeoJson (fast_items.py).

A request matches here only when all of its query is of that shape: one value per name, limits
and offsets that are plain whole numbers in range, a known filter-lang, GeoJSON asked for, a
collection in the catalog.
Anything else — another parameter, a value FastAPI would refuse, another format — does not match,
and tipg's route answers it, so that every error and every other behaviour has one source.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from starlette._utils import get_route_path  # private: the path as routing sees it
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound, compile_path
from starlette.types import Receive, Scope, Send
from tipg.dependencies import ItemsResponseType, accept_media_type, ids_query
from tipg.resources.enums import MediaType

from app.ogc.crs_request import item_crs_query, items_crs_query
from app.ogc.fast_items import ITEM_PATH, ITEMS_PATH, FastGeoJson
from app.ogc.keyset import CURSOR
from app.ogc.params import (
    bbox_query,
    collection_params,
    datetime_query,
    filter_query,
    properties_query,
    sortby_query,
)

# Parameters whose only check is one of our parsers (params.py, crs_request.py), which the lane
# calls itself; FastAPI validates nothing of them but their being a single string.
PARSED = frozenset({"ids", "bbox", "bbox-crs", "datetime", "properties", "filter", "sortby", "crs"})
ITEMS_QUERY = PARSED | {"limit", "offset", CURSOR, "filter-lang", "f"}
ITEM_QUERY = frozenset({"properties", "crs", "f"})
FILTER_LANGS = ("cql2-text", "cql2-json")  # the Literal FastAPI checks filter-lang against
ITEMS_MEDIA = [MediaType[name] for name in ItemsResponseType.__args__]  # type: ignore[attr-defined]

Lane = Callable[[Request, dict[str, str]], Awaitable[Response]]


def _single_values(scope: Scope, allowed: frozenset[str]) -> dict[str, str] | None:
    """The query as {name: value} when every name is allowed and given once, else None."""
    raw = scope.get("query_string", b"")
    if b"%00" in raw or b"\x00" in raw:  # query_check.py refuses NUL: let it say so
        return None
    pairs = QueryParams(raw).multi_items()
    query = dict(pairs)
    if len(query) != len(pairs) or not query.keys() <= allowed:
        return None
    return query


def _whole(value: str | None, low: int, high: int | None) -> bool:
    """A plain decimal number within [low, high]: what FastAPI would accept unchanged."""
    if value is None or not (value.isascii() and value.isdigit()):
        return False
    number = int(value)
    return low <= number and (high is None or number <= high)


def _asks_geojson(scope: Scope, query: dict[str, str]) -> bool:
    """What tipg's ItemsOutputType would choose is GeoJSON (or nothing in particular)."""
    if "f" in query:
        return query["f"] == "geojson"
    accept = next((v for k, v in scope["headers"] if k == b"accept"), None)
    if accept is None:
        return True
    chosen = accept_media_type(accept.decode("latin-1"), ITEMS_MEDIA)
    return chosen in (None, MediaType.geojson)


def items_query(scope: Scope, maximum: int) -> dict[str, str] | None:
    """The query of an items request the lane serves, or None. `limit` is always there:
    paging.py adds the default before routing."""
    query = _single_values(scope, ITEMS_QUERY)
    if query is None or not _whole(query.get("limit"), 1, maximum):
        return None
    offset = query.get("offset")
    if offset is not None and not _whole(offset, 0, None):
        return None
    if CURSOR in query and (not query[CURSOR] or int(offset or 0)):
        return None  # keyset.cursor_query refuses these
    if query.get("filter-lang", FILTER_LANGS[0]) not in FILTER_LANGS:
        return None
    return query if _asks_geojson(scope, query) else None


def item_query(scope: Scope) -> dict[str, str] | None:
    query = _single_values(scope, ITEM_QUERY)
    return query if query is not None and _asks_geojson(scope, query) else None


class FastLaneRoute(BaseRoute):
    """GET on one of tipg's paths, for the requests `accepts` takes; named like tipg's route
    in telemetry (the span and metrics read `scope["route"].path`)."""

    def __init__(
        self,
        path: str,
        accepts: Callable[[Scope], dict[str, str] | None],
        serve: Lane,
        needs_key: bool,
    ) -> None:
        self.path = path
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        self.accepts = accepts
        self.serve = serve
        self.needs_key = needs_key

    def _known_collection(self, scope: Scope, collection_id: str) -> bool:
        """In the catalog (else tipg's route says 404 or 503), with a key where one is needed."""
        catalog = getattr(scope["app"].state, "collection_catalog", None)
        collection = catalog["collections"].get(collection_id) if catalog else None
        return collection is not None and not (self.needs_key and collection.id_column is None)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] != "GET":
            return Match.NONE, {}
        found = self.path_regex.match(get_route_path(scope))
        if found is None or not self._known_collection(scope, found["collectionId"]):
            return Match.NONE, {}
        query = self.accepts(scope)
        if query is None:
            return Match.NONE, {}
        path_params = {**scope.get("path_params", {}), **found.groupdict()}
        return Match.FULL, {"path_params": path_params, "route": self, "wfs3.lane": query}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # links name tipg's routes, never this one

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.serve(Request(scope, receive), scope["wfs3.lane"])
        await response(scope, receive, send)


class FastLanes:
    """The two lanes' answers: the checks tipg's routes would run, then FastGeoJson."""

    def __init__(self, fast: FastGeoJson) -> None:
        self.fast = fast

    async def items(self, request: Request, query: dict[str, str]) -> Response:
        """tipg's items route, its dependencies called in the route's order (the first error
        raised is the one the route would raise)."""
        collection = await collection_params(request, request.path_params["collectionId"])
        get = query.get
        offset = get("offset")
        values = {
            "request": request,
            "collection": collection,
            "ids_filter": ids_query(get("ids")),
            "bbox_filter": await bbox_query(get("bbox"), get("bbox-crs")),
            "datetime_filter": await datetime_query(get("datetime")),
            "properties": await properties_query(collection, get("properties")),
            "cql_filter": await filter_query(collection, get("filter"), get("filter-lang")),  # type: ignore[arg-type]
            "sortby": await sortby_query(get("sortby")),
            "output_type": MediaType.geojson if "f" in query else None,
            "limit": int(query["limit"]),
            "offset": int(offset) if offset is not None else None,
        }
        await items_crs_query(request, collection, get("crs"), get("bbox-crs"))
        return await self.fast.items(values)

    async def item(self, request: Request, query: dict[str, str]) -> Response:
        collection = await collection_params(request, request.path_params["collectionId"])
        values = {
            "request": request,
            "collection": collection,
            "itemId": request.path_params["itemId"],
            "properties": await properties_query(collection, query.get("properties")),
            "output_type": MediaType.geojson if "f" in query else None,
        }
        await item_crs_query(request, collection, query.get("crs"))
        return await self.fast.item(values)


def install_fast_lanes(app: FastAPI, fast: FastGeoJson, maximum: int) -> None:
    """The lanes first among the app's routes, so that the router tries them before tipg's."""
    lanes = FastLanes(fast)
    app.router.routes[:0] = [
        FastLaneRoute(ITEMS_PATH, lambda scope: items_query(scope, maximum), lanes.items, False),
        FastLaneRoute(ITEM_PATH, item_query, lanes.item, True),
    ]

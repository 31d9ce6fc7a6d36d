"""Items and item in GeoJSON, the format nearly every request asks for, answered from
PostgreSQL's own GeoJSON text (geojson_sql.py): Python writes the envelope and its links around
the features' bytes. items.py calls these for GeoJSON; every other format is tipg's.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from tipg.collections import Collection
from tipg.dependencies import function_parameters_query
from tipg.errors import NotFound as TipgNotFound

from app import __version__
from app.errors import InvalidParameter
from app.ogc.catalog import INTEGER_TYPES, ServedCollection, filtering, int64_id
from app.ogc.counting import MatchedCounter
from app.ogc.envelopes import GEOJSON, Envelopes, paging_links
from app.ogc.etags import DataETags
from app.ogc.geojson_sql import PageRequest, ShapedPage
from app.ogc.items_query import CURSOR, ItemQuery, ItemsQuery
from app.ogc.keyset import Order, cursor_condition, key_order, total_order
from app.ogc.links import ID_MARKER, LinkCachingFactory

TEXT_TYPES = frozenset({"text", "character varying", "varchar"})
GEOJSON_TYPE = GEOJSON.encode()


class GeoJsonBody(Response):
    """A 200 GeoJSON answer, its headers written as the raw pairs Starlette sends (ETag,
    Content-Length, Content-Type, in the order Starlette's own Response gives them): its
    init_headers lowercases and encodes a dict and scans it for the length and type, the same
    work on every page (bench/README.md)."""

    media_type = GEOJSON

    def __init__(self, body: bytes, etag: str) -> None:
        self.status_code = 200
        self.background = None
        self.body = body
        self.raw_headers = geojson_headers(body, etag)


def geojson_headers(body: bytes, etag: str) -> list[tuple[bytes, bytes]]:
    """A 200 GeoJSON answer's headers as Starlette's Response writes them (ETag, Content-Length,
    Content-Type: tests/test_geojson_body.py)."""
    return [
        (b"etag", etag.encode("latin-1")),
        (b"content-length", str(len(body)).encode()),
        (b"content-type", GEOJSON_TYPE),
    ]


def _filters(query: ItemsQuery) -> dict[str, Any]:
    """cql_where's arguments."""
    return {
        "ids": query.ids,
        "bbox": query.bbox,
        "datetime": query.datetime,
        "properties": query.property_filters,
        "cql": query.filter,
        "geom": query.geom_column,
        "dt": query.datetime_column,
    }


def key_parameter(collection: Collection, item_id: str) -> int | str | None:
    """The id as a parameter of the key column's type; None where only tipg's literal will do
    (another key type, or an id that cannot be one: tipg's own 404 then)."""
    assert collection.id_column is not None
    key_type = collection.id_column.type
    if key_type in TEXT_TYPES:
        return item_id
    return int64_id(item_id) if key_type in INTEGER_TYPES else None


def _page_request(
    request: Request, collection: Collection, query: ItemQuery, **page: Any
) -> PageRequest:
    """The query's selection, and `page`'s other PageRequest fields."""
    return PageRequest(
        properties=query.properties,
        geom=query.geom_column,
        bbox_only=query.bbox_only,
        simplify=query.simplify,
        function_parameters=function_parameters_query(request, collection),
        **page,
    )


class GeoJsonAnswers:
    """The GeoJSON answers of items and item, with tipg's factory for its links. The collection
    each is given is already in the requested CRS (ServedCollection.in_crs)."""

    def __init__(
        self, factory: LinkCachingFactory, feature_links: bool, counter: MatchedCounter
    ) -> None:
        self.factory = factory
        self.envelopes = Envelopes(factory)
        self.feature_links = feature_links
        self.counter = counter
        shape = f"{__version__} feature_links={feature_links} number_matched={counter.mode}"
        self.etags = DataETags(shape)

    def _feature_links(self, request: Request, collection_id: str) -> tuple[str, str, str]:
        """(collection URL, item URL before the id, after it), as tipg builds them."""
        url_for = self.factory.url_for
        collection = url_for(request, "collection", collectionId=collection_id)
        item = url_for(request, "item", collectionId=collection_id, itemId=ID_MARKER)
        before, _, after = item.rpartition(ID_MARKER)
        return collection, before, after

    def _items_request(
        self, request: Request, collection: Collection, query: ItemsQuery, order: Order | None
    ) -> PageRequest:
        """The page to read: the query's selection, the cursor (keyset.py), the feature links."""
        cursor = None
        if query.after is not None:
            if order is None:
                raise InvalidParameter(f"{CURSOR} needs the page ordered by the key alone")
            cursor = cursor_condition(collection, order, query.after)
        links = self._feature_links(request, collection.id) if self.feature_links else None
        return _page_request(
            request,
            collection,
            query,
            sortby=total_order(collection, query.sortby),
            limit=query.limit,
            offset=query.offset or 0,
            cursor=cursor,
            feature_links=links,
        )

    def plain_page(
        self, request: Request, collection: ServedCollection, query: ItemsQuery
    ) -> tuple[ShapedPage, Order | None] | None:
        """The page and statement `items` reads for a query whose statement holds no value of
        the request (no filter, no cursor, no function parameters: the same for every such
        request), and the page's order; None for any other query. `request` holds the query as
        served (items.with_applied_limit)."""
        if filtering(_filters(query)) or query.after is not None:
            return None
        order = key_order(collection, query.sortby)
        shaped = collection.shaped(self._items_request(request, collection, query, order))
        return None if shaped is None else (shaped, order)

    async def items(
        self, request: Request, collection: ServedCollection, query: ItemsQuery
    ) -> Response:
        if (not_modified := await self.etags.unchanged(request)) is not None:
            return not_modified
        order = key_order(collection, query.sortby)
        page_request = self._items_request(request, collection, query, order)
        async with request.app.state.pool.acquire() as conn:
            page = await collection.geojson_page(conn, page_request, _filters(query), self.counter)
        parts = self.envelopes.page_parts(request, collection)
        paging = paging_links(parts, page, (query.limit, query.offset or 0), order)
        etag = self.etags.etag(request.scope, page.snapshot)
        return GeoJsonBody(parts.document(page, paging), etag)

    def item_page(
        self, request: Request, collection: ServedCollection, query: ItemQuery
    ) -> ShapedPage | None:
        """The page and statement `item` reads for an id of this query, the same for every id
        its key_parameter turns into a parameter; None where there is no such id (the key's
        type)."""
        key = key_parameter(collection, "0")
        if key is None:
            return None
        return collection.shaped(_page_request(request, collection, query, limit=1, key=key))

    async def item(
        self, request: Request, collection: ServedCollection, item_id: str, query: ItemQuery
    ) -> Response:
        if (not_modified := await self.etags.unchanged(request)) is not None:
            return not_modified
        key = key_parameter(collection, item_id)
        page_request = _page_request(request, collection, query, limit=1, key=key)
        filters = {"ids": [item_id], "geom": query.geom_column}
        async with request.app.state.pool.acquire() as conn:
            page = await collection.geojson_page(conn, page_request, filters, None)
        if not page.returned:
            raise TipgNotFound(f"Item {item_id} in Collection {collection.id} does not exist.")
        links = self.envelopes.item_links(request, collection.id, item_id)
        # The feature's JSON object with its links as the last member, its bytes copied once.
        body = b"".join((memoryview(page.features)[:-1], b',"links":', links, b"}"))
        etag = self.etags.etag(request.scope, page.snapshot)
        return GeoJsonBody(body, etag)

"""Items and item in GeoJSON, the format nearly every request asks for, answered from
PostgreSQL's own GeoJSON text (geojson_sql.py): Python writes the envelope and its links around
the features' bytes. items.py calls these for GeoJSON; every other format is tipg's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from tipg.collections import Collection
from tipg.dependencies import function_parameters_query
from tipg.errors import NotFound as TipgNotFound
from tipg.resources.enums import MediaType

from app import __version__
from app.errors import InvalidParameter
from app.ogc.catalog import INTEGER_TYPES, ServedCollection, int64_id
from app.ogc.counting import MatchedCounter
from app.ogc.etags import DataETags
from app.ogc.geojson_sql import GeoJsonPage, PageRequest
from app.ogc.items_query import CURSOR, ItemQuery, ItemsQuery
from app.ogc.keyset import Order, cursor_condition, key_order, total_order
from app.ogc.links import ID_MARKER, LinkCachingFactory
from app.ogc.responses import ITEMS_FORMATS, OTHER_FORMATS, add_alternates, format_queries

GEOJSON = MediaType.geojson.value
ALTERNATES = [*OTHER_FORMATS[GEOJSON], *ITEMS_FORMATS]  # (f, media type, title) of the others
TEXT_TYPES = frozenset({"text", "character varying", "varchar"})


def _geojson_response(envelope: dict[str, Any], features: bytes) -> Response:
    """The envelope's JSON with `"features":[…]` spliced in as the last member."""
    head = orjson.dumps(envelope)[:-1]
    return Response(head + b',"features":[' + features + b"]}", media_type=GEOJSON)


def _time_stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def _link(rel: str, href: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


Pairs = list[tuple[str, str]]


def _with(items_url: str, query: Pairs | dict[str, str]) -> str:
    pairs = list(query.items()) if isinstance(query, dict) else query
    return f"{items_url}?{urlencode(pairs)}" if pairs else items_url


def _next_query(
    pairs: Pairs, page: GeoJsonPage, offset: int, order: Order | None
) -> dict[str, str]:
    """The next page's query: after the last id when ordered by the key (keyset.py), else
    the next offset."""
    query = dict(pairs)
    if order is None:
        return {**query, "offset": str(offset + page.returned)}
    query.pop("offset", None)
    last = page.id_range[1] if order == "asc" else page.id_range[0]
    return {**query, CURSOR: str(last)}


def _paging_links(
    pairs: Pairs, items_url: str, page: GeoJsonPage, page_at: tuple[int, int], order: Order | None
) -> list[dict[str, str]]:
    """next while a feature follows the page; prev for a page reached by offset."""
    limit, offset = page_at
    links = []
    if page.more:
        href = _with(items_url, _next_query(pairs, page, offset, order))
        links.append(_link("next", href, GEOJSON, "Next page"))
    if offset:
        before = {k: v for k, v in pairs if k != "offset"}
        before["offset"] = str(max(offset - limit, 0))
        links.append(_link("prev", _with(items_url, before), GEOJSON, "Previous page"))
    return links


def _alternate_links(pairs: Pairs, items_url: str) -> list[dict[str, str]]:
    """The page in its other formats: responses.add_alternates' links, from the query's pairs
    instead of parsed back from the self link."""
    queries = format_queries(pairs, [fmt for fmt, _, _ in ALTERNATES])
    return [
        _link("alternate", f"{items_url}?{query}", kind, title)
        for query, (_, kind, title) in zip(queries, ALTERNATES, strict=True)
    ]


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

    def _collection_link(
        self, request: Request, collection_id: str, title: str | None
    ) -> dict[str, str]:
        href = self.factory.url_for(request, "collection", collectionId=collection_id)
        link = _link("collection", href, "application/json", title or "")
        return link if title else {k: v for k, v in link.items() if k != "title"}

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

    async def items(
        self, request: Request, collection: ServedCollection, query: ItemsQuery
    ) -> Response:
        if (not_modified := await self.etags.unchanged(request)) is not None:
            return not_modified
        order = key_order(collection, query.sortby)
        page_request = self._items_request(request, collection, query, order)
        async with request.app.state.pool.acquire() as conn:
            page = await collection.geojson_page(conn, page_request, _filters(query), self.counter)
        items_url = self.factory.url_for(request, "items", collectionId=collection.id)
        pairs = request.query_params.multi_items()
        envelope = self._envelope(request, collection, page, _with(items_url, pairs))
        page_at = (query.limit, query.offset or 0)
        envelope["links"] += _paging_links(pairs, items_url, page, page_at, order)
        envelope["links"] += _alternate_links(pairs, items_url)
        response = _geojson_response(envelope, page.features)
        response.headers["ETag"] = self.etags.etag(request, page.snapshot)
        return response

    def _envelope(
        self, request: Request, collection: Collection, page: GeoJsonPage, self_href: str
    ) -> dict[str, Any]:
        """The FeatureCollection around the page's features: counts, collection and self links."""
        envelope: dict[str, Any] = {
            "type": "FeatureCollection",
            "id": collection.id,
            "title": collection.title or collection.id,
            "description": collection.description or collection.title or collection.id,
            "numberMatched": page.matched,
            "numberReturned": page.returned,
            "timeStamp": _time_stamp(),
            "links": [
                self._collection_link(request, collection.id, "Collection"),
                _link("self", self_href, GEOJSON, "Items"),
            ],
        }
        if page.matched is None:
            del envelope["numberMatched"]
        return envelope

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
        self_href = self.factory.url_for(
            request, "item", collectionId=collection.id, itemId=item_id
        )
        links = [
            self._collection_link(request, collection.id, None),
            {"href": self_href, "rel": "self", "type": GEOJSON},
        ]
        links = add_alternates({"links": links})["links"]
        body = page.features[:-1] + b',"links":' + orjson.dumps(links) + b"}"
        etag = self.etags.etag(request, page.snapshot)
        return Response(body, media_type=GEOJSON, headers={"ETag": etag})

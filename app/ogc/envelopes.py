"""The JSON around PostgreSQL's features (geojson_items.py): an items page's envelope and links,
an item's links.

Most of it depends only on the collection, the base URL (what starlette builds it from) and the
query, not on the page: the envelope's id, title and description, the collection, self and
alternate links. So that part is built once for each such combination, as JSON bytes, and a
request fills in what is its own: the counts, the time stamp and the paging links of a page;
the id of an item, put where a marker stood when its links were built. Building the links
(URLs resolved, queries parsed and encoded, JSON written) was most of the Python an items or an
item request cost beside the database (bench.layers). The bytes are those the links would be
built as each time (tests/test_envelopes.py compares both ways).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote_plus, urlencode

import orjson
from starlette.requests import Request
from tipg.collections import Collection
from tipg.resources.enums import MediaType

from app.memo import remembered
from app.ogc.geojson_sql import GeoJsonPage
from app.ogc.items_query import CURSOR
from app.ogc.keyset import Order
from app.ogc.links import ID_MARKER, LinkCachingFactory, base_url_inputs
from app.ogc.responses import (
    ITEMS_FORMATS,
    OTHER_FORMATS,
    add_alternates,
    format_queries,
    time_stamp,
)

GEOJSON = MediaType.geojson.value
ALTERNATES = [*OTHER_FORMATS[GEOJSON], *ITEMS_FORMATS]  # (f, media type, title) of the others
MARKER_JSON = orjson.dumps(ID_MARKER)[1:-1]
# Ids that a URL or its parsing would change (a path separator, a query, a fragment, nothing)
# are linked the long way, to come out (or fail) exactly as url_for and add_alternates make them.
UNSAFE_ID_CHARACTERS = frozenset("/?#")
REMEMBERED = 1024  # per kind; the keys hold a Host header and a query, both the client's

Pairs = list[tuple[str, str]]


def link(rel: str, href: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def with_query(
    items_url: str, query: Pairs | dict[str, str], encode: Callable[[Pairs], str] = urlencode
) -> str:
    pairs = list(query.items()) if isinstance(query, dict) else query
    return f"{items_url}?{encode(pairs)}" if pairs else items_url


class PairEncoder:
    """urlencode, each distinct (name, value) pair quoted once: a new query's self, alternate and
    paging links are one query with one parameter changed, seven urlencodes of it, 80 % of the
    ~100 us its links took to build (a bbox, a datetime or a filter makes every query new).
    urlencode of str pairs is exactly this: quote_plus(name) + "=" + quote_plus(value), joined
    by "&"."""

    def __init__(self) -> None:
        self._quoted: dict[tuple[str, str], str] = {}

    def __call__(self, pairs: Pairs) -> str:
        quoted = self._quoted
        parts = []
        for pair in pairs:
            part = quoted.get(pair)
            if part is None:
                part = quoted[pair] = f"{quote_plus(pair[0])}={quote_plus(pair[1])}"
            parts.append(part)
        return "&".join(parts)


def _members(value: Any) -> bytes:
    """A JSON array's or object's members, without its brackets: to splice into another."""
    return orjson.dumps(value)[1:-1]


@dataclass(frozen=True)
class PageParts:
    """What an items page's document holds for every page of the same collection, base URL and
    query."""

    head: bytes  # `{"type":"FeatureCollection","id":…,"title":…,"description":…,`
    first_links: bytes  # the collection and self links: JSON objects, comma-separated
    alternates: bytes  # the alternate links, likewise
    # The paging links' hrefs, cut where the next offset or cursor goes (paging_links).
    next_by_offset: tuple[str, ...]
    next_by_cursor: tuple[str, ...]
    previous: tuple[str, ...]

    def document(self, page: GeoJsonPage, paging: list[dict[str, str]]) -> bytes:
        counts = b'"numberMatched":%d,' % page.matched if page.matched is not None else b""
        counts += b'"numberReturned":%d,"timeStamp":"%s",' % (page.returned, time_stamp().encode())
        links = [self.first_links, _members(paging), self.alternates]
        joined = b",".join(part for part in links if part)
        # One join: the features (megabytes on a big page) are copied once, not once per `+`.
        parts = (self.head, counts, b'"links":[', joined, b'],"features":[', page.features, b"]}")
        return b"".join(parts)


class Envelopes:
    """Page parts and item link templates, each made once (see the module's docstring)."""

    def __init__(self, factory: LinkCachingFactory) -> None:
        self.factory = factory
        self._pages: dict[Hashable, PageParts] = {}
        self._items: dict[Hashable, tuple[bytes, ...]] = {}

    def page_parts(self, request: Request, collection: Collection) -> PageParts:
        """`request` holds the query as served (items.with_applied_limit)."""
        key = (*base_url_inputs(request.scope), collection.id, request.scope["query_string"])
        build = partial(self._page_parts, request, collection)
        return remembered(self._pages, key, build, REMEMBERED)

    def item_links(self, request: Request, collection_id: str, item_id: str) -> bytes:
        """An item's links, as a JSON array."""
        if not item_id or not UNSAFE_ID_CHARACTERS.isdisjoint(item_id):
            return orjson.dumps(self._item_links(request, collection_id, item_id))
        return with_id(self.item_template(request, collection_id), item_id)

    def item_template(self, request: Request, collection_id: str) -> tuple[bytes, ...]:
        """The links of the collection's items at this base URL, cut where an id goes (with_id
        fills it in, for an id free of UNSAFE_ID_CHARACTERS)."""
        key = (*base_url_inputs(request.scope), collection_id)
        build = partial(self._item_template, request, collection_id)
        return remembered(self._items, key, build, REMEMBERED)

    def collection_link(
        self, request: Request, collection_id: str, title: str | None
    ) -> dict[str, str]:
        href = self.factory.url_for(request, "collection", collectionId=collection_id)
        built = link("collection", href, "application/json", title or "")
        return built if title else {k: v for k, v in built.items() if k != "title"}

    def _page_parts(self, request: Request, collection: Collection) -> PageParts:
        items_url = self.factory.url_for(request, "items", collectionId=collection.id)
        pairs = request.query_params.multi_items()
        encode = PairEncoder()
        first = [
            self.collection_link(request, collection.id, "Collection"),
            link("self", with_query(items_url, pairs, encode), GEOJSON, "Items"),
        ]
        head = {
            "type": "FeatureCollection",
            "id": collection.id,
            "title": collection.title or collection.id,
            "description": collection.description or collection.title or collection.id,
        }
        alternates = _alternate_links(pairs, items_url, encode)
        head_bytes = orjson.dumps(head)[:-1] + b","
        paging = _paging_templates(items_url, pairs, encode)
        return PageParts(head_bytes, _members(first), _members(alternates), *paging)

    def _item_links(
        self, request: Request, collection_id: str, item_id: str
    ) -> list[dict[str, str]]:
        self_href = self.factory.url_for(
            request, "item", collectionId=collection_id, itemId=item_id
        )
        links = [
            self.collection_link(request, collection_id, None),
            {"href": self_href, "rel": "self", "type": GEOJSON},
        ]
        built: list[dict[str, str]] = add_alternates({"links": links})["links"]
        return built

    def _item_template(self, request: Request, collection_id: str) -> tuple[bytes, ...]:
        """The links of an item whose id is the marker, cut where it stands."""
        links = self._item_links(request, collection_id, ID_MARKER)
        return tuple(orjson.dumps(links).split(MARKER_JSON))


def with_id(template: tuple[bytes, ...], item_id: str) -> bytes:
    """An item's links from its template (Envelopes.item_template)."""
    return orjson.dumps(item_id)[1:-1].join(template)


def _paging_templates(
    items_url: str, pairs: Pairs, encode: Callable[[Pairs], str]
) -> tuple[tuple[str, ...], ...]:
    """The next page's href by offset and by cursor (keyset.py), the previous page's by offset:
    the query kept, its offset (or cursor) set to a marker, cut where the marker stands."""
    query = dict(pairs)
    by_offset = {**query, "offset": ID_MARKER}
    query.pop("offset", None)
    by_cursor = {**query, CURSOR: ID_MARKER}
    previous = {k: v for k, v in pairs if k != "offset"} | {"offset": ID_MARKER}
    marker = quote_plus(ID_MARKER)
    hrefs = (with_query(items_url, q, encode) for q in (by_offset, by_cursor, previous))
    return tuple(tuple(href.split(marker)) for href in hrefs)


def _filled(template: tuple[str, ...], value: Any) -> str:
    """The href with `value` where the marker stood, encoded as urlencode would encode it."""
    return (str(value) if type(value) is int else quote_plus(str(value))).join(template)


def paging_links(
    parts: PageParts, page: GeoJsonPage, page_at: tuple[int, int], order: Order | None
) -> list[dict[str, str]]:
    """next while a feature follows the page: the next offset, or after the last id when the
    page is ordered by the key (keyset.py); prev for a page reached by offset."""
    limit, offset = page_at
    links = []
    if page.more:
        if order is None:
            href = _filled(parts.next_by_offset, offset + page.returned)
        else:
            last = page.id_range[1] if order == "asc" else page.id_range[0]
            href = _filled(parts.next_by_cursor, last)
        links.append(link("next", href, GEOJSON, "Next page"))
    if offset:
        href = _filled(parts.previous, max(offset - limit, 0))
        links.append(link("prev", href, GEOJSON, "Previous page"))
    return links


def _alternate_links(
    pairs: Pairs, items_url: str, encode: Callable[[Pairs], str]
) -> list[dict[str, str]]:
    """The page in its other formats: responses.add_alternates' links, from the query's pairs
    instead of parsed back from the self link."""
    queries = format_queries(pairs, [fmt for fmt, _, _ in ALTERNATES], encode)
    return [
        link("alternate", f"{items_url}?{query}", kind, title)
        for query, (_, kind, title) in zip(queries, ALTERNATES, strict=True)
    ]

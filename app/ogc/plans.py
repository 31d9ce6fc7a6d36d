"""Items and item in GeoJSON, the answers nearly every request gets, from plans.

Everything such an answer holds but the data depends only on the collection, the query, the
Accept header and what the base URL is built from: the collection in the query's CRS, the
statement and its parameters, the links (an item's cut where its id goes; a page's envelope and
paging templates), the ETag's part that is not the data, and the Content-Crs header. A plan holds
these, made once per such combination with the same functions the general way uses
(geojson_items.py), and kept on the collection (its memo of queries: emptied at each catalog
load). A request with a plan then costs a dictionary lookup, the statement (and the count), and
the bytes of its answer, sent as they are: no Request or Response object (bench/README.md: these
and the query's reading were a third of an item request's Python).

Where a plan cannot answer, the general way does (items.py), with the same functions: a format
other than GeoJSON; a page with a filter (bbox, datetime, CQL2, ids, properties), a cursor or a
function's parameters, whose statement holds the request's values; an item of a collection
without a key or whose key is neither text nor an integer, or an id its key cannot hold or that a
link would have to escape; a conditional request.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import Scope, Send
from tipg.errors import NotFound as TipgNotFound
from tipg.resources.enums import MediaType

from app.ogc.catalog import ServedCollection
from app.ogc.envelopes import UNSAFE_ID_CHARACTERS, PageParts, paging_links, with_id
from app.ogc.geojson_items import GeoJsonAnswers, geojson_headers, key_parameter
from app.ogc.geojson_sql import ShapedPage
from app.ogc.items_query import ItemQuery, ItemsQuery
from app.ogc.keyset import Order

Headers = tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True)
class ItemPlan:
    """An item answer in GeoJSON, but for the item's id and the data (see the module's
    docstring); `shaped` is None where the general way answers."""

    collection: ServedCollection  # in the query's CRS
    shaped: ShapedPage | None  # the page (for a key) and its statement
    links: tuple[bytes, ...] = ()  # the links as JSON, cut where the id goes
    etag_prefix: bytes = b""  # DataETags.prefix
    content_crs: Headers = ()  # the header, if the query has one


@dataclass(frozen=True)
class ItemsPlan:
    """An items page in GeoJSON, but for the data; `shaped` is None where the general way
    answers."""

    collection: ServedCollection  # in the query's CRS
    shaped: ShapedPage | None  # the page and its statement
    page_at: tuple[int, int] = (0, 0)  # (limit, offset)
    order: Order | None = None  # the page ordered by the key alone: paged by cursor
    parts: PageParts | None = None
    query_string: bytes = b""  # as served (items.with_applied_limit): what the ETag hashes
    etag_prefix: bytes = b""
    content_crs: Headers = ()


def _content_crs(query: ItemQuery) -> Headers:
    crs = query.content_crs
    return () if crs is None else ((b"content-crs", f"<{crs.uri}>".encode("latin-1")),)


def make_item_plan(
    geojson: GeoJsonAnswers, request: Request, collection: ServedCollection, query: ItemQuery
) -> ItemPlan:
    """The plan for items of `collection` (in the query's CRS) asked for by `request`."""
    if query.output is not MediaType.geojson or collection.id_column is None:
        return ItemPlan(collection, None)
    shaped = geojson.item_page(request, collection, query)
    if shaped is None:
        return ItemPlan(collection, None)
    return ItemPlan(
        collection,
        shaped,
        geojson.envelopes.item_template(request, collection.id),
        geojson.etags.prefix(request.scope),
        _content_crs(query),
    )


def make_items_plan(
    geojson: GeoJsonAnswers, request: Request, collection: ServedCollection, query: ItemsQuery
) -> ItemsPlan:
    """The plan for pages of `collection` (in the query's CRS) asked for by `request`, whose
    query is the one served (items.with_applied_limit)."""
    planned = geojson.plain_page(request, collection, query)
    if query.output is not MediaType.geojson or planned is None:
        return ItemsPlan(collection, None)
    shaped, order = planned
    return ItemsPlan(
        collection,
        shaped,
        (query.limit, query.offset or 0),
        order,
        geojson.envelopes.page_parts(request, collection),
        request.scope["query_string"],
        geojson.etags.prefix(request.scope),
        _content_crs(query),
    )


async def answered_item(
    geojson: GeoJsonAnswers, plan: ItemPlan, scope: Scope, send: Send, item_id: str
) -> bool:
    """Whether the plan answered this item request; False (nothing sent) where it cannot."""
    shaped = plan.shaped
    if shaped is None or not item_id or not UNSAFE_ID_CHARACTERS.isdisjoint(item_id):
        return False
    key = key_parameter(plan.collection, item_id)
    if key is None:
        return False
    async with scope["app"].state.pool.acquire() as conn:
        page = await plan.collection.planned_page(conn, shaped, (key,), None)
    if not page.returned:
        raise TipgNotFound(f"Item {item_id} in Collection {plan.collection.id} does not exist.")
    links = with_id(plan.links, item_id)
    # The feature's JSON object with its links as the last member, its bytes copied once.
    body = b"".join((memoryview(page.features)[:-1], b',"links":', links, b"}"))
    tag = geojson.etags.etag_at(
        plan.etag_prefix, scope["path"], scope["query_string"], page.snapshot
    )
    await _send_geojson(send, body, tag, plan.content_crs)
    return True


async def answered_items(
    geojson: GeoJsonAnswers, plan: ItemsPlan, scope: Scope, send: Send
) -> bool:
    """Whether the plan answered this items request; False (nothing sent) where it cannot."""
    shaped = plan.shaped
    if shaped is None or plan.parts is None:
        return False
    async with scope["app"].state.pool.acquire() as conn:
        page = await plan.collection.planned_page(conn, shaped, shaped.parameters, geojson.counter)
    paging = paging_links(plan.parts, page, plan.page_at, plan.order)
    body = plan.parts.document(page, paging)
    tag = geojson.etags.etag_at(plan.etag_prefix, scope["path"], plan.query_string, page.snapshot)
    await _send_geojson(send, body, tag, plan.content_crs)
    return True


async def _send_geojson(send: Send, body: bytes, etag: str, content_crs: Headers) -> None:
    """A 200 with the headers GeoJsonBody sends, then Content-Crs (as items._with_content_crs)."""
    headers = [*geojson_headers(body, etag), *content_crs]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})

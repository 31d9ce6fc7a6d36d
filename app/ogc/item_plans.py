"""An item in GeoJSON by its key, the answer nearly every item request gets, from a plan.

Everything such an answer holds but the feature itself depends only on the collection, the query,
the Accept header and what the base URL is built from: the collection in the query's CRS, the
statement that reads a feature by its key, the links (cut where the id goes), the ETag's part
that is not the URL's path and the snapshot, and the Content-Crs header. A plan holds these, made
once per such combination with the same functions the general way uses (geojson_items.py), and
kept on the collection (its memo of queries: emptied at each catalog load). A request with a plan
then costs a dictionary lookup, the statement, and the bytes of its answer, sent as they are: no
Request or Response object (bench/README.md: these and the query's reading were a third of an
item request's Python).

Where a plan cannot answer, the general way does (items.py), with the same functions: a format
other than GeoJSON, a collection without a key or whose key is neither text nor an integer, an id
its key cannot hold or that a link would have to escape, a conditional request.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import Scope, Send
from tipg.errors import NotFound as TipgNotFound
from tipg.resources.enums import MediaType

from app.ogc.catalog import ServedCollection
from app.ogc.envelopes import UNSAFE_ID_CHARACTERS, with_id
from app.ogc.geojson_items import GeoJsonAnswers, key_parameter
from app.ogc.geojson_sql import read_page
from app.ogc.items_query import ItemQuery

GEOJSON_TYPE = MediaType.geojson.value.encode()


@dataclass(frozen=True)
class ItemPlan:
    """An item answer in GeoJSON, but for the item's id and the data (see the module's
    docstring); `statement` is None where the general way answers."""

    collection: ServedCollection  # in the query's CRS
    statement: str | None
    links: tuple[bytes, ...] = ()  # the links as JSON, cut where the id goes
    etag_prefix: bytes = b""  # DataETags.prefix
    content_crs: tuple[tuple[bytes, bytes], ...] = ()  # the header, if the query has one


def make_plan(
    geojson: GeoJsonAnswers, request: Request, collection: ServedCollection, query: ItemQuery
) -> ItemPlan:
    """The plan for items of `collection` (in the query's CRS) asked for by `request`."""
    if query.output is not MediaType.geojson or collection.id_column is None:
        return ItemPlan(collection, None)
    statement = geojson.item_statement(request, collection, query)
    if statement is None:
        return ItemPlan(collection, None)
    crs = query.content_crs
    content_crs = () if crs is None else ((b"content-crs", f"<{crs.uri}>".encode("latin-1")),)
    return ItemPlan(
        collection,
        statement,
        geojson.envelopes.item_template(request, collection.id),
        geojson.etags.prefix(request.scope),
        content_crs,
    )


async def answered(
    geojson: GeoJsonAnswers, plan: ItemPlan, scope: Scope, send: Send, item_id: str
) -> bool:
    """Whether the plan answered this item request; False (nothing sent) where it cannot."""
    if plan.statement is None or not item_id or not UNSAFE_ID_CHARACTERS.isdisjoint(item_id):
        return False
    key = key_parameter(plan.collection, item_id)
    if key is None:
        return False
    async with scope["app"].state.pool.acquire() as conn:
        page = await read_page(conn, plan.statement, [key])
    if not page.returned:
        raise TipgNotFound(f"Item {item_id} in Collection {plan.collection.id} does not exist.")
    links = with_id(plan.links, item_id)
    # The feature's JSON object with its links as the last member, its bytes copied once.
    body = b"".join((memoryview(page.features)[:-1], b',"links":', links, b"}"))
    etag = geojson.etags.etag(scope, page.snapshot, plan.etag_prefix)
    headers = [
        (b"etag", etag.encode("latin-1")),
        (b"content-length", str(len(body)).encode()),
        (b"content-type", GEOJSON_TYPE),
        *plan.content_crs,
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return True

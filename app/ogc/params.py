"""The collection lookup, and our parsers (parsers.py) as dependencies of tipg's other routes
(the collections list, tiles), put in place of tipg's own: tipg's let malformed input through to
a 500. They keep tipg's signatures and return types. Items and item do not use these: their
query is read from one table (items_query.py).

They are `async def` although they never await: FastAPI runs a plain `def` dependency in a worker
thread, a hop that cost more than the parsing itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

from cql2 import Expr
from fastapi import Depends, FastAPI, Path, Query
from starlette.applications import Starlette
from starlette.requests import Request
from tipg import dependencies as tipg_deps
from tipg.collections import Collection

from app.errors import NotFound, ServiceUnavailable
from app.ogc.errors import echo
from app.ogc.overrides import Overrides, resolve_overrides, run_inline
from app.ogc.parsers import (
    check_sortby,
    parse_bbox,
    parse_datetime,
    parse_filter,
    parse_properties,
)


def find_collection(app: Starlette, collection_id: str) -> Collection:
    """The collection of that id in the app's catalog; 404 naming it, or 503 before the first
    load."""
    catalog = getattr(app.state, "collection_catalog", None)
    if not catalog:
        raise ServiceUnavailable("The collection catalog is not loaded yet.")
    collection: Collection | None = catalog["collections"].get(collection_id)
    if collection is None:
        raise NotFound(
            f"Collection '{echo(collection_id)}' does not exist. Collection ids are "
            "schema-qualified (public.fire_perimeters); GET /collections lists them."
        )
    return collection


async def collection_params(
    request: Request,
    collectionId: Annotated[str, Path(description="Collection identifier, e.g. public.table")],
) -> Collection:
    """find_collection as the dependency of tipg's other routes (collection, queryables, tiles)."""
    return find_collection(request.app, collectionId)


CollectionDep = Annotated[Collection, Depends(collection_params)]


async def bbox_query(
    bbox: Annotated[
        str | None,
        Query(description="minLon,minLat,maxLon,maxLat (CRS84), optionally with heights."),
    ] = None,
) -> list[float] | None:
    return parse_bbox(bbox, None)


async def datetime_query(
    datetime_: Annotated[
        str | None,
        Query(
            alias="datetime",
            description="An instant, or an interval start/end where either end may be '..'.",
        ),
    ] = None,
) -> list[str] | None:
    return parse_datetime(datetime_)


async def filter_query(
    collection: CollectionDep,
    query: Annotated[str | None, Query(alias="filter", description="CQL2 filter")] = None,
    filter_lang: Annotated[
        Literal["cql2-text", "cql2-json"] | None,
        Query(alias="filter-lang", description="cql2-text (default) or cql2-json"),
    ] = None,
) -> Expr | None:
    return parse_filter(collection, query, filter_lang)


async def properties_query(
    collection: CollectionDep,
    properties: Annotated[
        str | None,
        Query(description="Comma-separated properties to return; empty for none."),
    ] = None,
) -> list[str] | None:
    return parse_properties(collection, properties)


async def sortby_query(
    collection: CollectionDep,
    sortby: Annotated[
        str | None,
        Query(description="Comma-separated sortable properties, each optionally prefixed + or -."),
    ] = None,
) -> str | None:
    return check_sortby(sortby, collection)


PARSERS: Overrides = {
    tipg_deps.bbox_query: bbox_query,
    tipg_deps.datetime_query: datetime_query,
    tipg_deps.filter_query: filter_query,
    tipg_deps.properties_query: properties_query,
    tipg_deps.sortby_query: sortby_query,
}


def install_parameter_parsers(app: FastAPI) -> None:
    """Our parsers wherever tipg's are used (collections list, tiles); tipg's other
    parameter dependencies (ids, sortby, output type, collections list) run in the event loop."""
    run_inline(app, tipg_deps.__name__, leave=PARSERS)
    if not resolve_overrides(app, PARSERS):
        raise RuntimeError("tipg's parameter parsers were not found in any route")

"""Keyset paging: when a page is ordered by the collection's key, its `next` link says "after
this id" instead of "skip N rows", so page 1,000 costs what page 1 costs (an OFFSET makes
PostgreSQL read and drop every row before it).

It applies to tipg's default order (by the key) and to `sortby` on the key alone, either way.
`after=<id>` is what a next link carries; `offset` stays accepted, and a page reached by offset
gets a keyset next link too. Only GeoJSON items offer it (fast_items.py); another format with
`after` is a 400, never a silently ignored cursor.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query
from tipg.collections import Collection
from tipg.dependencies import ItemsOutputType
from tipg.resources.enums import MediaType

from app.errors import InvalidParameter
from app.ogc.catalog import INTEGER_TYPES, int64_id
from app.ogc.overrides import append_dependency
from app.ogc.params import _echo

CURSOR = "after"
ITEMS_PATH = "/collections/{collectionId}/items"
Order = Literal["asc", "desc"]


def key_order(collection: Collection, sortby: str | None) -> Order | None:
    """The direction of a page ordered by the key alone; None for any other order."""
    if collection.id_column is None:
        return None
    if sortby is None:
        return "asc"  # tipg orders by the key when not told otherwise
    key = collection.id_column.name
    orders: dict[str, Order] = {key: "asc", f"+{key}": "asc", f"-{key}": "desc"}
    return orders.get(sortby.strip())


def total_order(collection: Collection, sortby: str | None) -> str | None:
    """`sortby` with the key appended as a tie-breaker: rows that tie on the sort keys would
    otherwise come in any order, and consecutive pages could repeat or skip some."""
    if sortby is None or collection.id_column is None:
        return sortby
    key = collection.id_column.name
    named = {part.strip().lstrip("+-") for part in sortby.split(",")}
    return sortby if key in named else f"{sortby},{key}"


def cursor_condition(collection: Collection, order: Order, after: str) -> dict[str, Any]:
    """CQL2 JSON for the rows after the cursor in `order`."""
    assert collection.id_column is not None  # key_order gave an order
    value: Any = after
    if collection.id_column.type in INTEGER_TYPES:
        value = int64_id(after)
        if value is None:
            message = f"{CURSOR} must be an id of this collection: '{_echo(after)}'"
            raise InvalidParameter(message)
    operator = ">" if order == "asc" else "<"
    return {"op": operator, "args": [{"property": collection.id_column.name}, value]}


async def cursor_query(
    output_type: Annotated[MediaType | None, Depends(ItemsOutputType)],
    after: Annotated[
        str | None, Query(description="Paging cursor: the id the page starts after (next links).")
    ] = None,
    offset: Annotated[int | None, Query(include_in_schema=False)] = None,
) -> None:
    if after is None:
        return
    if output_type not in (None, MediaType.geojson):
        raise InvalidParameter(f"{CURSOR} pages GeoJSON items only; other formats page by offset")
    if offset:
        raise InvalidParameter(f"{CURSOR} and offset cannot be combined: a page starts at one")


def install_cursor(app: FastAPI) -> None:
    """Declare `after` on the items route (before query_check.py reads the declared names)."""
    append_dependency(app, cursor_query, ITEMS_PATH)

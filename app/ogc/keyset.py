"""Keyset paging: when a page is ordered by the collection's key, its `next` link says "after
this id" instead of "skip N rows", so page 1,000 costs what page 1 costs (an OFFSET makes
PostgreSQL read and drop every row before it).

It applies to tipg's default order (by the key) and to `sortby` on the key alone, either way.
`after=<id>` is what a next link carries; `offset` stays accepted, and a page reached by offset
gets a keyset next link too. Only GeoJSON items offer it (geojson_items.py); another format with
`after` is a 400 (items_query.py), never a silently ignored cursor.
"""

from __future__ import annotations

from typing import Any, Literal

from tipg.collections import Collection

from app.errors import InvalidParameter
from app.ogc.catalog import INTEGER_TYPES, int64_id
from app.ogc.errors import echo
from app.ogc.items_query import CURSOR

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
            message = f"{CURSOR} must be an id of this collection: '{echo(after)}'"
            raise InvalidParameter(message)
    operator = ">" if order == "asc" else "<"
    return {"op": operator, "args": [{"property": collection.id_column.name}, value]}

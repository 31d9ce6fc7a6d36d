"""/api lists each collection's items path with the `<property>=<value>` filters it accepts.

The generic `/collections/{collectionId}/items` cannot say which properties a collection has;
a generic client (and whoever reads an unknown-parameter 400, items_query.py) should not have to
guess. So each collection gets its own path, `/collections/<id>/items`: the generic operation's
parameters without `collectionId`, plus one query parameter per property tipg filters on
(tipg.dependencies.properties_filter_query: a non-geometry column with a lower-case name, not
shadowing a parameter).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from tipg.collections import Collection

from app.ogc.crs import offered_crs

OPENAPI_TYPES = {"string", "number", "integer", "boolean"}


def _property_parameter(name: str, json_type: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "description": f"Only features whose {name} equals this value.",
        "schema": {"type": json_type if json_type in OPENAPI_TYPES else "string"},
    }


def filterable_properties(collection: Collection) -> set[str]:
    """The properties tipg filters on with `name=value`: it takes a key whose lower-case form is
    a column's name and then looks the key up as given, so only a lower-case name, spelt so,
    ever filters (a column named `State` cannot be filtered this way; CQL2 `filter` can)."""
    return {
        column.name
        for column in collection.properties
        if column.geometry_type is None and column.name == column.name.lower()
    }


def filter_parameters(collection: Collection, taken: set[str]) -> list[dict[str, Any]]:
    """A `name=value` parameter per filterable property whose name is not already taken."""
    filterable = filterable_properties(collection) - taken
    return [
        _property_parameter(column.name, column.json_type)
        for column in sorted(collection.properties, key=lambda column: column.name)
        if column.name in filterable
    ]


def _with_offered_crs(parameters: list[dict[str, Any]], collection: Collection) -> None:
    """`crs` and `bbox-crs` limited to the CRSs this collection offers (crs.py)."""
    offered = [crs.uri for crs in offered_crs(collection)]
    for parameter in parameters:
        if parameter["name"] in ("crs", "bbox-crs") and offered:
            parameter["schema"] = {"type": "string", "format": "uri", "enum": offered}


def collection_items_paths(
    generic: dict[str, Any], collections: Iterable[Collection]
) -> dict[str, dict[str, Any]]:
    """`/collections/<id>/items` for each collection, from the generic items GET operation."""
    shared = [p for p in generic.get("parameters", []) if p.get("in") != "path"]
    taken = {p["name"].lower() for p in shared}
    paths = {}
    # Sorted: tipg's catalog query aggregates columns (and lists tables) in no fixed order, and
    # /api should not change with the database's scan order (tests/test_fuzz.py's derandomized
    # inputs follow the document).
    for collection in sorted(collections, key=lambda collection: collection.id):
        operation = copy.deepcopy(generic)
        operation["operationId"] = f"getItems.{collection.id}"
        operation["summary"] = f"Features of {collection.title or collection.id}"
        operation["parameters"] = copy.deepcopy(shared) + filter_parameters(collection, taken)
        _with_offered_crs(operation["parameters"], collection)
        operation["responses"].pop("404", None)  # the collection exists
        paths[f"/collections/{collection.id}/items"] = {"get": operation}
    return paths

"""OGC API - Features - Part 5 (Schemas): what a collection's features hold, for clients that
read a schema instead of guessing from a page of features (GDAL takes its field types from the
`describedby` schema; QGIS checks the conformance class).

`/collections/{collectionId}/schema`: the returned features as a JSON Schema, each property with
its type and format, the roles `id`, `primary-geometry` and `primary-instant` (tipg's default
datetime column) marked with `x-ogc-role`. `/collections/{collectionId}/sortables`: the
properties `sortby` accepts (parsers.sortable_names, by which items_query.py checks it).
documents.py links both from each collection. Both come from the catalog alone, so metadata.py
renders each once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse
from tipg.collections import Collection, Column

from app.ogc.params import find_collection
from app.ogc.parsers import sortable_names

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/core-roles-features",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/sortables",
]
JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_MEDIA_TYPE = "application/schema+json"
GEOJSON_TYPES = {
    "point": "Point", "multipoint": "MultiPoint", "linestring": "LineString",
    "multilinestring": "MultiLineString", "polygon": "Polygon", "multipolygon": "MultiPolygon",
    "geometrycollection": "GeometryCollection",
}  # fmt: skip
INTEGERS = frozenset({"smallint", "integer", "bigint", "int2", "int4", "int8"})
INTEGERS |= {"smallserial", "serial", "bigserial"}
NUMBERS = frozenset({"real", "double precision", "float4", "float8", "numeric", "decimal"})
FORMATS = {
    "timestamp": "date-time", "timestamptz": "date-time", "date": "date", "time": "time",
    "timetz": "time", "uuid": "uuid",
}  # fmt: skip


def _value_schema(column: Column) -> dict[str, Any]:
    """The JSON Schema of one column's values as the GeoJSON writes them."""
    base = column.type.removesuffix("[]")
    if base in INTEGERS:
        schema: dict[str, Any] = {"type": "integer"}
    elif base in NUMBERS:
        schema = {"type": "number"}
    elif base.startswith("bool"):
        schema = {"type": "boolean"}
    elif base in ("json", "jsonb"):
        schema = {}  # any JSON value
    else:
        schema = {"type": "string"} | ({"format": FORMATS[base]} if base in FORMATS else {})
    return {"type": "array", "items": schema} if column.type.endswith("[]") else schema


def _geometry_schema(column: Column) -> dict[str, Any]:
    kind = (column.geometry_type or "geometry").lower()
    return {"format": "geometry-any" if kind == "geometry" else f"geometry-{kind}"}


def _property(column: Column, collection: Collection) -> dict[str, Any]:
    schema = _geometry_schema(column) if column.is_geometry else _value_schema(column)
    schema = {"title": column.description or column.name, **schema}
    role = _role(column, collection)
    return {**schema, "x-ogc-role": role} if role else schema


def _role(column: Column, collection: Collection) -> str | None:
    if collection.id_column is not None and column.name == collection.id_column.name:
        return "id"
    geometry = collection.geometry_column
    if geometry is not None and column.name == geometry.name:
        return "primary-geometry"
    instant = collection.datetime_column
    if instant is not None and column.name == instant.name:
        return "primary-instant"
    return None


def _json_schema(href: str, title: str, properties: dict[str, Any]) -> dict[str, Any]:
    """An object's JSON Schema, identified by the URL it is served at."""
    return {
        "$schema": JSON_SCHEMA,
        "$id": href,
        "title": title,
        "type": "object",
        "properties": properties,
    }


def feature_schema(collection: Collection, href: str) -> dict[str, Any]:
    """The schema of the features the items of `collection` return."""
    properties = {c.name: _property(c, collection) for c in collection.properties}
    return _json_schema(href, collection.title or collection.id, properties)


def geojson_feature_schema(collection: Collection, href: str) -> dict[str, Any]:
    """The same properties as one GeoJSON Feature is written: the form GDAL's OAPIF driver
    reads from a collection's `describedby` link (it looks for the example's `properties`
    member) to take field types from a schema rather than from a first page of features."""
    members: dict[str, Any] = {
        "type": {"type": "string", "enum": ["Feature"]},
        "geometry": _geojson_geometry(collection.geometry_column),
        "properties": {
            "type": "object",
            "properties": {
                c.name: _property(c, collection) for c in collection.properties if not c.is_geometry
            },
        },
    }
    if (id_column := collection.id_column) is not None:
        members["id"] = _value_schema(id_column)
    schema = _json_schema(href, collection.title or collection.id, members)
    return {**schema, "required": ["type", "geometry", "properties"]}


def _geojson_geometry(column: Column | None) -> dict[str, Any]:
    if column is None:
        return {"type": "null"}
    kind = (column.geometry_type or "geometry").lower()
    name = GEOJSON_TYPES.get(kind, "Geometry")
    return {"$ref": f"https://geojson.org/schema/{name}.json"}


def sortables(collection: Collection, href: str) -> dict[str, Any]:
    names = set(sortable_names(collection))
    properties = {
        c.name: {"title": c.description or c.name, **_value_schema(c)}
        for c in collection.properties
        if c.name in names
    }
    return _json_schema(href, f"Sortables of {collection.title or collection.id}", properties)


router = APIRouter(tags=["OGC API - Features"])
Document = Callable[[Collection, str], dict[str, Any]]


def _serve(path: str, name: str, summary: str, document: Document) -> None:
    """A GET route answering `document(collection, its own URL)` as application/schema+json."""

    def endpoint(request: Request, collectionId: str) -> JSONResponse:  # noqa: N803
        collection = find_collection(request.app, collectionId)
        body = document(collection, str(request.url.replace(query="")))
        return JSONResponse(body, media_type=SCHEMA_MEDIA_TYPE)

    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        name=name,
        summary=summary,
        responses={200: {"content": {SCHEMA_MEDIA_TYPE: {}}}},
        response_class=JSONResponse,
    )


_serve(
    "/collections/{collectionId}/schema",
    "collection_schema",
    "The schema of the collection's features (OGC API - Features - Part 5).",
    feature_schema,
)
_serve(
    "/collections/{collectionId}/sortables",
    "collection_sortables",
    "The properties items can be sorted by (sortby).",
    sortables,
)
_serve(
    "/collections/{collectionId}/schema/geojson",
    "collection_geojson_schema",
    "The schema of one GeoJSON feature of the collection (its describedby link).",
    geojson_feature_schema,
)

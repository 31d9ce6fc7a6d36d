"""Serve /api as OpenAPI 3.0: FastAPI writes 3.1, which the OGC conformance suite cannot read.

The conversion rewrites the few JSON Schema 2020-12 forms FastAPI and pydantic emit into their
OpenAPI 3.0 spellings. The document is built once per collection catalog and cached; it lists
each collection's own items path (collection_paths.py). The items and item operations' query
parameters come from their tables (items_query.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute
from tipg.openapi import _update_openapi

from app.ogc.collection_paths import collection_items_paths
from app.ogc.paths import ITEMS_PATH

OPENAPI_VERSION = "3.0.3"


def _nullable(node: dict[str, Any], options: list[Any]) -> dict[str, Any]:
    """`anyOf: [X, {type: null}]` → X with `nullable: true`."""
    others = [o for o in options if o != {"type": "null"}]
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    if len(others) == len(options):
        return {**rest, "anyOf": options}
    if len(others) == 1:
        only = others[0]
        merged = {"allOf": [only]} if "$ref" in only else dict(only)
        return {**rest, **merged, "nullable": True}
    return {**rest, "anyOf": others, "nullable": True}


def _schema_keywords(node: dict[str, Any]) -> dict[str, Any]:
    out = dict(node)
    if isinstance(out.get("anyOf"), list):
        out = _nullable(out, out["anyOf"])
    if isinstance(out.get("type"), list):
        types = [t for t in out["type"] if t != "null"]
        if len(types) < len(out["type"]):
            out["nullable"] = True
        out["type"] = types[0] if len(types) == 1 else "string"
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if isinstance(out.get("examples"), list):
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    for bound, keyword in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[keyword] = out[bound]
            out[bound] = True
    if "prefixItems" in out:
        items = out.pop("prefixItems")
        out["items"] = items[0] if items else {}
        out.setdefault("minItems", len(items))
        out.setdefault("maxItems", len(items))
    # "exemples": a misspelt keyword in morecantile's CRS models (the tiles routes' schemas),
    # which OpenAPI 3.0 refuses.
    for keyword in ("contentMediaType", "contentEncoding", "$schema", "$id", "exemples"):
        out.pop(keyword, None)
    return out


def to_openapi_30(node: Any) -> Any:
    if isinstance(node, list):
        return [to_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: to_openapi_30(value) for key, value in _schema_keywords(node).items()}


ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "description"],
    "properties": {
        "code": {"type": "string", "example": "InvalidParameterValue"},
        "description": {"type": "string"},
        "traceId": {"type": "string", "description": "X-Ray trace id of the request"},
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _document_errors(document: dict[str, Any]) -> None:
    """Our errors as they are: 400 (never FastAPI's 422) for a bad parameter, 404 for an unknown
    collection or item, 503 when the database is unavailable or the pool exhausted, 504 past
    the statement timeout; any other error status has the same body."""
    document.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in document["paths"].items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            if operation.get("parameters"):
                responses["400"] = _error("A parameter is invalid")
            if "{" in path:
                responses["404"] = _error("No such collection or item")
            responses["503"] = _error("Database unavailable or busy; retry shortly")
            responses["504"] = _error("The query took longer than the server allows")
            responses["default"] = _error("Any other error, in the same form")


def _document_html(document: dict[str, Any]) -> None:
    """text/html on every operation whose `f` offers html: tipg declares it on all but one (a
    collection's tile set)."""
    for operations in document["paths"].values():
        for operation in operations.values():
            formats = [p for p in operation.get("parameters", []) if p.get("name") == "f"]
            if not formats or "html" not in formats[0].get("schema", {}).get("enum", []):
                continue
            content = operation.get("responses", {}).get("200", {}).get("content")
            if content is not None:
                content.setdefault("text/html", {"schema": {"type": "string"}})


# tipg's tile path in OGC API - Tiles' names: the same segments (documents.py says why).
XYZ_TILE_PATH = "/collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{x}/{y}"
OGC_TILE_PATH = (
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileCol}/{tileRow}"
)
TILE_VARIABLES = {
    "z": ("tileMatrix", "Identifier of the tile matrix (the zoom level) in the tile matrix set."),
    "x": ("tileCol", "Column of the tile in the tile matrix, from 0 at the left."),
    "y": ("tileRow", "Row of the tile in the tile matrix, from 0 at the top."),
}


def _document_tile_variables(document: dict[str, Any]) -> None:
    """The tile operation's path and parameters named as OGC API - Tiles names them
    (/req/core/tc-tilematrix-definition, -tilerow-, -tilecol-)."""
    operations = document["paths"].pop(XYZ_TILE_PATH, None)
    if operations is None:
        return
    for operation in operations.values():
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["name"] in TILE_VARIABLES:
                name, description = TILE_VARIABLES[parameter["name"]]
                parameter.update(name=name, description=description)
                parameter["schema"] = {"type": "integer", "minimum": 0}
    document["paths"][OGC_TILE_PATH] = operations


def _build_document(app: FastAPI, described: Sequence[BaseRoute]) -> dict[str, Any]:
    routes = [*app.routes, *described]
    raw = get_openapi(
        title=app.title, version=app.version, routes=routes, description=app.description
    )
    document: dict[str, Any] = to_openapi_30(raw)
    document["openapi"] = OPENAPI_VERSION
    _document_errors(document)
    _document_html(document)
    _document_tile_variables(document)
    catalog = getattr(app.state, "collection_catalog", None)
    if catalog:
        generic = document["paths"][ITEMS_PATH]["get"]
        document["paths"].update(collection_items_paths(generic, catalog["collections"].values()))
    return document


def install_openapi(app: FastAPI, described: Sequence[BaseRoute]) -> None:
    """/api, built once per catalog: a reload that changes the collections rebuilds it. The
    `described` routes are operations served by plain routes (the items endpoints)."""
    built_for: list[Any] = [None]

    def openapi() -> dict[str, Any]:
        catalog = getattr(app.state, "collection_catalog", None)
        if app.openapi_schema is None or built_for[0] is not catalog:
            app.openapi_schema = _build_document(app, described)
            built_for[0] = catalog
        document: dict[str, Any] = app.openapi_schema
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    # tipg's helper serves /api with the OGC media type for OpenAPI 3.0 JSON.
    _update_openapi(app)

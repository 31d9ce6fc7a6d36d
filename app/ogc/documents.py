"""What our metadata documents say beyond tipg's, added as they are rendered (metadata.py keeps
the result): each collection's CRS lists and its links to its tilesets and its schemas; the
tileset lists' own links; tile links in OGC API - Tiles' form.

Tiles: a client that discovers tiles (the OGC Tiles suite, GDAL's OGCAPI driver) follows a
collection's `tilesets-vector` link to its tileset list, a tileset's `self` link to the tileset,
and the tileset's templated `item` link to the tiles, whose variables are OGC's `tileMatrix`,
`tileRow` and `tileCol` (/req/core/tc-tilematrix-definition and the next two). tipg's route is
`{z}/{x}/{y}`, the order VEDA's map and other XYZ clients use: the same three path segments, so
the link names them `{tileMatrix}/{tileCol}/{tileRow}` (column before row, as x before y), and
/api does too (openapi.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.routing import NoMatchFound
from starlette.types import Scope
from tipg.collections import Collection

from app.ogc.crs import crs_metadata
from app.ogc.tiles import matrix_set

TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
SCHEMA_REL = "http://www.opengis.net/def/rel/ogc/1.0/schema"
SORTABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/sortables"
JSON, SCHEMA_JSON = "application/json", "application/schema+json"
MVT = "application/vnd.mapbox-vector-tile"
XYZ_TEMPLATE, OGC_TEMPLATE = "/{z}/{x}/{y}", "/{tileMatrix}/{tileCol}/{tileRow}"

Document = dict[str, Any]
Finisher = Callable[[Document, Scope], Document]


def _collections(scope: Scope) -> Mapping[str, Collection]:
    catalog = getattr(scope["app"].state, "collection_catalog", None) or {}
    collections: Mapping[str, Collection] = catalog.get("collections", {})
    return collections


def _link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def _own_href(body: Document) -> str | None:
    """A collection's URL: its `self` link's, or in /collections its `collection` link's."""
    links = body.get("links", [])
    found = (link["href"] for link in links if link.get("rel") in ("self", "collection"))
    href = next(found, None)
    return href.split("?", 1)[0] if href else None


def collection_links(href: str, tiles: bool) -> list[dict[str, str]]:
    """A collection's links to its schemas (features part 5) and its vector tilesets.

    `describedBy` is `describedby` (link relations compare case-insensitively, RFC 8288); GDAL
    3.6's OAPIF driver matches only this spelling, later ones either (both print "Using JSON
    schema" with it). It leads to the schema of a GeoJSON feature, the form GDAL reads."""
    links = [
        _link(f"{href}/schema", SCHEMA_REL, SCHEMA_JSON, "Schema of the returned features"),
        _link(f"{href}/schema/geojson", "describedBy", SCHEMA_JSON, "Schema of a GeoJSON feature"),
        _link(f"{href}/sortables", SORTABLES_REL, SCHEMA_JSON, "Properties to sort items by"),
    ]
    if tiles:
        links.append(_link(f"{href}/tiles", TILESETS_VECTOR, JSON, "Vector tilesets"))
    return links


def finish_collections(document: Document, scope: Scope) -> Document:
    """A collection's JSON (or each one in /collections): CRS lists and links."""
    collections = _collections(scope)
    tiles = _serves_tiles(scope)
    listed = document.get("collections")
    for body in listed if isinstance(listed, list) else [document]:
        collection = collections.get(str(body.get("id")))
        if collection is None:
            continue
        body.update(crs_metadata(collection))
        body["links"] = [link for link in body.get("links", []) if not _tile_data_link(link)]
        if href := _own_href(body):
            has_geometry = bool(collection.geometry_columns)
            body["links"].extend(collection_links(href, tiles and has_geometry))
    return document


def _tile_data_link(link: dict[str, Any]) -> bool:
    """tipg's `data` links from a collection to its tileset list and (templated) tilesets,
    replaced by the `tilesets-vector` link. GDAL 3.6's OGCAPI driver takes a collection for a
    landing page and follows its first JSON `data` link as the link to /collections (its
    InitFromURL); these made it open a tileset list as a collection ("Missing bbox")."""
    return (
        link.get("rel") == "data" and link.get("type") == JSON and "/tiles" in link.get("href", "")
    )


def _serves_tiles(scope: Scope) -> bool:
    """Whether tipg's tileset list is served (API_TILES may turn the tiles off)."""
    try:
        scope["app"].router.url_path_for("collection_tileset_list", collectionId="_")
    except NoMatchFound:
        return False
    return True


def ogc_tile_link(link: dict[str, Any], rel: str = "item") -> dict[str, Any]:
    """tipg's `{z}/{x}/{y}` tile link in OGC API - Tiles' form (see the module's docstring)."""
    if link.get("type") != MVT or not link.get("href", "").endswith(XYZ_TEMPLATE):
        return link
    href = link["href"].removesuffix(XYZ_TEMPLATE) + OGC_TEMPLATE
    return {**link, "href": href, "rel": rel, "templated": True}


def finish_landing_page(document: Document, scope: Scope) -> Document:
    """Its template link to any collection's tiles, with OGC's variable names."""
    if links := document.get("links"):
        document["links"] = [ogc_tile_link(link, link.get("rel", "data")) for link in links]
    return document


def finish_tileset(document: Document, scope: Scope) -> Document:
    """Its tile link in OGC's form, and the URI of its tile matrix set, by which clients choose
    among a collection's tilesets (GDAL prefers WorldCRS84Quad, then takes the first)."""
    if links := document.get("links"):
        document["links"] = [ogc_tile_link(link) for link in links]
    href = _own_href(document)
    tms = matrix_set(href.rsplit("/", 1)[-1]) if href else None
    if tms is not None and getattr(tms, "uri", None):
        document.setdefault("tileMatrixSetURI", tms.uri)
    return document


def finish_tileset_list(document: Document, scope: Scope) -> Document:
    """The list's own links (tipg gives it none) and each tileset's tile link in OGC's form."""
    for tileset in document.get("tilesets", []):
        finish_tileset(tileset, scope)
    href = str(Request(scope).url.replace(query=""))
    document["links"] = [
        _link(href, "self", JSON, "Vector tilesets of this collection"),
        _link(href.rsplit("/tiles", 1)[0], "collection", JSON, "The collection"),
    ]
    return document


FINISHERS: list[tuple[re.Pattern[str], Finisher]] = [
    (re.compile(r"^/*$"), finish_landing_page),
    (re.compile(r"^/+collections(/+[^/]+)?/*$"), finish_collections),
    (re.compile(r"^/+collections/+[^/]+/+tiles/*$"), finish_tileset_list),
    (re.compile(r"^/+collections/+[^/]+/+tiles/+[^/]+/*$"), finish_tileset),
]  # doubled slashes are served too


def finisher(path: str) -> Finisher | None:
    return next((finish for pattern, finish in FINISHERS if pattern.match(path)), None)

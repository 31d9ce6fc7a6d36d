"""Tiles that clients discover (app/ogc/documents.py), one test per OGC API - Tiles requirement
the OGC Tiles suite (ets-ogcapi-tiles10 1.2) failed before, followed as the suite and GDAL's
OGCAPI driver follow them: /collections → a `tilesets-vector` link → the tileset list → a
tileset's `self` link → the tileset → its templated tile link."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mapbox_vector_tile
from fastapi import FastAPI
from fastapi.testclient import TestClient

TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
GEODATA_TILESETS = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets"
DATASET_TILESETS = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets"
MVT = "application/vnd.mapbox-vector-tile"
PERIMETERS = "/collections/public.fire_perimeters"


def links(document: dict[str, Any], rel: str, media_type: str | None = None) -> list[str]:
    return [
        link["href"]
        for link in document.get("links", [])
        if link["rel"] == rel and (media_type is None or link.get("type") == media_type)
    ]


def tileset_list(client: TestClient, collection: dict[str, Any]) -> dict[str, Any]:
    [href] = links(collection, TILESETS_VECTOR, "application/json")
    response = client.get(href)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def tileset(client: TestClient, matrix_set: str = "WebMercatorQuad") -> dict[str, Any]:
    collection = client.get(PERIMETERS).json()
    listed = tileset_list(client, collection)["tilesets"]
    [chosen] = [t for t in listed if links(t, "self", "application/json")[0].endswith(matrix_set)]
    body: dict[str, Any] = client.get(links(chosen, "self", "application/json")[0]).json()
    return body


def test_req_core_tc_op_tiles_are_found_from_every_collection(client: TestClient) -> None:
    """/req/core/tc-op (A.2): each collection with a geometry links its vector tilesets."""
    collections = client.get("/collections").json()["collections"]
    assert collections
    for collection in collections:
        tilesets = tileset_list(client, collection)["tilesets"]
        assert tilesets, collection["id"]
        assert all(links(t, "self", "application/json") for t in tilesets)


def test_req_core_tile_variables_are_in_the_tile_template(client: TestClient) -> None:
    """/req/core/tc-tilematrix-definition, -tilerow-definition, -tilecol-definition (A.3-A.5):
    the tileset's templated tile link names OGC's three variables, and /api defines them."""
    document = tileset(client)
    [template] = links(document, "item", MVT)
    for variable in ("{tileMatrix}", "{tileRow}", "{tileCol}"):
        assert variable in template
    [tile_link] = [link for link in document["links"] if link["rel"] == "item"]
    assert tile_link["templated"] is True
    paths = client.get("/api").json()["paths"]
    [tile_path] = [p for p in paths if p.startswith(f"{PERIMETERS}/tiles") or "{tileRow}" in p]
    names = {p["name"] for p in paths[tile_path]["get"]["parameters"] if p["in"] == "path"}
    assert {"tileMatrix", "tileRow", "tileCol"} <= names


def test_the_template_reaches_the_same_tile_as_the_xyz_path(client: TestClient) -> None:
    """{tileCol} is x and {tileRow} is y: a tile with features, fetched both ways."""
    [template] = links(tileset(client), "item", MVT)
    url = template.format(tileMatrix=6, tileCol=12, tileRow=24)
    by_template = client.get(url)
    assert by_template.status_code == 200
    assert mapbox_vector_tile.decode(by_template.content)["default"]["features"]
    assert by_template.content == client.get(f"{PERIMETERS}/tiles/WebMercatorQuad/6/12/24").content


def test_req_geodata_tilesets_links_and_operation(client: TestClient) -> None:
    """/req/geodata-tilesets/desc-links and /operation (A.12, A.13): declared, and each
    collection's tilesets link ends in /tiles. dataset-tilesets is not declared: no tileset of
    several collections is served."""
    conformance = client.get("/conformance").json()["conformsTo"]
    assert GEODATA_TILESETS in conformance and DATASET_TILESETS not in conformance
    collection = client.get(PERIMETERS).json()
    assert links(collection, TILESETS_VECTOR)[0].endswith(f"{PERIMETERS}/tiles")
    assert not links(client.get("/").json(), TILESETS_VECTOR)


def test_a_tileset_list_has_links_and_each_tileset_its_matrix_set_uri(client: TestClient) -> None:
    listed = tileset_list(client, client.get(PERIMETERS).json())
    assert links(listed, "self", "application/json")[0].endswith(f"{PERIMETERS}/tiles")
    assert links(listed, "collection")[0].endswith(PERIMETERS)
    uris = {t.get("tileMatrixSetURI") for t in listed["tilesets"]}
    assert "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad" in uris
    assert tileset(client)["tileMatrixSetURI"].endswith("/WebMercatorQuad")


def test_a_collection_has_no_json_data_link_to_its_tiles(client: TestClient) -> None:
    """GDAL 3.6 followed a collection's first JSON `data` link as if to /collections and failed
    ("Missing bbox") on tipg's link to the tileset list."""
    collection = client.get(PERIMETERS).json()
    assert not [href for href in links(collection, "data", "application/json") if "/tiles" in href]


def test_without_tiles_no_collection_links_tilesets(make_app: Callable[..., FastAPI]) -> None:
    with TestClient(make_app(tiles=False)) as client:
        collection = client.get(PERIMETERS).json()
        assert not links(collection, TILESETS_VECTOR)
        assert GEODATA_TILESETS not in client.get("/conformance").json()["conformsTo"]

"""OGC API - Tiles (app/ogc/tiles.py): vector tiles decoded with a real MVT decoder and compared
with the items query over the tile's bounds, against the real PostGIS."""

from __future__ import annotations

from typing import Any

import mapbox_vector_tile
import morecantile
import pytest
from fastapi.testclient import TestClient

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
TILES = "/collections/{collection}/tiles/WebMercatorQuad/{z}/{x}/{y}"
TILESET = "/collections/public.fire_perimeters/tiles/WebMercatorQuad"
# Points (both sides of the antimeridian, the poles beyond the matrix), points stored in a
# projected CRS (EPSG:3310), and polygons, at zooms that keep every feature at least a pixel.
CASES = [
    *(("public.monitoring_sites", morecantile.Tile(x, y, 2)) for x in range(4) for y in range(4)),
    ("public.fire_stations", morecantile.Tile(20, 49, 7)),
    ("public.fire_stations", morecantile.Tile(21, 50, 7)),
    ("public.fire_perimeters", morecantile.Tile(12, 24, 6)),
]


def tile_features(client: TestClient, collection: str, tile: morecantile.Tile) -> list[Any]:
    response = client.get(TILES.format(collection=collection, z=tile.z, x=tile.x, y=tile.y))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layers = mapbox_vector_tile.decode(response.content)
    return list(layers["default"]["features"]) if layers else []


def items_in(client: TestClient, collection: str, tile: morecantile.Tile) -> dict[Any, Any]:
    box = WEB_MERCATOR.bounds(tile)
    bbox = f"{box.left},{box.bottom},{box.right},{box.top}"
    query = {"bbox": bbox, "limit": 10000}
    body = client.get(f"/collections/{collection}/items", params=query).json()
    return {feature["id"]: feature["properties"] for feature in body["features"]}


@pytest.mark.parametrize(("collection", "tile"), CASES, ids=str)
def test_a_tile_holds_the_features_of_its_bounds(
    client: TestClient, collection: str, tile: morecantile.Tile
) -> None:
    features = tile_features(client, collection, tile)
    expected = items_in(client, collection, tile)
    by_id = {feature["properties"]["id"]: feature["properties"] for feature in features}
    assert sorted(by_id) == sorted(expected)
    for feature_id, properties in expected.items():
        for name, value in properties.items():
            if isinstance(value, int | float | bool) and value is not None:
                assert by_id[feature_id][name] == pytest.approx(value), (feature_id, name)


def test_the_sample_tiles_are_not_all_empty(client: TestClient) -> None:
    """The comparison above would hold for empty tiles too: most of these must hold features."""
    counts = [len(tile_features(client, collection, tile)) for collection, tile in CASES]
    assert sum(1 for count in counts if count) >= len(CASES) - 6, counts


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/collections/public.fire_perimeters/tiles/WebMercatorQuad/25/0/0", 404),
        ("/collections/public.fire_perimeters/tiles/WebMercatorQuad/2/4/0", 404),
        ("/collections/public.fire_perimeters/tiles/WebMercatorQuad/2/0/4", 404),
        ("/collections/public.fire_perimeters/tiles/WebMercatorQuad/-1/0/0", 404),
        ("/collections/public.fire_perimeters/tiles/WebMercatorQuad/a/0/0", 400),
        ("/collections/public.fire_perimeters/tiles/NoSuchMatrixSet/0/0/0", 400),
        ("/collections/public.nope/tiles/WebMercatorQuad/0/0/0", 404),
        ("/collections/public.fire_perimeters/tiles/WebMercatorQuad/0/0/0?bbox=1,2", 400),
        ("/collections/public.fire_perimeters/tiles/WebMercatorQuad/0/0/0?filter=nope%3D1", 400),
        ("/collections/public.fire_perimeters/tiles/WebMercatorQuad/0/0/0?limit=-1", 400),
        ("/collections/public.fire_perimeters/tiles/WebMercatorQuad/0/0/0?simplify=-1", 400),
        (f"{TILESET}/tilejson.json?minzoom=-1076315401488597383280997711943093452", 400),
        (f"{TILESET}/tilejson.json?minzoom=5&maxzoom=2", 400),
        (f"{TILESET}/style.json?maxzoom=25", 400),
        ("/collections/public.fire_perimeters/tiles/WebMercatorQuad/0/0/0?simplify=nan", 400),
        ("/collections/public.fire_perimeters/tiles/WebMercatorQuad/0/0/0?ids=1" + "0" * 20, 404),
    ],
)
def test_bad_tiles_are_json_errors_and_not_cached(
    client: TestClient, path: str, status: int
) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] and body["description"]
    assert "SELECT" not in body["description"] and "Traceback" not in response.text
    assert "cache-control" not in response.headers


def test_tiles_are_cacheable(client: TestClient) -> None:
    response = client.get(TILES.format(collection="public.fire_perimeters", z=3, x=1, y=3))
    assert response.headers["cache-control"] == "public, max-age=60"


def test_landing_conformance_and_collection_lead_to_tiles(client: TestClient) -> None:
    landing = {link["href"] for link in client.get("/").json()["links"]}
    assert "http://testserver/tileMatrixSets" in landing
    conformance = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conformance
    collection = client.get("/collections/public.fire_perimeters").json()
    tilesets = [link["href"] for link in collection["links"] if link["href"].endswith("/tiles")]
    assert tilesets == ["http://testserver/collections/public.fire_perimeters/tiles"]
    tileset = client.get(tilesets[0]).json()["tilesets"]
    selves = [link["href"] for t in tileset for link in t["links"] if link["rel"] == "self"]
    assert f"{tilesets[0]}/WebMercatorQuad" in selves


def test_tilejson_points_at_our_tiles(client: TestClient) -> None:
    path = "/collections/public.fire_perimeters/tiles/WebMercatorQuad/tilejson.json"
    tilejson = client.get(path).json()
    [template] = tilejson["tiles"]
    assert template.startswith("http://testserver/collections/public.fire_perimeters/tiles/")
    sample = template.replace("{z}", "3").replace("{x}", "1").replace("{y}", "3")
    assert client.get(sample).headers["content-type"] == "application/vnd.mapbox-vector-tile"


def test_tiles_can_be_switched_off(make_app: Any) -> None:
    with TestClient(make_app(tiles=False)) as client:
        response = client.get(TILES.format(collection="public.fire_perimeters", z=0, x=0, y=0))
        assert response.status_code == 404
        assert "tiles" not in str(client.get("/conformance").json())

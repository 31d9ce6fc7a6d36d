"""OGC API - Features Part 2 (CRS by Reference), each test by its requirement id, against the
sample collections stored in CRS84 (fire_perimeters, monitoring_sites) and in California
Albers, EPSG:3310 (fire_stations)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}".format
STATIONS = "/collections/public.fire_stations"
PERIMETERS = "/collections/public.fire_perimeters"
SITES = "/collections/public.monitoring_sites"
CRS_CLASS = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"

Sql = Callable[..., Any]


def ids(response: Any) -> list[Any]:
    assert response.status_code == 200, response.text
    return [feature["id"] for feature in response.json()["features"]]


def coordinates(response: Any) -> dict[Any, list[float]]:
    assert response.status_code == 200, response.text
    return {f["id"]: f["geometry"]["coordinates"] for f in response.json()["features"]}


def test_the_crs_class_is_declared(client: TestClient) -> None:
    assert CRS_CLASS in client.get("/conformance").json()["conformsTo"]


@pytest.mark.parametrize(
    ("path", "storage"),
    [(STATIONS, EPSG(3310)), (PERIMETERS, CRS84), (SITES, CRS84)],
)
def test_collections_list_their_crs_and_storage_crs(
    client: TestClient, path: str, storage: str
) -> None:
    """/req/crs/fc-md-crs-list A, /req/crs/fc-md-storageCrs, /req/crs/crs-uri: CRS84 first
    (/req/crs/fc-md-crs-list B), EPSG:4326, EPSG:3857 and the storage CRS, as URIs; the same in
    /collections as in the collection's own description."""
    described = client.get(path).json()
    assert described["crs"][:3] == [CRS84, EPSG(4326), EPSG(3857)]
    assert described["storageCrs"] == storage and storage in described["crs"]
    listed = {c["id"]: c for c in client.get("/collections").json()["collections"]}
    collection_id = path.rsplit("/", 1)[1]
    assert listed[collection_id]["crs"] == described["crs"]
    assert listed[collection_id]["storageCrs"] == storage


def test_items_are_in_crs84_by_default_and_say_so(client: TestClient) -> None:
    """/req/crs/fc-crs-default-value, /req/crs/ogc-crs-header, /req/crs/ogc-crs-header-value."""
    for path in (f"{STATIONS}/items?limit=3", f"{STATIONS}/items/1"):
        response = client.get(path)
        assert response.headers["Content-Crs"] == f"<{CRS84}>"
    lon, lat = coordinates(client.get(f"{STATIONS}/items?limit=1"))[1]
    assert -125 < lon < -114 and 32 < lat < 42


def test_epsg_4326_is_latitude_first(client: TestClient) -> None:
    """/req/crs/crs-action: coordinates in the requested CRS's axis order."""
    default = coordinates(client.get(f"{PERIMETERS}/items", params={"limit": 3}))
    response = client.get(f"{PERIMETERS}/items", params={"limit": 3, "crs": EPSG(4326)})
    assert response.headers["Content-Crs"] == f"<{EPSG(4326)}>"
    flipped = coordinates(response)
    assert flipped.keys() == default.keys()
    for key, rings in default.items():
        first_ring = rings[0][0]
        assert flipped[key][0][0] == [[lat, lon] for lon, lat in first_ring]


@pytest.mark.parametrize("srid", [3310, 3857])
def test_items_in_a_projected_crs_are_postgis_coordinates(
    client: TestClient, sql: Sql, srid: int
) -> None:
    """/req/crs/crs-action on the collection stored in EPSG:3310: its own CRS gives back the
    stored coordinates, EPSG:3857 what PostGIS's ST_Transform gives."""
    response = client.get(f"{STATIONS}/items", params={"limit": 5, "crs": EPSG(srid)})
    assert response.headers["Content-Crs"] == f"<{EPSG(srid)}>"
    expected = sql(
        "SELECT json_object_agg(id, json_build_array(ST_X(g), ST_Y(g)))::text FROM ("
        f" SELECT id, ST_Transform(geom, {srid}) AS g FROM fire_stations WHERE id <= 5) AS s"
    )
    served = coordinates(response)
    for key, (x, y) in json.loads(expected).items():
        assert served[int(key)] == pytest.approx([x, y], abs=1e-6)


def test_an_item_in_a_requested_crs(client: TestClient, sql: Sql) -> None:
    """/req/crs/crs-action on a single feature, and its header."""
    response = client.get(f"{STATIONS}/items/7", params={"crs": EPSG(3310)})
    assert response.headers["Content-Crs"] == f"<{EPSG(3310)}>"
    x, y = sql("SELECT ARRAY[ST_X(geom), ST_Y(geom)] FROM fire_stations WHERE id = 7")
    assert response.json()["geometry"]["coordinates"] == pytest.approx([x, y], abs=1e-6)


@pytest.mark.parametrize(
    ("path", "crs"),
    [
        (f"{STATIONS}/items", "http://www.opengis.net/def/crs/0/unsupported"),
        (f"{STATIONS}/items/1", "EPSG:4326"),
        (f"{PERIMETERS}/items", EPSG(3310)),  # a real CRS, but not one this collection offers
    ],
)
def test_a_crs_not_offered_is_a_400_naming_the_offered_ones(
    client: TestClient, path: str, crs: str
) -> None:
    """/req/crs/fc-crs-valid-value."""
    response = client.get(path, params={"crs": crs})
    assert response.status_code == 400
    assert "Content-Crs" not in response.headers
    description = response.json()["description"]
    assert crs in description and CRS84 in description and EPSG(3857) in description


def test_bbox_crs_epsg_4326_is_latitude_first(client: TestClient) -> None:
    """/req/crs/fc-bbox-crs-action: the box in bbox-crs's axis order."""
    lon_lat = ids(client.get(f"{PERIMETERS}/items", params={"bbox": "-120,35,-118,37"}))
    lat_lon = {"bbox": "35,-120,37,-118", "bbox-crs": EPSG(4326)}
    assert ids(client.get(f"{PERIMETERS}/items", params=lat_lon)) == lon_lat and lon_lat


def test_bbox_crs_crs84_is_the_default(client: TestClient) -> None:
    """/req/crs/fc-bbox-crs-default-value."""
    box = {"bbox": "-120,35,-118,37"}
    given = ids(client.get(f"{PERIMETERS}/items", params={**box, "bbox-crs": CRS84}))
    assert given == ids(client.get(f"{PERIMETERS}/items", params=box)) and given


def test_bbox_in_the_storage_crs_selects_what_postgis_does(client: TestClient, sql: Sql) -> None:
    """/req/crs/fc-bbox-crs-action with a projected CRS: a box in metres of EPSG:3310."""
    box = (-200000, -300000, 100000, 0)
    params = {"bbox": ",".join(map(str, box)), "bbox-crs": EPSG(3310), "limit": 1000}
    expected = sql(
        "SELECT array_agg(id ORDER BY id) FROM fire_stations"
        f" WHERE ST_Intersects(geom, ST_MakeEnvelope({', '.join(map(str, box))}, 3310))"
    )
    assert sorted(ids(client.get(f"{STATIONS}/items", params=params))) == expected


def test_a_crs84_bbox_on_projected_data_selects_only_what_it_covers(
    client: TestClient, sql: Sql
) -> None:
    """/req/core/fc-bbox-response on EPSG:3310 data: tipg filtered on the box's envelope in
    EPSG:3310, which also holds stations outside the longitude/latitude box (248 for 229)."""
    params = {"bbox": "-123,34,-117,40", "limit": 1000}
    expected = sql(
        "SELECT array_agg(id ORDER BY id) FROM fire_stations WHERE"
        " ST_Intersects(ST_Transform(geom, 4326), ST_MakeEnvelope(-123, 34, -117, 40, 4326))"
    )
    assert sorted(ids(client.get(f"{STATIONS}/items", params=params))) == expected


def test_a_box_made_from_the_extent_in_web_mercator_keeps_its_edge_features(
    client: TestClient,
) -> None:
    """Reprojection round trips are exact only to ~1e-9: a client's box built from the extent
    (the OGC suite builds one so) must still hold the features that define that extent."""
    west, south, east, north = client.get(SITES).json()["extent"]["spatial"]["bbox"][0]
    to_mercator = Transformer.from_crs(4326, 3857, always_xy=True)
    (minx, maxx), (miny, maxy) = to_mercator.transform([west, east], [south, north])
    box = ",".join(f"{n:.7f}" for n in (minx, miny, maxx, maxy))
    params = {"bbox": box, "bbox-crs": EPSG(3857), "limit": 100}
    everything = ids(client.get(f"{SITES}/items", params={"limit": 100}))
    assert sorted(ids(client.get(f"{SITES}/items", params=params))) == sorted(everything)


@pytest.mark.parametrize(
    "bbox_crs", ["http://www.opengis.net/def/crs/0/unsupported", EPSG(3310), EPSG(999999)]
)
def test_a_bbox_crs_not_offered_is_a_400(client: TestClient, bbox_crs: str) -> None:
    """/req/crs/fc-bbox-crs-valid-value (EPSG:3310 exists, but fire_perimeters is not offered
    in it)."""
    params = {"bbox": "5,49,6,50", "bbox-crs": bbox_crs}
    response = client.get(f"{PERIMETERS}/items", params=params)
    assert response.status_code == 400 and "bbox-crs" in response.json()["description"]


@pytest.mark.parametrize(
    ("box", "site_ids"),
    [
        ("-1.5,50,1.5,53", {6, 7, 8}),  # around the prime meridian, in the UK
        ("-80,-5,-70,5", {9, 10, 11}),  # the equator
        ("177,65,-177,70", {2, 3, 4, 5}),  # across the antimeridian
        ("-180,85,180,90", {12, 13}),  # the north pole
        ("-180,-90,180,-85", {14, 15}),  # the south pole
    ],
)
def test_the_global_sample_has_features_in_the_suites_boxes(
    client: TestClient, box: str, site_ids: set[int]
) -> None:
    """The boxes the OGC suite checks bbox with (FeaturesBBox) find real features."""
    assert set(ids(client.get(f"{SITES}/items", params={"bbox": box}))) == site_ids


def test_api_documents_crs_and_bbox_crs_per_collection(client: TestClient) -> None:
    """/req/crs/fc-crs-definition, /req/crs/fc-bbox-crs-definition; per collection, the CRSs
    it offers."""
    paths = client.get("/api").json()["paths"]
    items = paths["/collections/{collectionId}/items"]["get"]["parameters"]
    generic = {p["name"]: p for p in items}
    assert generic["crs"]["schema"]["format"] == "uri"
    assert generic["bbox-crs"]["schema"]["format"] == "uri"
    stations = paths["/collections/public.fire_stations/items"]["get"]["parameters"]
    offered = {p["name"]: p["schema"].get("enum") for p in stations}
    assert offered["crs"] == offered["bbox-crs"] == client.get(STATIONS).json()["crs"]
    item = paths["/collections/{collectionId}/items/{itemId}"]["get"]["parameters"]
    assert "crs" in {p["name"] for p in item}

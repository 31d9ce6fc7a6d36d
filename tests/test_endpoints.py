"""Every OGC Features endpoint answers, in JSON and HTML, with the links clients follow."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from data.load import SAMPLE_COLLECTIONS

SAMPLE = SAMPLE_COLLECTIONS
PERIMETERS = "/collections/public.fire_perimeters"


def links_by_rel(body: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for link in body["links"]:
        found.setdefault(link["rel"], []).append(link)
    return found


def test_landing_page_links(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    rels = links_by_rel(response.json())
    assert rels["self"][0]["href"] == "http://testserver/"
    [service_desc] = rels["service-desc"]
    assert service_desc["href"] == "http://testserver/api"
    assert service_desc["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert rels["service-doc"][0]["href"] == "http://testserver/api.html"
    assert rels["conformance"][0]["href"] == "http://testserver/conformance"
    assert "http://testserver/collections" in {link["href"] for link in rels["data"]}


def test_conformance_lists_core_and_geojson(client: TestClient) -> None:
    conforms = set(client.get("/conformance").json()["conformsTo"])
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conforms
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conforms
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30" in conforms


def test_collections_are_the_sample_tables_and_no_functions(client: TestClient) -> None:
    body = client.get("/collections").json()
    ids = {c["id"] for c in body["collections"]}
    assert ids == SAMPLE
    assert body["numberMatched"] == len(SAMPLE)


def test_collection_metadata_has_extent_and_items_link(client: TestClient) -> None:
    body = client.get(PERIMETERS).json()
    assert body["id"] == "public.fire_perimeters"
    west, south, east, north = body["extent"]["spatial"]["bbox"][0]
    assert -124.2 < west < east < -103.5 and 31.8 < south < north < 49.2
    assert body["extent"]["temporal"]["interval"][0][0].startswith("2015-01-01")
    items = [link for link in body["links"] if link["rel"] == "items"]
    assert items[0]["href"] == f"http://testserver{PERIMETERS}/items"


def test_queryables_describe_the_columns(client: TestClient) -> None:
    response = client.get(f"{PERIMETERS}/queryables")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    properties = response.json()["properties"]
    assert properties["acres"]["type"] == "number"
    assert properties["fire_name"]["type"] == "string"
    assert "geom" in properties


def test_items_is_geojson_with_counts(client: TestClient) -> None:
    response = client.get(f"{PERIMETERS}/items", params={"limit": 5})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == 10_000
    assert body["numberReturned"] == 5
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert len(feature["geometry"]["coordinates"][0]) == 2, "first polygon has a hole"


def test_default_page_size_is_the_setting(client: TestClient) -> None:
    body = client.get(f"{PERIMETERS}/items").json()
    assert body["numberReturned"] == 10
    self_link = links_by_rel(body)["self"][0]["href"]
    assert "limit=10" in self_link


def test_item_by_id(client: TestClient) -> None:
    response = client.get(f"{PERIMETERS}/items/42")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == 42
    assert body["properties"]["fire_name"].endswith("Fire 42")
    assert links_by_rel(body)["self"][0]["href"].endswith("/items/42")


def test_unicode_names_survive(client: TestClient) -> None:
    body = client.get(f"{PERIMETERS}/items/1").json()
    assert body["properties"]["fire_name"] == "Ōhiʻa Fire 1"


def test_html_by_f_and_by_accept(client: TestClient) -> None:
    for path in ("/", "/collections", PERIMETERS, f"{PERIMETERS}/items", f"{PERIMETERS}/items/1"):
        by_f = client.get(path, params={"f": "html"})
        assert by_f.status_code == 200, path
        assert by_f.headers["content-type"].startswith("text/html"), path
        by_accept = client.get(path, headers={"Accept": "text/html"})
        assert by_accept.headers["content-type"].startswith("text/html"), path


def test_json_wins_over_browser_accept_with_f(client: TestClient) -> None:
    response = client.get("/collections", params={"f": "json"}, headers={"Accept": "text/html"})
    assert response.headers["content-type"] == "application/json"


def test_api_html_renders(client: TestClient) -> None:
    response = client.get("/api.html")
    assert response.status_code == 200
    assert "/api" in response.text


def test_a_geometry_simplified_away_is_null(client: TestClient) -> None:
    """Simplified past its size, a line has no coordinates left: GeoJSON null, not `[]`."""
    page = client.get(
        "/collections/public.fire_lines/items", params={"simplify": 1e6, "limit": 5}
    ).json()
    assert [feature["geometry"] for feature in page["features"]] == [None] * 5

"""OGC API - Features Part 1 requirements that the OGC's test suite (ets-ogcapi-features10 1.9)
found us failing, each tested by its requirement id.

/req/core/fc-links, /req/core/f-links, /req/core/fc-md-links: `alternate` links with a type to
every other representation, JSON ↔ HTML both ways; /req/core/fc-*-definition: the standard's
parameter fragments in /api, with behaviour to match; /req/core/query-param-unknown: 400.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient

from app.factory import create_app
from app.ogc.responses import with_formats
from harness.database import fresh_schema, make_settings

ITEMS = "/collections/public.fire_perimeters/items"
JSON_RESOURCES = [
    "/collections",
    "/collections/public.fire_perimeters",
    ITEMS,
    f"{ITEMS}?limit=5",
    f"{ITEMS}?bbox=-125,30,-100,50",
    f"{ITEMS}/1",
]


def alternates(body: dict[str, Any]) -> dict[str, str]:
    return {link["type"]: link["href"] for link in body["links"] if link["rel"] == "alternate"}


@pytest.mark.parametrize("path", JSON_RESOURCES)
def test_json_resources_link_their_html_form(client: TestClient, path: str) -> None:
    """/req/core/fc-links B, /req/core/f-links B, /req/core/fc-md-links B."""
    page = client.get(alternates(client.get(path).json())["text/html"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_items_link_every_other_items_format(client: TestClient) -> None:
    """/req/core/fc-links B: CSV and GeoJSON text sequences too, with the same query."""
    found = alternates(client.get(f"{ITEMS}?limit=2&f=geojson").json())
    assert set(found) == {"text/html", "text/csv", "application/geo+json-seq"}
    for media_type, href in found.items():
        assert "limit=2" in href and href.count("f=") == 1
        response = client.get(href)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media_type)


@pytest.mark.parametrize(
    "href",
    [
        "http://h/collections/a.b/items/7",
        "http://h:8080/root/collections",
        "http://h/collections/a.b/items?limit=2&f=json&bbox=1%2C2%2C3%2C4",
        "http://h/x?f=geojson#top",
    ],
)
def test_alternate_hrefs_replace_only_the_format(href: str) -> None:
    """The shortcut for a URL without a query gives what parsing it would."""
    parts = urlsplit(href)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "f"]
    parsed = [parts._replace(query=urlencode([*kept, ("f", f)])).geturl() for f in ("html", "csv")]
    assert with_formats(href, ["html", "csv"]) == parsed


@pytest.mark.parametrize(
    ("path", "json_type"),
    [
        ("/collections?f=html", "application/json"),
        (f"{ITEMS}?limit=2&f=html", "application/geo+json"),
        (f"{ITEMS}/1?f=html", "application/geo+json"),
    ],
)
def test_html_pages_link_their_json_form(client: TestClient, path: str, json_type: str) -> None:
    """The way back: tipg's templates link each page's JSON form."""
    links = re.findall(r'href="([^"]*f=(?:geo)?json)"', client.get(path).text)
    assert links, path
    response = client.get(html.unescape(links[0]))
    assert response.headers["content-type"].startswith(json_type)


def items_parameters(client: TestClient) -> dict[str, dict[str, Any]]:
    document = client.get("/api").json()
    parameters = document["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
    return {p["name"]: p for p in parameters}


@pytest.mark.parametrize("name", ["limit", "bbox", "datetime"])
def test_items_parameters_are_form_style_unexploded(client: TestClient, name: str) -> None:
    """/req/core/fc-limit-definition, fc-bbox-definition, fc-time-definition."""
    parameter = items_parameters(client)[name]
    assert (parameter["in"], parameter["required"]) == ("query", False)
    assert (parameter["style"], parameter["explode"]) == ("form", False)


def test_bbox_is_an_array_of_four_to_six_numbers(client: TestClient) -> None:
    schema = items_parameters(client)["bbox"]["schema"]
    assert schema == {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}


def test_limit_bounds_are_what_the_server_does(client: TestClient) -> None:
    """/req/core/fc-limit-definition and /req/core/fc-limit-response-1: the declared minimum is
    served exactly; below it is refused, not silently turned into the default page."""
    schema = items_parameters(client)["limit"]["schema"]
    assert (schema["minimum"], schema["default"]) == (1, 10)
    smallest = client.get(ITEMS, params={"limit": schema["minimum"]}).json()
    assert smallest["numberReturned"] == 1
    below = client.get(ITEMS, params={"limit": schema["minimum"] - 1})
    assert below.status_code == 400 and "limit" in below.json()["description"]


def test_unknown_query_parameter_is_refused_by_name(client: TestClient) -> None:
    """/req/core/query-param-unknown."""
    response = client.get(ITEMS, params={"unknownQueryParameter12345": "1", "limit": "1"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidParameterValue"
    assert "unknownQueryParameter12345" in body["description"]


def test_property_filters_and_declared_parameters_are_known(client: TestClient) -> None:
    """A queryable property (`state=OR`, tipg's property filter) is not an unknown parameter."""
    response = client.get(ITEMS, params={"state": "OR", "limit": "3", "f": "geojson"})
    assert response.status_code == 200
    assert {f["properties"]["state"] for f in response.json()["features"]} == {"OR"}


def test_a_collection_describes_itself_as_the_list_does(client: TestClient) -> None:
    """/req/collections/src-md-success: /collections/{id} agrees with its /collections entry."""
    listed = {c["id"]: c for c in client.get("/collections").json()["collections"]}
    for collection_id, entry in listed.items():
        alone = client.get(f"/collections/{collection_id}").json()
        assert (alone["id"], alone.get("title")) == (entry["id"], entry["title"])


# /req/core/fc-bbox-response: "If the bounding box crosses the antimeridian, minimum longitude is
# larger than maximum longitude." Places on both sides of ±180°, and two that must not match.
PLACES_SCHEMA = "wfs3_antimeridian"
PLACES = {1: (179.5, 66.0), 2: (-179.5, 66.5), 3: (0.0, 66.0), 4: (178.0, 0.0)}
# Two text columns: tipg filters `kind=...`, but never `Region=...` (a mixed-case name).
KINDS = {1: "east", 2: "west", 3: "meridian", 4: "equator"}


@pytest.fixture(scope="module")
def places(database_url: str, reader_url: str) -> Iterator[TestClient]:
    points = [
        f"({i}, ST_SetSRID(ST_MakePoint({x}, {y}), 4326), '{KINDS[i]}', 'R{i}')"
        for i, (x, y) in PLACES.items()
    ]
    rows = ", ".join(points)
    fresh_schema(
        database_url,
        PLACES_SCHEMA,
        f"CREATE TABLE {PLACES_SCHEMA}.places (id int PRIMARY KEY, geom geometry(Point, 4326),"
        ' kind text, "Region" text)',
        f"INSERT INTO {PLACES_SCHEMA}.places VALUES {rows}",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WFS3_DB_SCHEMAS", PLACES_SCHEMA)
        app = create_app(make_settings(reader_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def place_ids(client: TestClient, **params: str) -> set[int]:
    response = client.get(f"/collections/{PLACES_SCHEMA}.places/items", params=params)
    assert response.status_code == 200, response.text
    return {feature["id"] for feature in response.json()["features"]}


def test_bbox_across_the_antimeridian_finds_both_sides(places: TestClient) -> None:
    assert place_ids(places, bbox="177,65,-177,70") == {1, 2}
    assert place_ids(places, bbox="177,65,0,-177,70,1000") == {1, 2}  # with heights
    assert place_ids(places, bbox="177,-5,-177,70") == {1, 2, 4}


def test_bbox_across_the_antimeridian_keeps_the_other_filters(places: TestClient) -> None:
    assert place_ids(places, bbox="177,65,-177,70", filter="id > 1") == {2}
    assert place_ids(places, bbox="177,65,-177,70", ids="1,3") == {1}


def test_bbox_not_across_it_is_unchanged(places: TestClient) -> None:
    assert place_ids(places, bbox="-180,60,180,70") == {1, 2, 3}
    assert place_ids(places, bbox="170,65,179.9,70") == {1}


def test_only_properties_tipg_can_filter_are_documented_and_accepted(places: TestClient) -> None:
    """/api's per-collection filters and /req/core/query-param-unknown agree with what tipg
    filters: `kind` (lower case) is a filter; `Region` would be silently ignored, so it is
    neither listed nor accepted (a CQL2 filter reaches it)."""
    operation = places.get("/api").json()["paths"][f"/collections/{PLACES_SCHEMA}.places/items"]
    documented = {p["name"] for p in operation["get"]["parameters"]}
    assert "kind" in documented and "Region" not in documented and "geom" not in documented
    assert place_ids(places, kind="west") == {2}
    for name in ("Region", "KIND", "geom"):
        response = places.get(f"/collections/{PLACES_SCHEMA}.places/items", params={name: "x"})
        assert response.status_code == 400 and f"'{name}'" in response.json()["description"]
    assert place_ids(places, filter="\"Region\" = 'R3'") == {3}


def test_items_say_when_they_were_generated(client: TestClient) -> None:
    """/req/core/fc-timeStamp: RFC 3339, between the request's start and its end."""
    before = datetime.now(UTC).replace(microsecond=0)
    body = client.get(ITEMS, params={"limit": "1"}).json()
    after = datetime.now(UTC)
    stamp = datetime.fromisoformat(body["timeStamp"].replace("Z", "+00:00"))
    assert body["timeStamp"].endswith("Z") and before <= stamp <= after


@pytest.mark.parametrize(
    "path", ["//conformance", "//collections", "/collections//public.fire_perimeters//items"]
)
def test_doubled_slashes_are_served_as_one(client: TestClient, path: str) -> None:
    """A client that joins `http://host/` and `/conformance` gets the resource, not a 404."""
    doubled = client.get(f"http://testserver{path}?limit=2")
    single = client.get(f"http://testserver{path.replace('//', '/')}?limit=2")
    assert doubled.status_code == single.status_code == 200
    assert doubled.json().keys() == single.json().keys()


def test_api_has_each_collections_items_path_with_its_property_filters(client: TestClient) -> None:
    """What a generic client may send to each collection's items, and no more (items_query.py
    refuses anything else)."""
    paths = client.get("/api").json()["paths"]
    for collection in client.get("/collections").json()["collections"]:
        operation = paths[f"/collections/{collection['id']}/items"]["get"]
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert "collectionId" not in parameters and {"limit", "bbox", "datetime"} <= set(parameters)
        queryables = client.get(f"/collections/{collection['id']}/queryables").json()
        for name, schema in queryables["properties"].items():
            if "$ref" not in schema:  # geometry columns are not `name=value` filters
                assert parameters[name]["schema"]["type"] == schema["type"], name


def test_every_documented_property_filter_is_accepted(client: TestClient) -> None:
    operation = client.get("/api").json()["paths"]["/collections/public.fire_perimeters/items"]
    feature = client.get(ITEMS, params={"limit": "1"}).json()["features"][0]
    for parameter in operation["get"]["parameters"]:
        if parameter["description"].startswith("Only features whose"):
            value = feature["properties"][parameter["name"]]
            response = client.get(ITEMS, params={parameter["name"]: str(value), "limit": "1"})
            assert response.status_code == 200, (parameter["name"], response.text)


def test_csv_of_no_features_is_an_empty_document(client: TestClient) -> None:
    """tipg's CSV writer failed after its 200 when nothing matched (found by fuzzing the
    per-collection filters): now an empty CSV, like the empty GeoJSON FeatureCollection."""
    response = client.get(ITEMS, params={"f": "csv", "bbox": "0,0,1,1"})
    assert response.status_code == 200 and response.text == ""
    assert client.get(ITEMS, params={"f": "csv", "limit": "2"}).text.count("\n") == 3


@pytest.mark.parametrize("params", [{"state": "O\x00R"}, {"filter": "state = 'O\x00R'"}])
def test_a_nul_character_is_a_400(client: TestClient, params: dict[str, str]) -> None:
    """Found by fuzzing the per-collection property filters: the driver refused the value and
    the request was answered 503 "database not reachable"."""
    response = client.get(ITEMS, params=params)
    assert response.status_code == 400 and "NUL" in response.json()["description"]


def test_api_does_not_follow_the_databases_scan_order(client: TestClient) -> None:
    """tipg's catalog lists tables and columns in no fixed order; /api sorts both, so the
    document (and the fuzzer's derandomized inputs drawn from it) is the same everywhere."""
    paths = [p for p in client.get("/api").json()["paths"] if p.count("/") == 3]
    per_collection = [p for p in paths if p.endswith("/items") and "{" not in p]
    assert per_collection == sorted(per_collection) and len(per_collection) >= 3
    operation = client.get("/api").json()["paths"][per_collection[0]]["get"]
    filters = [p["name"] for p in operation["parameters"] if p["description"].startswith("Only")]
    assert filters == sorted(filters)

"""The items and item query tables (app/ogc/items_query.py): each parameter declared once, and
what follows from that: /api lists exactly the table, the refusals name the parameter, the
values reach the answer (page size, format, output CRS) as values of the request alone."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.errors import InvalidParameter
from app.ogc.items_query import (
    ITEM,
    ITEMS,
    ItemQuery,
    PageSizes,
    read_item_query,
    read_items_query,
    read_remembered,
)
from app.ogc.paths import ITEM_PATH, ITEMS_PATH

ITEMS_URL = "/collections/public.fire_perimeters/items"
EPSG_3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def query_parameters(client: TestClient, path: str) -> list[str]:
    operation = client.get("/api").json()["paths"][path]["get"]
    return [p["name"] for p in operation["parameters"] if p["in"] == "query"]


def test_api_documents_exactly_the_tables(client: TestClient) -> None:
    assert query_parameters(client, ITEMS_PATH) == [p.name for p in ITEMS]
    assert query_parameters(client, ITEM_PATH) == [p.name for p in ITEM]


def test_the_unknown_parameter_error_lists_what_the_table_declares(client: TestClient) -> None:
    description = client.get(ITEMS_URL, params={"limt": "5"}).json()["description"]
    assert "'limt'" in description
    assert all(parameter.name in description for parameter in ITEMS)


def test_an_item_refuses_an_unknown_parameter_too(client: TestClient) -> None:
    """/req/core/query-param-unknown holds for every operation; tipg's item ignored them."""
    response = client.get(f"{ITEMS_URL}/1", params={"propertes": "fire_name"})
    assert response.status_code == 400
    assert "'propertes'" in response.json()["description"]
    assert client.get(f"{ITEMS_URL}/1", params={"properties": "fire_name"}).status_code == 200


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"limit": "abc"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1_0"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"bbox-only": "maybe"}, "bbox-only"),
        ({"simplify": "x"}, "simplify"),
        ({"f": "xml"}, "f must be"),
        ({"filter-lang": "cql-text", "filter": "id > 1"}, "filter-lang"),
        ({"after": ""}, "after"),
        ({"after": "3", "offset": "5"}, "after"),
        ({"after": "3", "f": "json"}, "after"),
        ({"crs": "http://www.opengis.net/def/crs/EPSG/0/9999"}, "crs"),
        ({"bbox-crs": "urn:nope", "bbox": "0,0,1,1"}, "bbox-crs"),
    ],
)
def test_a_bad_value_is_a_400_naming_its_parameter(
    client: TestClient, params: dict[str, str], named: str
) -> None:
    response = client.get(ITEMS_URL, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "InvalidParameterValue" and named in body["description"]


def self_link(body: dict[str, Any]) -> str:
    return str(next(link["href"] for link in body["links"] if link["rel"] == "self"))


@pytest.mark.parametrize("f", ["geojson", "html"])
def test_the_links_show_the_page_size_applied(client: TestClient, f: str) -> None:
    """The default added and a limit past the maximum lowered, in the self link (GeoJSON) and
    in what tipg's HTML page links (the other formats are tipg's)."""
    for given, applied in (({}, "limit=10"), ({"limit": "99999999"}, "limit=10000")):
        response = client.get(ITEMS_URL, params={**given, "f": f})
        assert response.status_code == 200
        text = self_link(response.json()) if f == "geojson" else response.text
        assert applied in text, (given, f)


def test_a_repeated_parameter_counts_with_its_last_value(client: TestClient) -> None:
    """As starlette reads a query; tipg's HTML pages link their JSON form so: `f=html&f=geojson`."""
    response = client.get(f"{ITEMS_URL}?limit=2&f=html&f=geojson&limit=3")
    assert response.headers["content-type"] == "application/geo+json"
    assert response.json()["numberReturned"] == 3


def first_coordinate(geometry: Any) -> float:
    while isinstance(geometry, list):
        geometry = geometry[0]
    return float(geometry)


@pytest.mark.parametrize("f", ["geojson", "json"])
def test_the_output_crs_is_the_requests_own(client: TestClient, f: str) -> None:
    """A request in EPSG:3857, then one in the default CRS: each gets its own, in GeoJSON (our
    SQL) and JSON (tipg's endpoint), with Content-Crs saying which."""
    projected = client.get(ITEMS_URL, params={"limit": "1", "crs": EPSG_3857, "f": f})
    default = client.get(ITEMS_URL, params={"limit": "1", "f": f})
    assert projected.headers["content-crs"] == f"<{EPSG_3857}>"
    assert default.headers["content-crs"] == f"<{CRS84}>"

    def coordinate(response: Any) -> float:
        body = response.json()
        if f == "json":  # tipg's rows: the geometry as WKT
            return float(re.findall(r"\(+(-?[0-9.]+)", body[0]["geometry"])[0])
        return first_coordinate(body["features"][0]["geometry"]["coordinates"])

    assert abs(coordinate(projected)) > 180 >= abs(coordinate(default))


def test_an_item_in_another_crs(client: TestClient) -> None:
    projected = client.get(f"{ITEMS_URL}/1", params={"crs": EPSG_3857})
    default = client.get(f"{ITEMS_URL}/1")
    assert projected.headers["content-crs"] == f"<{EPSG_3857}>"
    coordinates = (projected.json(), default.json())
    assert abs(first_coordinate(coordinates[0]["geometry"]["coordinates"])) > 180
    assert abs(first_coordinate(coordinates[1]["geometry"]["coordinates"])) <= 180


def test_items_requests_are_named_by_their_route(make_app: Callable[..., FastAPI]) -> None:
    """Telemetry names a request by scope["route"].path (spans, metrics, access lines)."""
    app, routes = make_app(), []

    async def capture(scope: Any, receive: Any, send: Any) -> None:
        await inner(scope, receive, send)
        if scope["type"] == "http":
            routes.append(getattr(scope.get("route"), "path", None))

    inner = app.build_middleware_stack()
    app.middleware_stack = capture  # type: ignore[assignment]
    with TestClient(app) as client:
        for url in (ITEMS_URL, f"{ITEMS_URL}/1", f"{ITEMS_URL}?f=json", f"{ITEMS_URL}?limit=0"):
            client.get(url)
    assert routes == [ITEMS_PATH, ITEM_PATH, ITEMS_PATH, ITEMS_PATH]


def test_a_query_is_read_once_per_collection_and_a_refusal_never_kept(client: TestClient) -> None:
    app: Any = client.app
    collection = app.state.collection_catalog["collections"]["public.fire_perimeters"]
    sizes = PageSizes(default=10, maximum=100)
    first = read_remembered(read_items_query, b"limit=5", None, collection, sizes)
    assert read_remembered(read_items_query, b"limit=5", None, collection, sizes) is first
    assert first.limit == 5
    as_html = read_remembered(read_items_query, b"limit=5", "text/html", collection, sizes)
    assert as_html.output != first.output, "the Accept header is part of what is read"
    item = read_remembered(read_item_query, b"", None, collection, sizes)
    assert type(item) is ItemQuery, "each route's reading is its own"
    assert read_remembered(read_items_query, b"", None, collection, sizes) is not item
    kept = len(collection.queries)
    for _ in range(2):
        with pytest.raises(InvalidParameter):
            read_remembered(read_items_query, b"limit=0", None, collection, sizes)
    assert len(collection.queries) == kept

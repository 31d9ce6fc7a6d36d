"""OGC API - Features - Part 5 (app/ogc/schemas.py): a collection's schema, the GeoJSON feature
schema GDAL reads, sortables and the `sortby` check, against the real catalog."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

PERIMETERS = "/collections/public.fire_perimeters"
SCHEMA_REL = "http://www.opengis.net/def/rel/ogc/1.0/schema"
SORTABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/sortables"
PART_5 = "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/"


def link(document: dict[str, Any], rel: str) -> dict[str, Any]:
    [found] = [candidate for candidate in document["links"] if candidate["rel"] == rel]
    return found


def schema_of(client: TestClient, href: str) -> dict[str, Any]:
    response = client.get(href)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/schema+json"
    body: dict[str, Any] = response.json()
    return body


def test_the_schema_gives_types_formats_and_roles(client: TestClient) -> None:
    collection = client.get(PERIMETERS).json()
    schema = schema_of(client, link(collection, SCHEMA_REL)["href"])
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    properties = schema["properties"]
    assert properties["id"] == {"title": "id", "type": "integer", "x-ogc-role": "id"}
    assert properties["geom"]["x-ogc-role"] == "primary-geometry"
    assert properties["geom"]["format"] == "geometry-multipolygon"
    assert properties["acres"]["type"] == "number"
    assert properties["ignition_time"] == {
        "title": "ignition_time", "type": "string", "format": "date-time",
    }  # fmt: skip
    instants = [name for name, p in properties.items() if p.get("x-ogc-role") == "primary-instant"]
    assert len(instants) == 1 and properties[instants[0]]["format"] == "date-time"


def test_every_returned_property_is_in_the_schema(client: TestClient) -> None:
    feature = client.get(f"{PERIMETERS}/items", params={"limit": 1}).json()["features"][0]
    schema = client.get(f"{PERIMETERS}/schema").json()
    assert set(feature["properties"]) <= set(schema["properties"])


def test_describedby_leads_to_the_schema_of_a_geojson_feature(client: TestClient) -> None:
    """The form GDAL's OAPIF driver reads ("Using JSON schema"); rel spelled as GDAL 3.6 needs."""
    described = link(client.get(PERIMETERS).json(), "describedBy")
    assert described["type"] == "application/schema+json"
    schema = schema_of(client, described["href"])
    assert schema["properties"]["type"]["enum"] == ["Feature"]
    assert "properties" in schema["properties"]["properties"]
    properties = schema["properties"]["properties"]["properties"]
    assert properties["contained_time"]["format"] == "date-time" and "geom" not in properties
    assert schema["properties"]["geometry"] == {
        "$ref": "https://geojson.org/schema/MultiPolygon.json"
    }


def test_sortables_list_what_sortby_accepts(client: TestClient) -> None:
    collection = client.get(PERIMETERS).json()
    sortables = schema_of(client, link(collection, SORTABLES_REL)["href"])["properties"]
    assert "geom" not in sortables and {"acres", "fire_name", "id"} <= set(sortables)
    for name in sortables:
        response = client.get(f"{PERIMETERS}/items", params={"sortby": f"-{name}", "limit": 1})
        assert response.status_code == 200, (name, response.text)


@pytest.mark.parametrize("sortby", ["geom", "nosuch", "acres,+geom"])
def test_sortby_refuses_what_is_not_sortable_naming_the_sortables(
    client: TestClient, sortby: str
) -> None:
    response = client.get(f"{PERIMETERS}/items", params={"sortby": sortby})
    assert response.status_code == 400
    description = response.json()["description"]
    assert "sortable properties" in description and "fire_name" in description


def test_part_5_conformance_is_declared(client: TestClient) -> None:
    conformance = client.get("/conformance").json()["conformsTo"]
    for name in ("schemas", "core-roles-features", "sortables"):
        assert PART_5 + name in conformance


def test_an_unknown_collection_has_no_schema(client: TestClient) -> None:
    for path in ("schema", "schema/geojson", "sortables"):
        response = client.get(f"/collections/public.nosuch/{path}")
        assert response.status_code == 404
        assert "public.nosuch" in response.json()["description"]

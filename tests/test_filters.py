"""Query parameters on /items return exactly what the same question asked in SQL returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

DETECTIONS = "/collections/public.fire_detections/items"
PERIMETERS = "/collections/public.fire_perimeters/items"
LINES = "/collections/public.fire_lines/items"

SQL = Callable[..., Any]


def matched(client: TestClient, path: str, **params: Any) -> int:
    response = client.get(path, params={"limit": 1, **params})
    assert response.status_code == 200, response.text
    count: int = response.json()["numberMatched"]
    return count


@pytest.mark.parametrize(
    "bbox",
    ["-120,35,-115,40", "-124,32,-123.5,32.5", "-110.25,44.75,-104,49", "0,0,10,10"],
)
def test_bbox_matches_sql(client: TestClient, sql: SQL, bbox: str) -> None:
    west, south, east, north = (float(n) for n in bbox.split(","))
    expected = sql(
        "SELECT count(*) FROM fire_detections WHERE geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)",
        west,
        south,
        east,
        north,
    )
    assert matched(client, DETECTIONS, bbox=bbox) == expected
    if bbox != "0,0,10,10":
        assert expected > 0, "the window should hold some points"


def test_bbox_on_polygons_uses_intersection(client: TestClient, sql: SQL) -> None:
    expected = sql(
        "SELECT count(*) FROM fire_perimeters "
        "WHERE ST_Intersects(geom, ST_MakeEnvelope(-120, 35, -119, 36, 4326))"
    )
    assert matched(client, PERIMETERS, bbox="-120,35,-119,36") == expected > 0


def test_six_number_bbox_ignores_heights(client: TestClient) -> None:
    flat = matched(client, DETECTIONS, bbox="-120,35,-115,40")
    assert matched(client, DETECTIONS, bbox="-120,35,0,-115,40,100") == flat


DATETIME_CASES = [
    # (datetime parameter, SQL predicate on observed_at)
    ("2020-01-01T00:00:00Z/2020-12-31T23:59:59Z", "observed_at BETWEEN $1 AND $2"),
    ("2023-06-01T00:00:00Z/..", "observed_at >= $1"),
    ("../2016-01-01T00:00:00Z", "observed_at <= $1"),
    ("2019-03-01T00:00:00Z/", "observed_at >= $1"),
]


@pytest.mark.parametrize(("interval", "predicate"), DATETIME_CASES)
def test_datetime_interval_matches_sql(
    client: TestClient, sql: SQL, interval: str, predicate: str
) -> None:
    from datetime import datetime

    bounds = [datetime.fromisoformat(p) for p in interval.split("/") if p not in ("", "..")]
    expected = sql(f"SELECT count(*) FROM fire_detections WHERE {predicate}", *bounds)
    assert matched(client, DETECTIONS, datetime=interval) == expected > 0


def test_closed_interval_includes_its_end(client: TestClient, sql: SQL) -> None:
    """OGC intervals are closed: a feature stamped exactly at the end belongs to it."""
    end = sql("SELECT observed_at FROM fire_detections WHERE id = 500")
    interval = f"2015-01-01T00:00:00Z/{end.isoformat()}"
    expected = sql("SELECT count(*) FROM fire_detections WHERE observed_at <= $1", end)
    assert matched(client, DETECTIONS, datetime=interval) == expected


def test_datetime_instant_matches_exactly(client: TestClient, sql: SQL) -> None:
    instant = sql("SELECT observed_at FROM fire_detections WHERE id = 777")
    body = client.get(DETECTIONS, params={"datetime": instant.isoformat()}).json()
    assert [f["id"] for f in body["features"]] == [777]


def test_paging_walks_the_whole_collection(client: TestClient, sql: SQL) -> None:
    seen: list[int] = []
    url: str | None = f"http://testserver{LINES}?limit=700"
    pages = 0
    while url:
        body = client.get(url).json()
        seen.extend(f["id"] for f in body["features"])
        assert body["numberReturned"] == len(body["features"])
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        pages += 1
    total = sql("SELECT count(*) FROM fire_lines")
    assert pages == -(-total // 700)
    assert len(seen) == len(set(seen)) == total
    assert set(seen) == set(range(1, total + 1))


def test_prev_link_goes_back_one_page(client: TestClient) -> None:
    body = client.get(LINES, params={"limit": 100, "offset": 300}).json()
    prev = next(link["href"] for link in body["links"] if link["rel"] == "prev")
    assert "offset=200" in prev and "limit=100" in prev
    assert body["features"][0]["id"] == 301


CQL2_CASES = [
    ("acres > 5000", "acres > 5000"),
    (
        "cause = 'Lightning' AND containment_pct >= 50",
        "cause = 'Lightning' AND containment_pct >= 50",
    ),
    ("cause IS NULL", "cause IS NULL"),
    ("state IN ('CA','OR')", "state IN ('CA','OR')"),
    ("fire_name LIKE 'Bear%'", "fire_name LIKE 'Bear%'"),
    (
        "S_INTERSECTS(geom, POLYGON((-120 35,-119 35,-119 36,-120 36,-120 35)))",
        "ST_Intersects(geom, ST_MakeEnvelope(-120, 35, -119, 36, 4326))",
    ),
]


@pytest.mark.parametrize(("cql", "where"), CQL2_CASES)
def test_cql2_text_matches_sql(client: TestClient, sql: SQL, cql: str, where: str) -> None:
    expected = sql(f"SELECT count(*) FROM fire_perimeters WHERE {where}")
    assert matched(client, PERIMETERS, filter=cql, **{"filter-lang": "cql2-text"}) == expected > 0


def test_cql2_json_matches_sql(client: TestClient, sql: SQL) -> None:
    cql = '{"op":"and","args":[{"op":">","args":[{"property":"acres"},1000]},{"op":"=","args":[{"property":"state"},"CA"]}]}'  # noqa: E501
    expected = sql("SELECT count(*) FROM fire_perimeters WHERE acres > 1000 AND state = 'CA'")
    assert matched(client, PERIMETERS, filter=cql, **{"filter-lang": "cql2-json"}) == expected > 0


def test_property_equality_filter(client: TestClient, sql: SQL) -> None:
    expected = sql("SELECT count(*) FROM fire_detections WHERE satellite = 'Aqua'")
    assert matched(client, DETECTIONS, satellite="Aqua") == expected > 0


def test_properties_selects_columns(client: TestClient) -> None:
    body = client.get(PERIMETERS, params={"properties": "fire_name,acres", "limit": 3}).json()
    for feature in body["features"]:
        assert set(feature["properties"]) == {"fire_name", "acres"}


def test_empty_properties_returns_none(client: TestClient) -> None:
    body = client.get(PERIMETERS, params={"properties": "", "limit": 2}).json()
    assert all(feature["properties"] == {} for feature in body["features"])


def test_sortby_descending(client: TestClient, sql: SQL) -> None:
    body = client.get(PERIMETERS, params={"sortby": "-acres", "limit": 5}).json()
    acres = [f["properties"]["acres"] for f in body["features"]]
    assert acres == sorted(acres, reverse=True)
    assert acres[0] == sql("SELECT max(acres) FROM fire_perimeters")


def test_sortby_two_keys(client: TestClient, sql: SQL) -> None:
    body = client.get(DETECTIONS, params={"sortby": "satellite,-confidence", "limit": 3}).json()
    expected = sql(
        "SELECT array_agg(ARRAY[satellite, confidence::text]) FROM (SELECT satellite, confidence "
        "FROM fire_detections ORDER BY satellite, confidence DESC LIMIT 3) AS t"
    )
    # Ties on confidence may come in any order, so compare the sort keys, not ids.
    keys = [
        [f["properties"]["satellite"], str(f["properties"]["confidence"])] for f in body["features"]
    ]
    assert keys == [list(row) for row in expected]


def test_limit_above_maximum_is_clamped_and_says_so(make_app: Callable[..., Any]) -> None:
    with TestClient(make_app(max_page_size=50)) as small:
        body = small.get(DETECTIONS, params={"limit": 10**12}).json()
    assert body["numberReturned"] == 50
    self_link = next(link["href"] for link in body["links"] if link["rel"] == "self")
    assert "limit=50" in self_link and str(10**12) not in self_link
    next_link = next(link["href"] for link in body["links"] if link["rel"] == "next")
    assert "limit=50" in next_link and "after=50" in next_link  # keyset paging (keyset.py)


@pytest.mark.parametrize(
    "cql", ["id", "acres + 1", "id > 1 AND acres", "NOT fire_name", "CASEI(fire_name)", "7"]
)
def test_a_filter_that_is_not_a_condition_is_a_400(client: TestClient, cql: str) -> None:
    """A filter must be true or false for each feature; PostgreSQL refused `WHERE id` with a
    type error that became a 500 (found by tests/test_fuzz.py), in every output format."""
    for output in ("geojson", "json"):
        params = {"filter": cql, "limit": "1", "f": output}
        response = client.get("/collections/public.fire_perimeters/items", params=params)
        assert response.status_code == 400, (cql, output, response.text)
        assert "filter" in response.json()["description"]


@pytest.mark.parametrize("cql", ["true", "id > 1 AND NOT (acres < 5)", "fire_name IS NULL"])
def test_conditions_are_accepted(client: TestClient, cql: str) -> None:
    params = {"filter": cql, "limit": "1"}
    assert client.get("/collections/public.fire_perimeters/items", params=params).status_code == 200

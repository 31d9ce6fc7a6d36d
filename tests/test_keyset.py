"""Keyset paging (app/ogc/keyset.py): next links ordered by the key carry `after=<id>`; every
feature is met exactly once by following them, either direction; other orders keep offsets."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

STATIONS = "/collections/public.fire_stations/items"


def follow(client: TestClient, url: str, **params: Any) -> tuple[list[int], list[str]]:
    """Every feature id met by following next links from `url`, and the next links' queries."""
    ids: list[int] = []
    queries: list[str] = []
    response = client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [feature["id"] for feature in body["features"]]
        after = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not after:
            return ids, queries
        queries.append(urlsplit(after[0]).query)
        response = client.get(after[0])


def test_next_links_walk_every_feature_once_by_id(client: TestClient, sql: Any) -> None:
    ids, queries = follow(client, STATIONS, limit=37)
    assert ids == list(range(1, sql("SELECT count(*) FROM fire_stations") + 1))
    assert all("after" in parse_qs(q) and "offset" not in parse_qs(q) for q in queries)
    assert len(queries) == -(-len(ids) // 37) - 1  # no trailing empty page


def test_descending_by_key_walks_backwards(client: TestClient) -> None:
    ids, queries = follow(client, STATIONS, limit=50, sortby="-id")
    assert ids == list(range(400, 0, -1)) and parse_qs(queries[0])["after"] == ["351"]


def test_filters_hold_across_cursor_pages(client: TestClient, sql: Any) -> None:
    ids, _ = follow(client, STATIONS, limit=20, agency="USFS", bbox="-121,35,-118,38")
    expected = sql(
        "SELECT array_agg(id ORDER BY id) FROM fire_stations WHERE agency = 'USFS' AND"
        " ST_Intersects(ST_Transform(geom, 4326), ST_MakeEnvelope(-121, 35, -118, 38, 4326))"
    )
    assert ids == expected


def test_a_page_reached_by_offset_continues_by_cursor(client: TestClient) -> None:
    body = client.get(STATIONS, params={"limit": 10, "offset": 100}).json()
    assert [f["id"] for f in body["features"]] == list(range(101, 111))
    [after] = [link["href"] for link in body["links"] if link["rel"] == "next"]
    assert parse_qs(urlsplit(after).query)["after"] == ["110"]
    assert any(link["rel"] == "prev" for link in body["links"])


def test_other_orders_page_by_offset_in_a_total_order(client: TestClient, sql: Any) -> None:
    """`opened` has ties; the key breaks them, so offset pages neither repeat nor skip."""
    assert sql("SELECT count(*) - count(DISTINCT opened) FROM fire_stations") > 0
    ids, queries = follow(client, STATIONS, limit=7, sortby="-opened")
    expected = sql("SELECT array_agg(id ORDER BY opened DESC, id) FROM fire_stations")
    assert ids == expected and all("offset" in parse_qs(q) for q in queries)


@pytest.mark.parametrize(
    "params",
    [
        {"after": "5", "sortby": "-opened"},
        {"after": "5", "f": "csv"},
        {"after": "5", "offset": "10"},
        {"after": "five"},
        {"after": "99999999999999999999999999"},  # past int64: was a 500
        {"after": "-9223372036854775809"},
    ],
)
def test_a_cursor_that_cannot_apply_is_a_400(client: TestClient, params: dict[str, str]) -> None:
    response = client.get(STATIONS, params=params)
    assert response.status_code == 400 and "after" in response.json()["description"]

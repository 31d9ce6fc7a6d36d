"""GeoJSON written by PostgreSQL (app/ogc/geojson_items.py) is the document tipg's own encoder
wrote: for every sample collection and a table of queries, the same features in the same
order, ids, property values and types, geometries equal to the declared precision, the same
counts and links. Compared against an app with WFS3_GEOJSON_IN_SQL=false (tipg's endpoint)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient

from app.ogc import catalog, geojson_sql
from data.load import SAMPLE_COLLECTIONS

EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}".format
QUERIES: list[dict[str, Any]] = [
    {},
    {"limit": 50},
    {"limit": 7, "offset": 13},
    {"limit": 5, "sortby": "-id"},
    {"limit": 5, "properties": ""},
    {"limit": 3, "crs": EPSG(4326)},
    {"limit": 3, "crs": EPSG(3857)},
    {"limit": 3, "bbox-only": "true"},
    {"limit": 3, "simplify": "0.01"},
    {"limit": 5, "bbox": "-120,34,-116,38"},
    {"limit": 5, "bbox": "177,65,-177,70"},
    {"limit": 5, "filter": "id > 5 AND id < 12"},
    {"limit": 5, "ids": "3,1,2"},
    {"limit": 5, "filter": "id < 0"},  # nothing
]
SPECIFIC = {
    "public.fire_perimeters": [
        {"properties": "fire_name,acres", "sortby": "-acres", "limit": 20},
        {"state": "CA", "cause": "Lightning", "limit": 30},
        {"datetime": "2019-01-01T00:00:00Z/2019-12-31T23:59:59Z", "limit": 30},
    ],
    "public.fire_detections": [{"filter": "frp_mw IS NULL", "limit": 20}],
    # (a sort key without ties: tipg's order among ties is arbitrary, ours breaks them by id)
    "public.fire_stations": [{"crs": EPSG(3310), "limit": 10, "sortby": "-station_name"}],
}


@pytest.fixture(scope="module")
def apps(make_app: Callable[..., Any]) -> Iterator[tuple[TestClient, TestClient]]:
    with (
        TestClient(make_app(geojson_in_sql=True, feature_links=True)) as sql_built,
        TestClient(make_app(geojson_in_sql=False)) as tipg_built,
    ):
        yield sql_built, tipg_built


def link_set(links: list[dict[str, str]]) -> list[tuple[tuple[str, str], ...]]:
    return sorted(tuple(sorted(link.items())) for link in links)


def without_next(body: dict[str, Any]) -> list[dict[str, str]]:
    return [link for link in body["links"] if link["rel"] != "next"]


def next_link(body: dict[str, Any]) -> str | None:
    return next((link["href"] for link in body["links"] if link["rel"] == "next"), None)


def same_value(ours: Any, theirs: Any) -> bool:
    """Equal as JSON values; timestamps equal as instants (PostgreSQL writes fewer digits)."""
    if isinstance(ours, str) and isinstance(theirs, str) and ours != theirs:
        try:
            return datetime.fromisoformat(ours) == datetime.fromisoformat(theirs)
        except ValueError:
            return False
    return type(ours) is type(theirs) and ours == theirs


def same_coordinates(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(map(same_coordinates, ours, theirs))
    return bool(abs(ours - theirs) <= 1e-9 * max(1.0, abs(theirs)))


def assert_same_feature(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert ours["id"] == theirs["id"] and ours["type"] == "Feature"
    assert ours["properties"].keys() == theirs["properties"].keys(), ours["id"]
    for key, value in theirs["properties"].items():
        assert same_value(ours["properties"][key], value), (ours["id"], key)
    if theirs["geometry"] is None:
        assert ours["geometry"] is None
    else:
        assert ours["geometry"]["type"] == theirs["geometry"]["type"]
        assert same_coordinates(ours["geometry"]["coordinates"], theirs["geometry"]["coordinates"])
    assert link_set(ours.get("links", [])) == link_set(theirs.get("links", []))


def cases() -> Iterator[tuple[str, dict[str, Any]]]:
    for collection in sorted(SAMPLE_COLLECTIONS):
        for query in QUERIES + SPECIFIC.get(collection, []):
            yield collection, query


@pytest.mark.parametrize(("collection", "query"), list(cases()))
def test_items_are_the_document_tipg_wrote(
    apps: tuple[TestClient, TestClient], collection: str, query: dict[str, Any]
) -> None:
    sql_built, tipg_built = apps
    path = f"/collections/{collection}/items"
    ours, theirs = sql_built.get(path, params=query), tipg_built.get(path, params=query)
    assert (ours.status_code, theirs.status_code) == (200, 200), (ours.text, theirs.text)
    assert ours.headers["content-type"] == theirs.headers["content-type"]
    assert ours.headers.get("Content-Crs") == theirs.headers.get("Content-Crs")
    mine, tipgs = ours.json(), theirs.json()
    for key in ("type", "id", "title", "description", "numberMatched", "numberReturned"):
        assert mine[key] == tipgs[key], key
    assert link_set(without_next(mine)) == link_set(without_next(tipgs))
    assert [f["id"] for f in mine["features"]] == [f["id"] for f in tipgs["features"]]
    # Our next link may page by key (keyset.py), tipg's by offset: the same page either way.
    ours_next, tipgs_next = next_link(mine), next_link(tipgs)
    assert (ours_next is None) == (tipgs_next is None)
    if ours_next and tipgs_next:
        following = sql_built.get(ours_next).json()["features"]
        expected = tipg_built.get(tipgs_next).json()["features"]
        assert [f["id"] for f in following] == [f["id"] for f in expected]
    for feature, expected in zip(mine["features"], tipgs["features"], strict=True):
        assert_same_feature(feature, expected)


ITEM_CASES = [
    ("/collections/public.fire_perimeters/items/42", {}),
    ("/collections/public.fire_perimeters/items/42", {"properties": "fire_name"}),
    ("/collections/public.fire_stations/items/7", {"crs": EPSG(4326)}),
    ("/collections/public.monitoring_sites/items/14", {"crs": EPSG(3857)}),
    ("/collections/public.fire_lines/items/3", {"simplify": "0.001"}),
]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/collections/public.fire_perimeters/items/42", {}),
        ("/collections/public.fire_perimeters/items/42", {"properties": "fire_name"}),
        ("/collections/public.fire_stations/items/7", {"crs": EPSG(4326)}),
        ("/collections/public.monitoring_sites/items/14", {"crs": EPSG(3857)}),
        ("/collections/public.fire_lines/items/3", {"simplify": "0.001"}),
    ],
)
def test_an_item_is_the_document_tipg_wrote(
    apps: tuple[TestClient, TestClient], path: str, query: dict[str, Any]
) -> None:
    sql_built, tipg_built = apps
    ours, theirs = sql_built.get(path, params=query), tipg_built.get(path, params=query)
    assert (ours.status_code, theirs.status_code) == (200, 200)
    mine, tipgs = ours.json(), theirs.json()
    assert link_set(mine.pop("links")) == link_set(tipgs.pop("links"))
    assert_same_feature(mine, tipgs)


@pytest.mark.parametrize(
    "path",
    [
        "/collections/public.fire_perimeters/items/999999",
        "/collections/public.fire_perimeters/items/abc",
        "/collections/public.fire_perimeters/items?simplify=-1",
        "/collections/public.fire_perimeters/items?geom-column=nope",
        "/collections/public.fire_perimeters/items?sortby=nope",
    ],
)
def test_errors_are_the_same(apps: tuple[TestClient, TestClient], path: str) -> None:
    sql_built, tipg_built = apps
    ours, theirs = sql_built.get(path), tipg_built.get(path)
    assert ours.status_code == theirs.status_code and ours.status_code in (400, 404)
    assert ours.json()["description"] == theirs.json()["description"]


def test_items_of_a_collection_share_one_prepared_statement(
    make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An item's id is a parameter, not a literal: asyncpg prepares the statement once."""
    sent: list[tuple[str, tuple[Any, ...]]] = []
    fetchrow = asyncpg.Connection.fetchrow

    async def recording(self: asyncpg.Connection, query: str, *args: Any, **kw: Any) -> Any:
        sent.append((query, args))
        return await fetchrow(self, query, *args, **kw)

    monkeypatch.setattr(asyncpg.Connection, "fetchrow", recording)
    with TestClient(make_app()) as client:
        for item in (1, 2, 3):
            response = client.get(f"/collections/public.fire_perimeters/items/{item}")
            assert response.status_code == 200
    pages = [(query, args) for query, args in sent if "string_agg(feature" in query]
    assert len({query for query, _ in pages}) == 1
    assert [args for _, args in pages] == [(1,), (2,), (3,)]


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The collection of each statement catalog.py builds with page_sql, in order."""
    calls: list[str] = []

    def counting_page_sql(collection: Any, page: Any) -> tuple[str, list[Any]]:
        calls.append(collection.id)
        return geojson_sql.page_sql(collection, page)

    monkeypatch.setattr(catalog, "page_sql", counting_page_sql)
    return calls


def test_item_statements_are_built_once_per_shape_and_never_mixed(
    apps: tuple[TestClient, TestClient], built: list[str]
) -> None:
    """One statement per collection and shape (properties, crs, simplify, ...), built once:
    shapes and ids interleaved still each get the document tipg writes."""
    sql_built, tipg_built = apps
    for step in range(4):  # each shape with its id, then its id + 1, twice over
        for path, query in ITEM_CASES:
            collection_path, item = path.rsplit("/", 1)
            path = f"{collection_path}/{int(item) + step % 2}"
            ours, theirs = sql_built.get(path, params=query), tipg_built.get(path, params=query)
            assert (ours.status_code, theirs.status_code) == (200, 200), path
            mine, tipgs = ours.json(), theirs.json()
            assert link_set(mine.pop("links")) == link_set(tipgs.pop("links"))
            assert_same_feature(mine, tipgs)
    assert len(built) <= len(ITEM_CASES)  # 20 requests; the module's app may know some shapes


PAGE_CASES: list[dict[str, Any]] = [
    {"limit": 5},
    {"limit": 5, "offset": 5},
    {"limit": 3, "crs": EPSG(3857)},
    {"limit": 4, "properties": ""},
]


def test_plain_pages_are_built_once_per_shape_and_never_mixed(
    apps: tuple[TestClient, TestClient], built: list[str]
) -> None:
    """A page with no filter has one statement per collection and shape, built once; its
    feature links (URLs with the request's host) are parameters, never part of the text."""
    sql_built, tipg_built = apps
    for host in ("one.example", "two.example", "one.example"):
        for collection in sorted(SAMPLE_COLLECTIONS):
            for query in PAGE_CASES:
                path, headers = f"/collections/{collection}/items", {"host": host}
                ours = sql_built.get(path, params=query, headers=headers)
                theirs = tipg_built.get(path, params=query, headers=headers)
                assert (ours.status_code, theirs.status_code) == (200, 200), path
                mine, tipgs = ours.json()["features"], theirs.json()["features"]
                assert [f["id"] for f in mine] == [f["id"] for f in tipgs]
                for feature, expected in zip(mine, tipgs, strict=True):
                    assert_same_feature(feature, expected)
    assert len(built) <= len(SAMPLE_COLLECTIONS) * len(PAGE_CASES)

"""Plans (app/ogc/plans.py): an item or a page answered from its plan is the answer the general
way gives, byte for byte (but a page's time stamp) and header for header; where a plan cannot
answer, the general way does.

The general way is asked for with an If-None-Match that matches nothing: a conditional request
never takes the plan, and a tag that matches nothing gets the full 200 answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.factory import create_app
from app.ogc.plans import ItemPlan, ItemsPlan
from harness.database import fresh_schema, make_settings
from tests.test_etags import with_data_unchanged

LINES = "public.fire_lines"
GENERAL = {"If-None-Match": 'W/"matches-nothing"'}
COMPARED = ("etag", "content-type", "content-length", "content-crs")
QUERIES = [
    "",
    "?crs=http://www.opengis.net/def/crs/EPSG/0/3857",
    "?properties=id",
    "?f=geojson",
    "?bbox-only=true",
]
WORDS_SCHEMA = "wfs3_words"
# Ids of a text key: plain, a space and a non-ASCII letter (escaped in the URL and the links),
# and ids a link would have to escape ("?", "#"), which only the general way answers.
WORDS = ["ember", "red flag", "brûlé", "why?", "c#"]


def _plans(app: FastAPI, collection_id: str, kind: type = ItemPlan) -> list[Any]:
    collection = app.state.collection_catalog["collections"][collection_id]
    return [value for value in collection.queries.values() if isinstance(value, kind)]


def _both_ways(client: TestClient, sql: Callable[..., Any], path: str) -> tuple[Any, Any]:
    return with_data_unchanged(sql, lambda: (client.get(path), client.get(path, headers=GENERAL)))


def _assert_same(planned: Any, general: Any) -> None:
    assert planned.status_code == general.status_code
    compared = COMPARED
    if b'"timeStamp"' in planned.content:
        # A page's time stamp is the time it was answered (and its length varies): all else
        # is the same.
        assert {**planned.json(), "timeStamp": 0} == {**general.json(), "timeStamp": 0}
        compared = tuple(h for h in COMPARED if h != "content-length")
    else:
        assert planned.content == general.content
    assert [planned.headers.get(h) for h in compared] == [general.headers.get(h) for h in compared]


def test_a_plan_is_made_once_per_query_and_base_url(make_app: Callable[..., FastAPI]) -> None:
    app = make_app()
    with TestClient(app) as client:
        for item_id in (1, 2, 3):
            for host in ("a.example", "b.example"):
                response = client.get(
                    f"/collections/{LINES}/items/{item_id}", headers={"host": host}
                )
                assert host in response.json()["links"][0]["href"]
        plans = _plans(app, LINES)
    assert len(plans) == 2


def test_a_missing_item_is_the_general_ways_404(client: TestClient) -> None:
    planned = client.get(f"/collections/{LINES}/items/999999")
    general = client.get(f"/collections/{LINES}/items/999999", headers=GENERAL)
    assert planned.status_code == general.status_code == 404
    assert planned.json()["code"] == general.json()["code"] == "NotFound"
    assert planned.json()["description"] == general.json()["description"]


def test_html_is_answered_the_general_way(make_app: Callable[..., FastAPI]) -> None:
    app = make_app()
    with TestClient(app) as client:
        response = client.get(f"/collections/{LINES}/items/2?f=html")
        plans = _plans(app, LINES)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert [plan.shaped for plan in plans] == [None]


@pytest.fixture(scope="module")
def words(database_url: str, reader_url: str) -> Iterator[tuple[FastAPI, TestClient]]:
    rows = ", ".join(
        f"('{word}', ST_MakePoint({i}, {i})::geometry(Point, 4326))" for i, word in enumerate(WORDS)
    )
    fresh_schema(
        database_url,
        WORDS_SCHEMA,
        f"CREATE TABLE {WORDS_SCHEMA}.words (word text PRIMARY KEY, geom geometry(Point, 4326))",
        f"INSERT INTO {WORDS_SCHEMA}.words VALUES {rows}",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WFS3_DB_SCHEMAS", WORDS_SCHEMA)
        app = create_app(make_settings(reader_url))
    with TestClient(app) as client:
        yield app, client


@pytest.mark.parametrize("word", WORDS)
def test_a_text_key_is_answered_alike_either_way(
    words: tuple[FastAPI, TestClient], sql: Callable[..., Any], word: str
) -> None:
    _, client = words
    planned, general = _both_ways(
        client, sql, f"/collections/{WORDS_SCHEMA}.words/items/{quote(word)}"
    )
    assert planned.status_code == 200, planned.text
    assert planned.json()["id"] == word
    _assert_same(planned, general)


PAGES = [
    "",
    "?limit=5",
    "?limit=5&offset=5",
    "?limit=100000",  # above the maximum: the page size as served, in the links and the ETag
    "?sortby=-id&limit=3",
    "?crs=http://www.opengis.net/def/crs/EPSG/0/3857&limit=2",
    "?properties=id&limit=2",
    "?limit=2&f=geojson",
]


# (path below the collection, the plan's kind): every item query and every page query.
PLANNED = [(f"/items/2{query}", ItemPlan) for query in QUERIES] + [
    (f"/items{query}", ItemsPlan) for query in PAGES
]


@pytest.mark.parametrize(("path", "kind"), PLANNED)
def test_a_planned_answer_is_the_general_ways(
    make_app: Callable[..., FastAPI], sql: Callable[..., Any], path: str, kind: type
) -> None:
    app = make_app()
    with TestClient(app) as client:
        planned, general = _both_ways(client, sql, f"/collections/{LINES}{path}")
        plans = _plans(app, LINES, kind)
    assert planned.status_code == 200, planned.text
    _assert_same(planned, general)
    assert [plan.shaped is not None for plan in plans] == [True]


@pytest.mark.parametrize("query", ["?bbox=-120,30,-100,40", "?after=5", "?id=3", "?f=html"])
def test_a_page_whose_statement_holds_the_request_is_the_general_ways(
    make_app: Callable[..., FastAPI], query: str
) -> None:
    app = make_app()
    with TestClient(app) as client:
        response = client.get(f"/collections/{LINES}/items{query}")
        plans = _plans(app, LINES, ItemsPlan)
    assert response.status_code == 200, response.text
    assert [plan.shaped for plan in plans] == [None]

"""The fast lane (app/ogc/fast_lane.py) answers the common GeoJSON items and item requests
exactly as tipg's routes do, and leaves every other request to them.

Two apps with the same settings: one as served, one with the lanes taken out. The lanes count
the requests they serve, so each test says which path a request took."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from app.ogc.fast_items import ITEM_PATH, ITEMS_PATH
from app.ogc.fast_lane import FastLaneRoute
from data.load import SAMPLE_COLLECTIONS

CQL2_JSON = '{"op":"<","args":[{"property":"id"},4]}'
# Queries the lane takes; {after} is filled with the cursor of the collection's first page.
LANE_QUERIES: list[tuple[str, dict[str, str]]] = [
    ("", {}),
    ("limit=5", {}),
    ("limit=7&offset=13", {}),
    ("limit=3&offset=0", {}),
    ("limit=100000", {}),  # clamped to the maximum by paging.py
    ("limit=5&f=geojson", {"accept": "text/html"}),
    ("limit=5", {"accept": "application/geo+json"}),
    ("limit=5", {"accept": "*/*"}),
    ("limit=5&bbox=-125,30,-110,45", {}),
    ("limit=5&bbox=177,65,-177,70", {}),
    ("limit=5&after={after}", {}),
    ("limit=5&bbox=1,2,3", {}),  # refused by bbox_query itself, as on tipg's route
    ("limit=5&bbox=10,0,0,10", {}),
    ("limit=5&after=not-a-number", {}),
    ("limit=5&sortby=-id", {}),
    ("limit=5&ids=3,1,2", {}),
    ("limit=5&properties=", {}),
    ("limit=5&properties=id", {}),
    ("limit=5&properties=nope", {}),
    ("limit=5&filter=id > 5 AND id < 12", {}),
    ("limit=5&filter=id >", {}),
    ("limit=5&filter-lang=cql2-json&filter={cql2_json}", {}),
    ("limit=5&datetime=2019-01-01T00:00:00Z/..", {}),
    ("limit=5&datetime=yesterday", {}),
    ("limit=5&crs=http://www.opengis.net/def/crs/EPSG/0/3857", {}),
    ("limit=5&crs=http://www.opengis.net/def/crs/EPSG/0/9999", {}),
    ("limit=5&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326&bbox=30,-125,45,-110", {}),
    ("limit=5&bbox-crs=urn:nope&bbox=0,0,1,1", {}),
    ("limit=5&bbox=1,2,3&filter=id >", {}),  # two errors: the route's first is the lane's
]
# Queries it leaves to tipg's route: another parameter, a value FastAPI validates, a format.
ROUTE_QUERIES: list[tuple[str, dict[str, str]]] = [
    ("limit=abc", {}),
    ("limit=0", {}),
    ("limit=-1", {}),
    ("limit=+5", {}),
    ("offset=-1", {}),
    ("limit=5&limit=6", {}),
    ("limit=5&foo=1", {}),
    ("limit=5&state=CA", {}),
    ("limit=5&filter-lang=cql-text&filter=id > 1", {}),
    ("limit=5&bbox-only=true", {}),
    ("limit=5&simplify=0.1", {}),
    ("limit=5&f=html", {}),
    ("limit=5&f=json", {}),
    ("limit=5&f=csv", {}),
    ("limit=5", {"accept": "text/html"}),
    ("limit=5", {"accept": "application/json"}),
    ("limit=5&after=3&offset=5", {}),
    ("limit=5&after=", {}),
    ("limit=5&bbox=0,0,1,1%00", {}),
]


Apps = tuple[TestClient, TestClient, list[Request]]


def lanes_of(app: FastAPI) -> list[FastLaneRoute]:
    return [route for route in app.router.routes if isinstance(route, FastLaneRoute)]


def counting(app: FastAPI) -> list[Request]:
    """Every request the app's lanes serve, in order."""
    served: list[Request] = []
    for lane in lanes_of(app):

        async def serve(request: Request, query: dict[str, str], inner: Any = lane.serve) -> Any:
            served.append(request)
            return await inner(request, query)

        lane.serve = serve
    return served


@pytest.fixture(scope="module")
def apps(make_app: Callable[..., FastAPI]) -> Iterator[Apps]:
    laned, routed = make_app(), make_app()
    routed.router.routes[:] = [r for r in routed.router.routes if r not in lanes_of(routed)]
    served = counting(laned)
    with TestClient(laned) as fast, TestClient(routed) as slow:
        yield fast, slow, served


def comparable(response: Any) -> tuple[Any, ...]:
    """Status, the headers a client reads, and the body without what differs per request."""
    body = response.json()
    for volatile in ("timeStamp", "traceId"):
        if isinstance(body, dict):
            body.pop(volatile, None)
    headers = tuple(response.headers.get(h) for h in ("content-type", "content-crs", "link"))
    return response.status_code, headers, body


def first_cursor(client: TestClient, collection: str) -> str:
    body = client.get(f"/collections/{collection}/items?limit=5").json()
    href = next(link["href"] for link in body["links"] if link["rel"] == "next")
    return href.split("after=")[1].split("&")[0]


@pytest.mark.parametrize("collection", SAMPLE_COLLECTIONS)
def test_the_lane_answers_as_tipgs_route(apps: Apps, collection: str) -> None:
    fast, slow, served = apps
    after = first_cursor(slow, collection)
    for query, headers in LANE_QUERIES:
        url = f"/collections/{collection}/items?{query.format(after=after, cql2_json=CQL2_JSON)}"
        before = len(served)
        assert comparable(fast.get(url, headers=headers)) == comparable(
            slow.get(url, headers=headers)
        ), url
        assert len(served) == before + 1, f"{url} did not take the lane"


@pytest.mark.parametrize("collection", SAMPLE_COLLECTIONS)
def test_one_item_by_the_lane(apps: Apps, collection: str) -> None:
    fast, slow, served = apps
    first = slow.get(f"/collections/{collection}/items?limit=1").json()["features"][0]["id"]
    for suffix in (
        f"{first}",
        f"{first}?f=geojson",
        f"{first}?properties=",
        f"{first}?properties=nope",
        f"{first}?crs=http://www.opengis.net/def/crs/EPSG/0/3857",
        "999999999",
        "not-an-id",
    ):
        url = f"/collections/{collection}/items/{suffix}"
        before = len(served)
        assert comparable(fast.get(url)) == comparable(slow.get(url)), url
        assert len(served) == before + 1, f"{url} did not take the lane"


def test_other_requests_go_to_tipgs_route(
    apps: Apps,
) -> None:
    fast, slow, served = apps
    before = len(served)
    for query, headers in ROUTE_QUERIES:
        url = f"/collections/public.fire_perimeters/items?{query}"
        ours, theirs = fast.get(url, headers=headers), slow.get(url, headers=headers)
        assert ours.status_code == theirs.status_code, url
        if ours.headers["content-type"].endswith("json"):
            assert comparable(ours) == comparable(theirs), url
    for url in (
        "/collections/public.nope/items?limit=5",
        "/collections/public.nope/items/1",
        "/collections/public.fire_perimeters/items/1?f=html",
        "/collections/public.fire_perimeters/items/1?bbox-only=true",
    ):
        assert fast.get(url).status_code == slow.get(url).status_code, url
    assert len(served) == before, "a request the lane should leave to tipg's route took it"


def test_the_lane_names_spans_and_metrics_by_tipgs_route(
    apps: Apps,
) -> None:
    """The route in the scope (read by app/otel/middleware.py) carries tipg's template."""
    _, _, served = apps
    paths = {lane.path for lane in lanes_of(apps[0].app)}  # type: ignore[arg-type]
    assert paths == {ITEMS_PATH, ITEM_PATH}
    assert {request.scope["route"].path for request in served} <= paths

"""The edge (app/edge.py): the items and item routes it tries first are the router's own, and a
request they do not take goes on to the app as before."""

from __future__ import annotations

from collections.abc import Callable
from itertools import product
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Match, Route

from app.edge import Edge, FirstRoutes
from app.factory import create_app
from app.proxy import ProxyHeaders
from harness.database import make_settings

ITEMS = "/collections/public.fire_perimeters/items"
# Paths as the server hands them on (percent-decoded), near the two templates and far from them.
PATHS = [
    *(ITEMS, f"{ITEMS}/1", f"{ITEMS}/", f"{ITEMS}//1", f"{ITEMS}/1/", f"{ITEMS}/1/2"),
    *(
        "/collections//items",
        "/collections//items/1",
        "/collections/x/items/a b",
        "/collections/é/items/ü",
    ),
    *(
        "/collections/x/item",
        "/collections/x/Items/1",
        "/collection/x/items",
        "collections/x/items",
    ),
    *("/", "", "/collections", "/collections/x", "/collections/x/items?", "/x/collections/y/items"),
]
ROOTS = ["", "/wfs", "/wfs/", "/collections", "/collections/x/items"]


def _edge(app: Any) -> Edge:
    """The app's Edge, under the test harness's recorder of error bodies (conftest.py)."""
    layer = app.build_middleware_stack()
    while not isinstance(layer, Edge):
        layer = layer.app
    return layer


def _first_routes(app: Any) -> list[Route]:
    first = _edge(app).inner[False, False]
    assert isinstance(first, FirstRoutes)
    return [first.items, first.item]


def test_the_edge_is_the_outermost_layer(reader_url: str) -> None:
    """In place of Starlette's ServerErrorMiddleware (factory.py), in front of the app's own."""
    app: Any = create_app(make_settings(reader_url))
    stack = app.build_middleware_stack()
    assert type(stack) is Edge
    layers, layer = [], stack.app
    while layer is not app.router:
        layers.append(type(layer).__name__)
        layer = layer.app
    assert "ServerErrorMiddleware" not in layers
    assert {"MetadataMiddleware", "ExceptionMiddleware"} <= set(layers)


def test_the_first_routes_are_the_routers_items_and_item_routes(
    make_app: Callable[..., Any],
) -> None:
    app = make_app()
    first = _first_routes(app)
    assert [route.name for route in first] == ["items", "item"]
    assert all(any(route is held for held in app.router.routes) for route in first)


def test_the_edge_matches_as_the_router_does(make_app: Callable[..., Any]) -> None:
    """FirstRoutes matches by the path's segments what the routes' own matching takes, for paths
    under the root path and beside it."""
    items, item = _first_routes(make_app())
    first = FirstRoutes(lambda *_: None, items, item)
    matched = set()
    for method, root, path, under in product(("GET", "HEAD", "POST"), ROOTS, PATHS, (True, False)):
        scope = {"type": "http", "method": method, "path": root + path if under else path}
        scope["root_path"] = root
        theirs = [
            (route, child["path_params"])
            for route in (items, item)
            for match, child in [route.matches(scope)]
            if match is Match.FULL
        ]
        route = first.matched(scope)
        ours = [] if route is None else [(route, scope["path_params"])]
        assert ours == theirs, (method, root, path, under)
        matched |= {(route.name, method, bool(root), under) for route, _ in theirs}
    assert (
        len(matched) == 2 * 2 * 2 * 2
    )  # each route, by GET and HEAD, with a root or none, under it or beside


def test_a_wrong_method_on_a_first_route_is_the_routers_405(client: TestClient) -> None:
    for path in (ITEMS, f"{ITEMS}/1"):
        response = client.post(path)
        assert response.status_code == 405, path
        assert response.json()["code"] == "MethodNotAllowed"


def test_head_is_answered_by_the_first_routes_as_get_is(client: TestClient) -> None:
    get, head = client.get(f"{ITEMS}/1"), client.head(f"{ITEMS}/1")
    assert head.status_code == get.status_code == 200
    assert head.headers["etag"] == get.headers["etag"]
    assert head.content == b""


def test_an_error_on_a_first_route_is_answered_by_the_registered_handler(
    client: TestClient,
) -> None:
    response = client.get(ITEMS, params={"bbox": "1,2,3"})
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameterValue"
    assert "cache-control" not in response.headers


def test_a_fault_in_the_edges_own_steps_is_a_json_500(
    make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No layer stands outside the edge (factory.py): it answers its own faults too."""

    def broken(self: Any, scope: Any) -> Any:
        raise RuntimeError("a fault in the proxy step")

    monkeypatch.setattr(ProxyHeaders, "applied", broken)
    with TestClient(make_app(), raise_server_exceptions=False) as client:
        response = client.get("/conformance")
    assert response.status_code == 500
    assert response.json()["code"] == "ServerError"
    assert "proxy step" not in response.text


def test_the_first_routes_are_known_data_without_matching_the_path(
    make_app: Callable[..., Any],
) -> None:
    """CacheControl skips its path regex for the items and item routes: their templates match
    paths.NOT_CACHED, so every path they serve would (tests/test_web.py checks the answers)."""
    app = make_app()
    data_routes = _edge(app).cache_control.data_routes
    assert data_routes == {id(route) for route in _first_routes(app)}

"""Memoised link building (app/ogc/links.py) gives exactly the URLs tipg's own url_for gives."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request
from tipg.factory import OGCFeaturesFactory

from app.ogc.links import ID_MARKER, LinkCachingFactory

# What LinkCachingFactory resolves names through: the app's router (here one holding tipg's
# routes, whose names and paths the served app's routes keep).
APP = SimpleNamespace(router=OGCFeaturesFactory().router)
ODD_IDS = [1, 42, "a b", "é", "%2F", "x?y#z", "{itemId}", ID_MARKER, "..", 3.5]


def request(host: bytes = b"example.org:8080", root_path: str = "") -> Request:
    return Request(
        {
            "type": "http",
            "scheme": "https",
            "server": ("10.0.0.1", 80),
            "path": "/collections/public.x/items",
            "root_path": root_path,
            "headers": [(b"host", host)],
            "query_string": b"limit=3",
            "app": APP,
        }
    )


@pytest.mark.parametrize("root_path", ["", "/wfs"])
def test_same_urls_as_tipg(root_path: str) -> None:
    stock, ours = OGCFeaturesFactory(), LinkCachingFactory()
    stock_request, our_request = request(root_path=root_path), request(root_path=root_path)
    for collection in ("public.fire_perimeters", "public.ü x", f"public.{ID_MARKER}"):
        for _ in range(2):  # the second round is served from the cache
            for item_id in ODD_IDS:
                expected = stock.url_for(
                    stock_request, "item", collectionId=collection, itemId=item_id
                )
                got = ours.url_for(our_request, "item", collectionId=collection, itemId=item_id)
                assert got == expected
            for name in ("collection", "items", "queryables"):
                expected = stock.url_for(stock_request, name, collectionId=collection)
                assert ours.url_for(our_request, name, collectionId=collection) == expected
    assert ours.url_for(our_request, "landing") == stock.url_for(stock_request, "landing")


def test_urls_are_reused_only_for_the_same_base_url() -> None:
    """One factory serves every request: each gets the URLs of its own scheme, host and root."""
    stock, ours = OGCFeaturesFactory(), LinkCachingFactory()
    bases = [(b"a.example", ""), (b"b.example:81", ""), (b"a.example", "/wfs"), (b"a.example", "")]
    for host, root_path in bases * 2:
        for item_id in (None, 7):
            params = {"collectionId": "public.x"} | ({"itemId": item_id} if item_id else {})
            name = "item" if item_id else "collection"
            expected = stock.url_for(request(host, root_path), name, **params)
            assert ours.url_for(request(host, root_path), name, **params) == expected


@pytest.mark.parametrize("bad_id", ["", "a/b"])
def test_ids_starlette_refuses_fail_the_same_way(bad_id: str) -> None:
    for factory in (OGCFeaturesFactory(), LinkCachingFactory()):
        with pytest.raises(AssertionError):
            factory.url_for(request(), "item", collectionId="public.x", itemId=bad_id)


@pytest.fixture(scope="module")
def linking_client(make_app: Callable[..., Any]) -> Iterator[TestClient]:
    with TestClient(make_app(feature_links=True)) as linking:
        yield linking


def test_features_carry_no_links_by_default(client: TestClient) -> None:
    """WFS3_FEATURE_LINKS is off by default (docs/operations.md says why)."""
    page = client.get("/collections/public.fire_perimeters/items", params={"limit": 3}).json()
    assert page["numberReturned"] == 3 and not any("links" in f for f in page["features"])


def test_every_item_link_of_a_page_leads_to_that_item(linking_client: TestClient) -> None:
    client = linking_client
    page: dict[str, Any] = client.get(
        "/collections/public.fire_perimeters/items", params={"limit": 20}
    ).json()
    assert page["numberReturned"] == 20
    for feature in page["features"]:
        links = {link["rel"]: link["href"] for link in feature["links"]}
        base = "http://testserver/collections/public.fire_perimeters"
        assert links == {"collection": base, "item": f"{base}/items/{feature['id']}"}
        assert client.get(links["item"]).json()["id"] == feature["id"]

"""app/ogc/envelopes.py: what is built once and filled per request is what building it each
time gives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from starlette.requests import Request

from app.ogc.envelopes import Envelopes, PairEncoder, _filled, with_query
from app.ogc.geojson_sql import GeoJsonPage
from app.ogc.items_query import CURSOR
from app.ogc.links import LinkCachingFactory

COLLECTION = "public.fire_perimeters"
IDS = ["5", "abc", "a b", 'q"uote', "tab\there", "ü", "%2F", "x" * 300, "1,2", "\x00wfs3"]


def _request(app: Any, query: bytes = b"", host: bytes = b"example.org") -> Request:
    scope = {
        "type": "http", "method": "GET", "scheme": "https", "path": "/", "root_path": "",
        "query_string": query, "headers": [(b"host", host)], "server": ("10.0.0.1", 443),
        "app": app,
    }  # fmt: skip
    return Request(scope)


@pytest.fixture(scope="module")
def envelopes() -> Envelopes:
    return Envelopes(LinkCachingFactory())


@pytest.mark.parametrize("item_id", IDS)
def test_an_items_links_from_the_template_are_those_built_the_long_way(
    make_app: Callable[..., Any], envelopes: Envelopes, item_id: str
) -> None:
    request = _request(make_app())
    filled = envelopes.item_links(request, COLLECTION, item_id)
    assert filled == orjson.dumps(envelopes._item_links(request, COLLECTION, item_id))
    links = orjson.loads(filled)
    assert links[1]["href"] == f"https://example.org/collections/{COLLECTION}/items/{item_id}"


def test_item_templates_are_kept_per_base_url(
    make_app: Callable[..., Any], envelopes: Envelopes
) -> None:
    app = make_app()
    one = envelopes.item_links(_request(app, host=b"one.example"), COLLECTION, "7")
    two = envelopes.item_links(_request(app, host=b"two.example"), COLLECTION, "7")
    assert b"one.example" in one and b"two.example" in two and b"one.example" not in two


class _Collection:
    """What a page's head reads of a collection."""

    def __init__(self, id: str, title: str, description: str | None) -> None:
        self.id, self.title, self.description = id, title, description


@pytest.mark.parametrize("matched", [17, None])
def test_a_page_document_holds_its_parts_in_order(
    make_app: Callable[..., Any], envelopes: Envelopes, matched: int | None
) -> None:
    request = _request(make_app(), b"limit=2&bbox=-120,34,-116,38")
    parts = envelopes.page_parts(request, _Collection(COLLECTION, "Perimeters", None))
    features = b'{"type":"Feature","id":1},{"type":"Feature","id":2}'
    page = GeoJsonPage(returned=2, features=features, more=True, matched=matched)
    paging = [{"href": "https://example.org/next", "rel": "next"}]
    document = orjson.loads(parts.document(page, paging))
    keys = ["type", "id", "title", "description", "numberMatched", "numberReturned"]
    keys = [key for key in keys if key != "numberMatched" or matched is not None]
    assert list(document) == [*keys, "timeStamp", "links", "features"]
    assert document["id"] == COLLECTION and document["description"] == "Perimeters"
    assert document.get("numberMatched") == matched and document["numberReturned"] == 2
    rels = [link["rel"] for link in document["links"]]
    assert rels == ["collection", "self", "next", "alternate", "alternate", "alternate"]
    self_href = document["links"][1]["href"]
    assert self_href.endswith("/items?limit=2&bbox=-120%2C34%2C-116%2C38")
    assert [feature["id"] for feature in document["features"]] == [1, 2]


def test_page_parts_are_kept_per_query(make_app: Callable[..., Any], envelopes: Envelopes) -> None:
    app, collection = make_app(), _Collection(COLLECTION, "Perimeters", None)
    two = envelopes.page_parts(_request(app, b"limit=2"), collection)
    three = envelopes.page_parts(_request(app, b"limit=3"), collection)
    assert two is envelopes.page_parts(_request(app, b"limit=2"), collection)
    assert b"limit=2" in two.first_links and b"limit=3" in three.first_links


QUERIES = [
    b"",
    b"limit=2",
    b"limit=2&offset=4&bbox=1,2,3,4",
    b"offset=2&f=json&offset=3",
    b"after=9",
]


@pytest.mark.parametrize("query", QUERIES)
def test_paging_hrefs_from_templates_are_those_urlencode_builds(
    make_app: Callable[..., Any], envelopes: Envelopes, query: bytes
) -> None:
    request = _request(make_app(), query)
    parts = envelopes.page_parts(request, _Collection(COLLECTION, "Perimeters", None))
    pairs = request.query_params.multi_items()
    items_url = f"https://example.org/collections/{COLLECTION}/items"
    without_offset = {k: v for k, v in pairs if k != "offset"}
    for value in [0, 7, -1, "abc", "a b/é&x=1"]:
        expected = {
            parts.next_by_offset: {**dict(pairs), "offset": str(value)},
            parts.next_by_cursor: {**without_offset, CURSOR: str(value)},
            parts.previous: {**without_offset, "offset": str(value)},
        }
        for template, query_dict in expected.items():
            assert _filled(template, value) == with_query(items_url, query_dict)


ODD_PAIRS = [
    [],
    [("limit", "10")],
    [("bbox", "-125,30,-110,45"), ("filter", "state = 'CA' AND acres > 500")],
    [("a b", "c&d=e"), ("ü", "%2F/?#"), ("nul", "\x00"), ("empty", ""), ("a b", "c&d=e")],
    [("f", "json"), ("f", "html"), ("plus", "1+1"), ("tilde", "~._-")],
]


@pytest.mark.parametrize("pairs", ODD_PAIRS)
def test_the_pair_encoder_is_urlencode(pairs: list[tuple[str, str]]) -> None:
    encode = PairEncoder()
    assert encode(pairs) == urlencode(pairs)
    assert encode(pairs) == urlencode(pairs), "the second time, from its quoted pairs"

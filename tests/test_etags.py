"""Conditional GETs (app/ogc/etags.py): weak ETags, 304s, and a new ETag as soon as data changes;
a 304 for items costs no feature query (counted statements)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import asyncpg
import pytest
from fastapi.testclient import TestClient

from app.ogc.etags import matches

METADATA = [
    "/",
    "/conformance",
    "/collections",
    "/collections/public.fire_perimeters",
    "/collections/public.fire_perimeters/queryables",
    "/collections?f=html",
]
ITEMS = "/collections/public.fire_lines/items"
DATA = [f"{ITEMS}?limit=3", f"{ITEMS}?limit=3&properties=id", f"{ITEMS}/2", ITEMS]
SNAPSHOT = "SELECT pg_current_snapshot()::text"
TRIES = 5
T = TypeVar("T")


def with_data_unchanged(sql: Callable[..., Any], exchange: Callable[[], T]) -> T:
    """exchange()'s result from a try during which nothing committed in the cluster.

    A data ETag holds the cluster's snapshot, which any commit anywhere moves (autovacuum's
    ANALYZE after an earlier test's writes, a new pool connection's set-up): by design the ETag
    then changes and the answer is a 200. What these tests check is the answer while the data
    PostgreSQL shows stays the same, so a try that saw the snapshot move is made again."""
    for _ in range(TRIES):
        before = sql(SNAPSHOT)
        result = exchange()
        if sql(SNAPSHOT) == before:
            return result
    pytest.fail(f"something committed during each of {TRIES} tries")


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement the app sends, as asyncpg's connection methods see it."""
    sent: list[str] = []
    for name in ("fetch", "fetchrow", "fetchval"):
        original = getattr(asyncpg.Connection, name)

        def recording(
            self: Any, query: str, *args: Any, _original: Any = original, **kw: Any
        ) -> Any:
            sent.append(query)
            return _original(self, query, *args, **kw)

        monkeypatch.setattr(asyncpg.Connection, name, recording)
    yield sent


@pytest.mark.parametrize("path", METADATA + DATA)
def test_a_matching_etag_gets_a_304_without_a_body(
    client: TestClient, sql: Callable[..., Any], path: str
) -> None:
    def exchange() -> tuple[Any, Any]:
        first = client.get(path)
        return first, client.get(path, headers={"If-None-Match": first.headers["etag"]})

    first, again = with_data_unchanged(sql, exchange)
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers.get("cache-control") == first.headers.get("cache-control")
    for other in ('W/"nope"', '"nope", W/"other"'):
        assert client.get(path, headers={"If-None-Match": other}).status_code == 200


@pytest.mark.parametrize("path", ["/collections", f"{ITEMS}?limit=20"])
def test_the_etag_is_the_same_for_gzip_and_plain(
    client: TestClient, sql: Callable[..., Any], path: str
) -> None:
    def exchange() -> tuple[Any, Any, Any]:
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
        condition = {"If-None-Match": plain.headers["etag"], "Accept-Encoding": "gzip"}
        return plain, zipped, client.get(path, headers=condition)

    plain, zipped, not_modified = with_data_unchanged(sql, exchange)
    assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert plain.headers["etag"] == zipped.headers["etag"]
    assert not_modified.status_code == 304 and "content-encoding" not in not_modified.headers


def test_different_answers_have_different_etags(client: TestClient) -> None:
    etags = {client.get(path).headers["etag"] for path in DATA}
    assert len(etags) == len(DATA)
    html = client.get(f"{ITEMS}?limit=3&f=html")
    assert html.status_code == 200 and "etag" not in html.headers  # items in HTML: no validator


@pytest.mark.parametrize("path", DATA[:3])
def test_an_items_304_sends_no_feature_query(
    client: TestClient, sql: Callable[..., Any], statements: list[str], path: str
) -> None:
    def exchange() -> tuple[int, list[str]]:
        etag = client.get(path).headers["etag"]
        statements.clear()
        status = client.get(path, headers={"If-None-Match": etag}).status_code
        return status, list(statements)

    assert with_data_unchanged(sql, exchange) == (304, [SNAPSHOT])


def test_a_changed_row_changes_the_etag_at_once(
    client: TestClient, sql: Callable[..., Any]
) -> None:
    path = f"{ITEMS}/2"
    before = client.get(path)
    sql("UPDATE public.fire_lines SET line_type = line_type || ' (renamed)' WHERE id = 2")
    try:
        after = client.get(path, headers={"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200, "the old ETag must not match changed data"
        assert after.json()["properties"]["line_type"].endswith(" (renamed)")
        assert after.headers["etag"] != before.headers["etag"]
    finally:
        sql("UPDATE public.fire_lines SET line_type = left(line_type, -10) WHERE id = 2")
    assert client.get(path).json()["properties"] == before.json()["properties"]


def test_an_error_has_no_etag(client: TestClient) -> None:
    for path in ("/collections/public.nope", f"{ITEMS}?limit=0", f"{ITEMS}/999999"):
        response = client.get(path, headers={"If-None-Match": "*"})
        assert response.status_code in (400, 404) and "etag" not in response.headers


def test_weak_comparison() -> None:
    assert matches('W/"a"', 'W/"a"') and matches('"a"', 'W/"a"') and matches("*", 'W/"a"')
    assert matches('W/"b", W/"a"', 'W/"a"') and not matches('W/"b"', 'W/"a"')


@pytest.mark.parametrize("path", [f"{ITEMS}?limit=3", f"{ITEMS}/2"])
def test_data_etags_differ_by_base_url_and_agree_for_the_same_one(
    client: TestClient, sql: Callable[..., Any], path: str
) -> None:
    """The links of a page hold its base URL (scheme, host, root path): one ETag per base URL."""
    bases = ["http://a.example", "http://b.example", "https://a.example", "http://a.example"]

    def exchange() -> list[str]:
        return [client.get(f"{base}{path}").headers["etag"] for base in bases]

    first_a, b, secure_a, second_a = with_data_unchanged(sql, exchange)
    assert len({first_a, b, secure_a}) == 3
    assert first_a == second_a

"""What browsers and caches see: CORS, compression on request, Cache-Control on metadata."""

from __future__ import annotations

from fastapi.testclient import TestClient

ITEMS = "/collections/public.fire_perimeters/items"


def test_cors_allows_any_origin_for_reads(client: TestClient) -> None:
    response = client.get("/collections", headers={"Origin": "https://map.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = client.options(
        ITEMS,
        headers={"Origin": "https://map.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["access-control-allow-methods"]


def test_compression_only_when_asked(client: TestClient) -> None:
    gzip = client.get(ITEMS, params={"limit": 50}, headers={"Accept-Encoding": "gzip"})
    assert gzip.headers["content-encoding"] == "gzip"
    assert gzip.json()["numberReturned"] == 50
    plain = client.get(ITEMS, params={"limit": 50}, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


def test_cache_control_on_metadata_not_on_features(client: TestClient) -> None:
    for path in ("/", "/conformance", "/collections", "/collections/public.fire_lines"):
        assert client.get(path).headers["cache-control"] == "public, max-age=60", path
    for path in (ITEMS, f"{ITEMS}/1", "/healthz", "/readyz"):
        assert "cache-control" not in client.get(path).headers, path


def test_errors_are_not_cached(client: TestClient) -> None:
    assert "cache-control" not in client.get("/collections/public.nope").headers

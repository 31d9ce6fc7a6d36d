"""Metadata rendered once per catalog, base URL and format (app/ogc/metadata.py): the middleware
around a counting ASGI app, then the real app's collection documents."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.ogc import metadata
from app.ogc.metadata import MetadataMiddleware

Message = dict[str, Any]


class Renderer:
    """An ASGI app that counts the requests it renders and routes them as FastAPI would."""

    def __init__(self, status: int = 200, content_type: bytes = b"application/json") -> None:
        self.rendered = 0
        self.status = status
        self.content_type = content_type
        self.body = b'{"title":"landing"}'

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.rendered += 1
        scope["route"] = SimpleNamespace(path="/collections/{collectionId}")
        scope["path_params"] = {"collectionId": "public.things"}
        headers = [(b"content-type", self.content_type)]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


def get(
    middleware: MetadataMiddleware,
    catalog: Any,
    path: str = "/",
    **headers: str,
) -> tuple[Message, bytes, dict[str, Any]]:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "scheme": "http",
        "server": ("testserver", 80),
        "root_path": "",
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
        "app": SimpleNamespace(state=SimpleNamespace(collection_catalog=catalog)),
    }
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, lambda: None, send))  # type: ignore[arg-type]
    return sent[0], b"".join(m.get("body", b"") for m in sent[1:]), scope


def etag_of(start: Message) -> str:
    return dict(start["headers"])[b"etag"].decode()


def test_the_same_key_is_rendered_once() -> None:
    inner, catalog = Renderer(), {"collections": {}}
    middleware = MetadataMiddleware(inner)
    first = get(middleware, catalog, host="a")
    second = get(middleware, catalog, host="a")
    assert inner.rendered == 1
    assert first[:2] == second[:2] and first[1] == inner.body
    assert etag_of(first[0]).startswith('W/"')


@pytest.mark.parametrize(
    "other",
    [{"host": "b"}, {"host": "a", "accept": "text/html"}, {"host": "a", "path": "/conformance"}],
)
def test_another_base_url_format_or_path_is_rendered_again(other: dict[str, str]) -> None:
    inner, catalog = Renderer(), {"collections": {}}
    middleware = MetadataMiddleware(inner)
    get(middleware, catalog, host="a")
    get(middleware, catalog, **other)
    assert inner.rendered == 2


def test_a_new_catalog_renders_again() -> None:
    inner = Renderer()
    middleware = MetadataMiddleware(inner)
    get(middleware, {"collections": {}})
    get(middleware, {"collections": {}})  # a reload: another catalog object
    assert inner.rendered == 2


def test_an_answer_from_memory_is_routed_as_the_first() -> None:
    """Telemetry names a request by scope["route"], which routing left there the first time."""
    inner, catalog = Renderer(), {"collections": {}}
    middleware = MetadataMiddleware(inner)
    get(middleware, catalog)
    _, _, scope = get(middleware, catalog)
    assert inner.rendered == 1
    assert scope["route"].path == "/collections/{collectionId}"
    assert scope["path_params"] == {"collectionId": "public.things"}


def test_a_matching_if_none_match_is_a_304_from_memory() -> None:
    inner, catalog = Renderer(), {"collections": {}}
    middleware = MetadataMiddleware(inner)
    start, _, _ = get(middleware, catalog)
    again, body, _ = get(middleware, catalog, if_none_match=etag_of(start))
    assert (again["status"], body, inner.rendered) == (304, b"", 1)
    assert etag_of(again) == etag_of(start)


@pytest.mark.parametrize(
    ("status", "content_type"), [(404, b"application/json"), (200, b"image/png")]
)
def test_other_answers_pass_through_unkept(status: int, content_type: bytes) -> None:
    inner, catalog = Renderer(status, content_type), {"collections": {}}
    middleware = MetadataMiddleware(inner)
    for _ in range(2):
        start, body, _ = get(middleware, catalog)
        assert (start["status"], body) == (status, inner.body)
        assert b"etag" not in dict(start["headers"])
    assert inner.rendered == 2


def test_a_body_too_big_to_keep_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metadata, "MAX_KEPT_BYTES", 4)
    inner, catalog = Renderer(), {"collections": {}}
    middleware = MetadataMiddleware(inner)
    for _ in range(2):
        start, body, _ = get(middleware, catalog)
        assert body == inner.body and b"etag" not in dict(start["headers"])
    assert inner.rendered == 2


def test_data_paths_are_never_kept() -> None:
    inner, catalog = Renderer(), {"collections": {}}
    middleware = MetadataMiddleware(inner)
    for path in ("/collections/x/items", "/collections/x/items/1", "/collections/x/tiles/a/0/0/0"):
        get(middleware, catalog, path=path)
        get(middleware, catalog, path=path)
    assert inner.rendered == 6


@pytest.mark.parametrize("path", ["/collections", "/collections/public.fire_stations"])
def test_collections_carry_their_crs_lists(client: TestClient, path: str) -> None:
    """/req/crs/fc-md-crs-list, fc-md-storageCrs: added when the document is rendered; the same
    on an answer from memory, and in doubled-slash spellings of the path."""
    for url in (path, path, "http://testserver/" + path):
        body = client.get(url).json()
        described = body["collections"] if "collections" in body else [body]
        stations = next(c for c in described if c["id"] == "public.fire_stations")
        assert stations["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/3310", url
        assert "http://www.opengis.net/def/crs/OGC/1.3/CRS84" in stations["crs"], url


class Editing:
    """What CORS, compression and Cache-Control do: edit the start message's headers in place."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def send_edited(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"].append((b"vary", b"Origin"))
            await send(message)

        await self.app(scope, receive, send_edited)


def test_edits_outside_do_not_reach_what_is_kept() -> None:
    """Each answer from memory starts from the rendered headers (a gzip answer once stuck)."""
    inner, catalog = Renderer(), {"collections": {}}
    outer = Editing(MetadataMiddleware(inner))
    starts = [get(outer, catalog)[0] for _ in range(3)]  # type: ignore[arg-type]
    assert inner.rendered == 1
    assert [s["headers"].count((b"vary", b"Origin")) for s in starts] == [1, 1, 1]

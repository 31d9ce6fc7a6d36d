"""Every client mistake is a 4xx JSON body that names the problem, and the next request works."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

ITEMS = "/collections/public.fire_perimeters/items"
DETECTIONS = "/collections/public.fire_detections/items"

# (path with query, expected status, a word the description must contain)
MALFORMED: list[tuple[str, int, str]] = [
    (f"{ITEMS}?bbox=1,2,3", 400, "4 or 6"),
    (f"{ITEMS}?bbox=a,b,c,d", 400, "bbox"),
    ("/collections?bbox=a,b,c,d", 400, "bbox"),
    ("/collections?datetime=yesterday", 400, "datetime"),
    (f"{ITEMS}?bbox=", 400, "bbox"),
    (f"{ITEMS}?bbox=nan,0,1,1", 400, "finite"),
    (f"{ITEMS}?bbox=-120,35,-115,95", 400, "latitude"),
    (f"{ITEMS}?bbox=-190,35,-115,40", 400, "longitude"),
    (f"{ITEMS}?bbox=-120,40,-115,35", 400, "latitude"),
    (f"{ITEMS}?simplify=-1", 400, "simplify"),
    (f"{ITEMS}?simplify=nan", 400, "simplify"),
    (f"{ITEMS}?sortby=acres%0A", 400, "control character"),
    ("/collections/public.nope/items", 404, "public.nope"),
    ("/collections/fire_perimeters", 404, "schema-qualified"),
    (f"{ITEMS}/99999999", 404, "99999999"),
    (f"{ITEMS}/not-a-number", 404, "not-a-number"),
    # Past int64: cql2 cannot hold the literal (a 500 the fuzzer found).
    (f"{ITEMS}/999999999999999999999999999999", 404, "999999999999999999999999999999"),
    (f"{ITEMS}?ids=1,-99999999999999999999", 404, "-99999999999999999999"),
    (f"{ITEMS}?limit=-1", 400, "limit"),
    (f"{ITEMS}?limit=ten", 400, "limit"),
    (f"{ITEMS}?offset=-5", 400, "offset"),
    (f"{ITEMS}?datetime=garbage", 400, "datetime"),
    (f"{ITEMS}?datetime=../..", 400, "closed end"),
    (f"{ITEMS}?datetime=2021-01-01T00:00:00Z/2020-01-01T00:00:00Z", 400, "starts after"),
    (f"{ITEMS}?datetime=2020-01-01T00:00:00Z/2020-02-01T00:00:00Z/x", 400, "interval"),
    (f"{ITEMS}?datetime=2020-13-45T99:00:00Z", 400, "RFC 3339"),
    (f"{ITEMS}?filter=cause = 'x'; DROP TABLE fire_lines", 400, "filter"),
    (f"{ITEMS}?filter=acres >", 400, "filter"),
    (f"{ITEMS}?filter=nope = 1", 400, "unknown properties: nope"),
    (f'{ITEMS}?filter="x""; DROP TABLE fire_lines; --" = 1', 400, "unknown properties"),
    (f"{ITEMS}?filter=acres = 'abc'", 400, "Invalid value"),
    (f"{ITEMS}?filter=acres > 1&filter-lang=cql2-json", 400, "cql2-json"),
    (f"{ITEMS}?filter=acres > 1&filter-lang=yaml", 400, "filter-lang"),
    (f"{ITEMS}?sortby=nope", 400, "nope"),
    (f'{ITEMS}?properties=fire_name",acres', 400, "unknown names"),
    (f"{ITEMS}?containment_pct=abc", 400, "Invalid value"),
    (f"{ITEMS}?geom-column=nope", 400, "nope"),
    (f"{ITEMS}?f=xml", 400, "f"),
    (f"{ITEMS}?bbox=" + "1," * 4000 + "1", 400, "not 4001"),
    (f"{ITEMS}?filter=%FF%FE", 400, "filter"),
    ("/collections/%FF%FE/items", 404, "does not exist"),
    ("/no/such/path", 404, "Not Found"),
]


@pytest.fixture(scope="module")
def guarded_client(make_app: Callable[..., Any]) -> Any:
    with TestClient(make_app(), raise_server_exceptions=True) as test_client:
        yield test_client


@pytest.mark.parametrize(("path", "status", "word"), MALFORMED)
def test_malformed_request_is_a_clear_4xx(
    guarded_client: TestClient, path: str, status: int, word: str
) -> None:
    response = guarded_client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) >= {"code", "description"}
    assert word in body["description"]
    for leak in ("SELECT", "Traceback", "postgresql://", "tipg_", "asyncpg"):
        assert leak not in response.text

    good = guarded_client.get(DETECTIONS, params={"limit": 1})
    assert good.status_code == 200


def test_table_covers_at_least_25_cases() -> None:
    assert len(MALFORMED) >= 25


def test_wrong_method_is_405_json(guarded_client: TestClient) -> None:
    response = guarded_client.post("/collections")
    assert response.status_code == 405
    assert response.json()["code"] == "MethodNotAllowed"


def test_injection_attempts_left_the_tables_intact(
    guarded_client: TestClient, sql: Callable[..., Any]
) -> None:
    guarded_client.get(ITEMS, params={"filter": "cause = 'x'; DROP TABLE fire_lines"})
    guarded_client.get(ITEMS, params={"sortby": 'acres"; DROP TABLE fire_lines; --'})
    assert sql("SELECT count(*) FROM fire_lines") == 4000


def test_an_unhandled_exception_is_a_generic_500_json(
    make_app: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()

    async def boom() -> None:
        raise RuntimeError("secret internals: SELECT * FROM pg_authid")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
        assert client.get("/collections").status_code == 200, "and the service goes on"
    assert response.status_code == 500
    assert response.json() == {
        "code": "ServerError",
        "description": "The server failed to answer this request.",
    }
    assert "pg_authid" not in response.text
    [logged] = [r for r in caplog.records if r.name == "app.errors"]
    assert logged.exc_info is not None, "the stack goes to the log, not the client"

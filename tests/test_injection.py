"""Hostile input: SQL, traversal and oversized values in every parameter. Nothing executes, every
answer is a prompt JSON 4xx, and the data is intact afterwards (a canary row, the row counts).

A well-formed CQL2 JSON string literal that merely *contains* SQL is a valid query for that
string: it is answered 200 with no match, which is the proof that it was bound as a value.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from harness.server_process import running_server

ITEMS = "/collections/public.fire_perimeters/items"
# A function the canary fixture creates: if any SQL a client smuggled in ever ran, the request
# would fail with its error (a 500), which every test here refuses. Counted, not timed.
TRIPWIRE = "wfs3_tripwire"
SLEEP = f"{TRIPWIRE}(5)"

HOSTILE_QUERIES: list[tuple[str, dict[str, str]]] = [
    ("bbox", {"bbox": f"0,0,1,1);SELECT {SLEEP};--"}),
    ("bbox", {"bbox": "0,0,1,1 UNION SELECT * FROM pg_user"}),
    ("datetime", {"datetime": f"2020-01-01T00:00:00Z'; SELECT {SLEEP}; --"}),
    ("datetime", {"datetime": "2020-01-01/2021-01-01' OR '1'='1"}),
    ("properties", {"properties": f"acres,(SELECT {SLEEP})"}),
    ("properties", {"properties": "acres;DROP TABLE canary.canary"}),
    ("sortby", {"sortby": f"acres;SELECT {SLEEP}"}),
    ("sortby", {"sortby": "(CASE WHEN 1=1 THEN acres END)"}),
    ("filter", {"filter": "acres > 1; DROP TABLE canary.canary"}),
    ("filter", {"filter": f"acres > {SLEEP}"}),
    ("filter", {"filter": "set_config('statement_timeout', '1', false) = '1'"}),
    ("filter", {"filter": "acres > length(pg_read_file('/etc/passwd'))"}),
    ("filter", {"filter": json.dumps({"op": TRIPWIRE, "args": [5]}), "filter-lang": "cql2-json"}),
    ("filter", {"filter": "acres > 1 UNION SELECT usename FROM pg_user"}),
    ("filter", {"filter": '"acres\\" > 0; DROP TABLE canary.canary; --" > 1'}),
    ("filter-lang", {"filter": "acres > 1", "filter-lang": "sql'; DROP TABLE canary.canary; --"}),
    ("limit", {"limit": f"1;SELECT {SLEEP}"}),
    ("offset", {"offset": "0 UNION SELECT 1"}),
    ("ids", {"ids": "1) OR (1=1"}),
]

HOSTILE_PATHS = [
    "/collections/public.fire_perimeters;DROP TABLE canary.canary",
    "/collections/public.fire_perimeters' OR '1'='1/items",
    f"/collections/public.fire_perimeters%20UNION%20SELECT%20{SLEEP}/items",
    "/collections/..%2F..%2Fetc%2Fpasswd/items",
    "/collections/public.fire_perimeters/items/1;DROP TABLE canary.canary",
    "/collections/public.fire_perimeters/items/..%2F..%2Fetc%2Fpasswd",
    f"/collections/public.fire_perimeters/items/1 OR {SLEEP}",
    "/collections/pg_catalog.pg_authid/items",
    "/collections/canary.canary/items/1",
    "/collections/public.fire_perimeters/items/1%00",
]


def nested_not(depth: int) -> str:
    """A cql2-json `not(not(...))` too deep for any recursive parser (built as text: json.dumps
    would itself run out of recursion)."""
    inner = '{"op": "=", "args": [{"property": "state"}, "CA"]}'
    return '{"op": "not", "args": [' * depth + inner + "]}" * depth


@pytest.fixture(scope="module")
def canary(sql: Any) -> Iterator[None]:
    # In a schema of its own: not published, so the catalog other tests count is unchanged.
    sql("CREATE SCHEMA IF NOT EXISTS canary")
    sql("CREATE TABLE IF NOT EXISTS canary.canary (id int PRIMARY KEY, word text)")
    sql("INSERT INTO canary.canary VALUES (1, 'tweet') ON CONFLICT DO NOTHING")
    sql(
        f"CREATE OR REPLACE FUNCTION public.{TRIPWIRE}(int DEFAULT 0) RETURNS int"
        " LANGUAGE plpgsql AS 'BEGIN RAISE EXCEPTION ''tripwire: injected SQL ran''; END'"
    )
    with pytest.raises(asyncpg.RaiseError, match="tripwire"):
        sql(f"SELECT {SLEEP}")  # armed
    before = sql("SELECT count(*) FROM fire_perimeters")
    yield
    sql(f"DROP FUNCTION public.{TRIPWIRE}(int)")
    assert sql("SELECT word FROM canary.canary WHERE id = 1") == "tweet"
    assert sql("SELECT count(*) FROM fire_perimeters") == before


def assert_clean_4xx(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    body = response.json()
    assert set(body) >= {"code", "description"}, body
    # The client's own input may be echoed back; our SQL, stack traces and driver names not.
    text = response.text.lower()
    for leak in ("traceback", 'from "public"', "st_asgeojson", "tipg_", "asyncpg", "syntax error"):
        assert leak not in text, response.text[:300]


@pytest.mark.parametrize(("name", "params"), HOSTILE_QUERIES, ids=[q[0] for q in HOSTILE_QUERIES])
def test_hostile_query_parameters(
    client: TestClient, canary: None, name: str, params: dict[str, str]
) -> None:
    assert_clean_4xx(client.get(ITEMS, params=params))


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_paths(client: TestClient, canary: None, path: str) -> None:
    assert_clean_4xx(client.get(path))


LITERALS = [
    {"filter": "state = 'CA'' OR 1=1 --'"},
    {"filter": "state = 'CA''; SELECT pg_sleep(5); --'"},
    {
        "filter": json.dumps(
            {"op": "=", "args": [{"property": "state"}, f"CA'; DROP TABLE canary.canary; {SLEEP}"]}
        ),
        "filter-lang": "cql2-json",
    },
]


@pytest.mark.parametrize("params", LITERALS)
def test_sql_inside_a_cql2_string_literal_is_only_a_value(
    client: TestClient, canary: None, params: dict[str, str]
) -> None:
    response = client.get(ITEMS, params=params)
    assert response.status_code == 200, response.text
    assert response.json()["numberMatched"] == 0


def test_no_filter_can_change_the_pooled_connection(make_app: Any, canary: None) -> None:
    """With one pooled connection: a filter that tried set_config would leave a 1 ms statement
    timeout behind for every later request on it."""
    with TestClient(make_app()) as one:
        one.app.state.pool.pool._maxsize = 1  # type: ignore[attr-defined]
        params = {"filter": "set_config('statement_timeout', '1', false) = '1'"}
        assert one.get(ITEMS, params=params).status_code == 400
        assert one.get(ITEMS, params={"limit": 100}).status_code == 200


def test_deeply_nested_cql2_json(client: TestClient, canary: None) -> None:
    params = {"filter": nested_not(1000), "filter-lang": "cql2-json"}
    assert_clean_4xx(client.get(ITEMS, params=params))


def test_forwarded_headers_cannot_inject_into_links(client: TestClient) -> None:
    headers = {
        "X-Forwarded-Host": 'evil.example"><script>alert(1)</script>',
        "X-Forwarded-Proto": "javascript",
        "Forwarded": 'for=1.2.3.4;host="a.example, b.example";proto=https\\',
    }
    response = client.get("/collections", headers=headers)
    assert response.status_code in (200, 400), response.text
    assert "<script>" not in response.text
    assert "javascript:" not in response.text


@pytest.mark.server
def test_a_one_megabyte_query_string_is_refused_cleanly(reader_url: str, canary: None) -> None:
    """Through real uvicorn, over a raw socket (HTTP clients refuse to send such a URL)."""
    huge = "acres%20%3E%201%20AND%20" * 45_000 + "acres%20%3E%201"
    request = f"GET {ITEMS}?filter={huge} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    assert len(request) > 1_000_000
    with running_server(reader_url, OTEL_SDK_DISABLED="true") as server:
        port = int(server.base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            with contextlib.suppress(OSError):  # the server may close before reading it all
                conn.sendall(request)
            answer = conn.recv(65536)
        after = httpx.get(f"{server.base}{ITEMS}", params={"limit": 1}, timeout=10)
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line == b"" or re.match(rb"HTTP/1.1 4\d\d ", status_line), status_line
    assert after.status_code == 200

"""Database faults against a real server process (startup.sh): an outage under load, a query past
the statement timeout, and a pool exhausted by slow requests. Every failure is a prompt JSON
503/504 with the trace id, and the service recovers by itself.

(Starting while the database is down is tests/test_health.py.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx2 as httpx
import pytest

from tests.server_process import Server, running_server
from tests.tcp_proxy import TcpProxy

ITEMS = "/collections/public.fire_perimeters/items?limit=5"
SLOW = "/collections/slow.sleepy/items"
NO_EXPORT = {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"}


@dataclass
class Outcome:
    started: float
    seconds: float
    status: int
    body: dict[str, object]


def get(base: str, path: str, started_at: float = 0.0) -> Outcome:
    start = time.monotonic()
    response = httpx.get(f"{base}{path}", timeout=10)
    body = response.json()  # every answer is JSON, errors included
    return Outcome(start - started_at, time.monotonic() - start, response.status_code, body)


@pytest.fixture
def proxied(reader_url: str) -> Iterator[tuple[TcpProxy, str]]:
    proxy = TcpProxy.to_database(reader_url)
    proxy.start()
    yield proxy, proxy.database_url(reader_url)
    proxy.stop()


def load(server: Server, seconds: float, workers: int = 4) -> list[Outcome]:
    outcomes: list[Outcome] = []
    began = time.monotonic()

    def worker() -> None:
        while time.monotonic() - began < seconds:
            outcomes.append(get(server.base, ITEMS, began))

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_database_outage_under_load(proxied: tuple[TcpProxy, str]) -> None:
    proxy, url = proxied
    with running_server(url, **NO_EXPORT) as server:
        timer = threading.Timer(1.0, proxy.stop)
        restart = threading.Timer(2.0, proxy.start)
        timer.start()
        restart.start()
        outcomes = load(server, 5.0)
        restart.join()
    statuses = {o.status for o in outcomes}
    assert statuses <= {200, 503}, statuses
    failed = [o for o in outcomes if o.status == 503]
    assert failed, "the outage was not noticed"
    for outcome in failed:
        assert outcome.body["code"] == "ServiceUnavailable"
        assert str(outcome.body["traceId"]).startswith("1-")
    # Bounded: failures only while the database was away (1 s to 2 s) and while the pool
    # reconnects; nothing hangs; everything from 1 s after its return succeeds.
    assert max(o.seconds for o in outcomes) < 3.0
    assert all(0.9 <= o.started <= 3.0 for o in failed), sorted(o.started for o in failed)
    assert all(o.status == 200 for o in outcomes if o.started > 3.0)
    assert len([o for o in outcomes if o.started > 3.0]) > 10


def test_statement_timeout_is_504_and_the_connection_stays_usable(
    reader_url: str, slow_view: str
) -> None:
    env = {
        "WFS3_DB_SCHEMAS": f"public,{slow_view}",
        "WFS3_DB_STATEMENT_TIMEOUT_MS": "300",
        "WFS3_DB_POOL_MIN_SIZE": "1",
        "WFS3_DB_POOL_MAX_SIZE": "1",  # so the next request gets the very same connection
        **NO_EXPORT,
    }
    with running_server(reader_url, **env) as server:
        timed_out = get(server.base, SLOW)
        after = [get(server.base, ITEMS) for _ in range(3)]
    assert timed_out.status == 504
    assert timed_out.body["code"] == "QueryTimeout"
    assert "pg_sleep" not in str(timed_out.body) and "SELECT" not in str(timed_out.body)
    assert timed_out.seconds < 1.5
    assert [o.status for o in after] == [200, 200, 200]


def test_an_exhausted_pool_answers_503_after_the_acquire_timeout(
    reader_url: str, slow_view: str
) -> None:
    env = {
        "WFS3_DB_SCHEMAS": f"public,{slow_view}",
        "WFS3_DB_POOL_MIN_SIZE": "1",
        "WFS3_DB_POOL_MAX_SIZE": "1",
        "WFS3_DB_POOL_ACQUIRE_TIMEOUT_MS": "300",
        **NO_EXPORT,
    }
    with running_server(reader_url, **env) as server:
        slow: list[Outcome] = []
        holder = threading.Thread(target=lambda: slow.append(get(server.base, SLOW)))
        holder.start()
        time.sleep(0.5)  # the slow request holds the only connection
        waiting = [get(server.base, ITEMS) for _ in range(3)]
        holder.join()
        after = get(server.base, ITEMS)
    assert [o.status for o in waiting] == [503, 503, 503]
    for outcome in waiting:
        assert outcome.body["code"] == "ServiceUnavailable"
        assert "retry" in str(outcome.body["description"])
        assert str(outcome.body["traceId"]).startswith("1-")
        assert 0.25 < outcome.seconds < 1.0
    assert slow[0].status == 200
    assert after.status == 200

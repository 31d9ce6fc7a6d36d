"""Database faults against a real server process (startup.sh): an outage under load, a query past
the statement timeout, and a pool exhausted by slow requests. Every failure is a prompt JSON
503/504 with the trace id, and the service recovers by itself.

(Starting while the database is down is tests/test_health.py.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from harness.database import SLOW_ITEMS, HeldNap
from harness.load import Answer, Load, get
from harness.polling import eventually
from harness.server_process import running_server
from harness.tcp_proxy import TcpProxy

pytestmark = pytest.mark.server  # a real server process: left out of make test-fast

ITEMS = "/collections/public.fire_perimeters/items?limit=5"
NO_EXPORT = {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"}


@pytest.fixture
def proxied(reader_url: str) -> Iterator[tuple[TcpProxy, str]]:
    proxy = TcpProxy.to_database(reader_url)
    proxy.start()
    yield proxy, proxy.database_url(reader_url)
    proxy.stop()


def test_database_outage_under_load(proxied: tuple[TcpProxy, str]) -> None:
    """Counted, not timed: served, then the database goes away until 5 requests were answered
    503, then it is back; once 20 requests in a row succeed, everything after does too."""
    proxy, url = proxied
    with running_server(url, **NO_EXPORT) as server:
        load = Load(f"{server.base}{ITEMS}").start()
        eventually(lambda: load.count(200) >= 20, what="20 answers before the outage")
        proxy.stop()
        outage_began = len(load.answers)
        eventually(lambda: load.count(503, outage_began) >= 5, what="503s during the outage")
        proxy.start()
        back = len(load.answers)
        eventually(lambda: _in_a_row(load.answers[back:], 200) >= 20, what="20 successes")
        recovered = len(load.answers)
        eventually(lambda: len(load.answers) >= recovered + 20, what="20 more answers")
        answers = load.stop()
    assert not load.errors, load.errors
    statuses = {o.status for o in answers}
    assert statuses <= {200, 503}, statuses
    for answer in answers:
        if answer.status == 503:
            assert answer.body["code"] == "ServiceUnavailable"
            assert str(answer.body["traceId"]).startswith("1-")
    assert all(o.status == 200 for o in answers[:outage_began]), "503 before the outage"
    assert all(o.status == 200 for o in answers[recovered:]), "503 after the recovery"


def _in_a_row(answers: list[Answer], status: int) -> int:
    """How many of the last answers have `status`, counting back from the newest."""
    count = 0
    for answer in reversed(answers):
        if answer.status != status:
            break
        count += 1
    return count


def test_statement_timeout_is_504_and_the_connection_stays_usable(
    database_url: str, reader_url: str, slow_view: str
) -> None:
    env = {
        "WFS3_DB_SCHEMAS": f"public,{slow_view}",
        "WFS3_DB_STATEMENT_TIMEOUT_MS": "300",
        "WFS3_DB_POOL_MIN_SIZE": "1",
        "WFS3_DB_POOL_MAX_SIZE": "1",  # so the next request gets the very same connection
        **NO_EXPORT,
    }
    # The slow query waits until the nap is released, which only happens after the answer:
    # an answer at all means the statement timeout ended it.
    with running_server(reader_url, **env) as server, HeldNap(database_url):
        timed_out = get(f"{server.base}{SLOW_ITEMS}")
        after = [get(f"{server.base}{ITEMS}") for _ in range(3)]
    assert timed_out.status == 504
    assert timed_out.body["code"] == "QueryTimeout"
    assert "pg_advisory" not in str(timed_out.body) and "SELECT" not in str(timed_out.body)
    assert [o.status for o in after] == [200, 200, 200]


def test_an_exhausted_pool_answers_503_after_the_acquire_timeout(
    database_url: str, reader_url: str, slow_view: str
) -> None:
    env = {
        "WFS3_DB_SCHEMAS": f"public,{slow_view}",
        "WFS3_DB_POOL_MIN_SIZE": "1",
        "WFS3_DB_POOL_MAX_SIZE": "1",
        "WFS3_DB_POOL_ACQUIRE_TIMEOUT_MS": "300",
        "WFS3_DB_STATEMENT_TIMEOUT_MS": "0",
        **NO_EXPORT,
    }
    with running_server(reader_url, **env) as server, HeldNap(database_url) as nap:
        slow: list[Answer] = []
        holder = threading.Thread(target=lambda: slow.append(get(f"{server.base}{SLOW_ITEMS}")))
        holder.start()
        eventually(lambda: nap.waiting() == 1, what="the slow request holding the connection")
        waiting = [get(f"{server.base}{ITEMS}") for _ in range(3)]
        nap.release()
        holder.join()
        after = get(f"{server.base}{ITEMS}")
    assert [o.status for o in waiting] == [503, 503, 503]
    for answer in waiting:
        assert answer.body["code"] == "ServiceUnavailable"
        assert "retry" in str(answer.body["description"])
        assert str(answer.body["traceId"]).startswith("1-")
        assert answer.seconds >= 0.3, "it waited for the acquire timeout first"
    assert slow[0].status == 200
    assert after.status == 200

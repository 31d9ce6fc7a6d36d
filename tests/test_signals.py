"""Metrics and logs as they arrive over OTLP from a real server, and the JSON lines on its stdout.

The server reaches the database through a TCP proxy, so a test can take the database away and see
how a server fault is reported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest

from harness import secrets_audit
from harness.database import SLOW_ITEMS, HeldNap
from harness.otlp_receiver import OtlpReceiver, ReceivedPoint
from harness.polling import eventually
from harness.server_process import Server, running_server
from harness.tcp_proxy import TcpProxy
from harness.traces import SERVER_KIND, STATUS_ERROR, otlp_env, spans_of, trace_id_of

pytestmark = pytest.mark.server  # a real server process: left out of make test-fast

ITEMS = "/collections/public.fire_perimeters/items"
ITEMS_ROUTE = "/collections/{collectionId}/items"
AUTHORIZATION = "Bearer " + secrets_audit.sent("signals-secret-4d1e")
COOKIE = "session=" + secrets_audit.sent("signals-cookie-88aa")
DELTA = 1  # AggregationTemporality in OTLP
DURATION_KEYS = {"http.request.method", "http.route", "http.response.status_code", "url.scheme"}


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    otlp = OtlpReceiver()
    otlp.start()
    yield otlp
    otlp.stop()


@pytest.fixture(scope="module")
def db_proxy(database_url: str) -> Iterator[TcpProxy]:
    proxy = TcpProxy.to_database(database_url)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def server(database_url: str, receiver: OtlpReceiver, db_proxy: TcpProxy) -> Iterator[Server]:
    url = db_proxy.database_url(database_url)
    with running_server(url, **otlp_env(receiver)) as running:
        headers = {"Authorization": AUTHORIZATION, "Cookie": COOKIE}
        for params in ({"limit": 3}, {"limit": 7}, {"bbox": "nope"}):
            httpx.get(f"{running.base}{ITEMS}", params=params, headers=headers)
        httpx.get(f"{running.base}/collections/public.nope", headers=headers)
        httpx.get(f"{running.base}/no/such/path/12345", headers=headers)
        yield running


def latest(receiver: OtlpReceiver, metric: str) -> list[ReceivedPoint]:
    """The most recent export's points of a gauge, per attribute set; waits for one."""
    return receiver.wait_until(lambda: points_now(receiver, metric))


def points_now(receiver: OtlpReceiver, metric: str) -> list[ReceivedPoint]:
    last: dict[str, ReceivedPoint] = {}
    for point in [p for p in receiver.points if p.metric == metric]:
        last[repr(sorted(point.attributes.items()))] = point
    return list(last.values())


def totals(receiver: OtlpReceiver, metric: str) -> list[ReceivedPoint]:
    """A delta metric's points added up over every export so far, one per attribute set."""
    added: dict[str, ReceivedPoint] = {}
    for point in [p for p in receiver.points if p.metric == metric]:
        assert point.temporality == DELTA, f"{metric} is not delta"
        key = repr(sorted(point.attributes.items()))
        total = added.setdefault(key, replace(point, value=0, count=0, sum=0))
        total.value = (total.value or 0) + (point.value or 0)
        total.count = (total.count or 0) + (point.count or 0)
        total.sum = (total.sum or 0) + (point.sum or 0)
    return list(added.values())


def test_request_duration_by_method_route_and_status(
    server: Server, receiver: OtlpReceiver
) -> None:
    def items_ok() -> list[ReceivedPoint]:
        return [
            p
            for p in totals(receiver, "http.server.request.duration")
            if p.attributes.get("http.route") == ITEMS_ROUTE
            and p.attributes["http.response.status_code"] == 200
            and (p.count or 0) >= 2
        ]

    [point] = receiver.wait_until(items_ok)
    assert point.unit == "s"
    # What CloudWatch needs (docs/telemetry.md, Metrics): per-interval counts, and buckets it can
    # take percentiles of.
    assert point.kind == "exponential_histogram"
    assert point.attributes == {
        "http.request.method": "GET",
        "http.route": ITEMS_ROUTE,
        "http.response.status_code": 200,
        "url.scheme": "http",
    }

    def all_statuses() -> list[ReceivedPoint]:
        points = totals(receiver, "http.server.request.duration")
        statuses = {p.attributes["http.response.status_code"] for p in points}
        return points if statuses >= {200, 400, 404} else []

    all_points = receiver.wait_until(all_statuses)
    for point in all_points:
        assert set(point.attributes) <= DURATION_KEYS
        values = " ".join(str(v) for v in point.attributes.values())
        assert "public.nope" not in values and "12345" not in values and "bbox" not in values


def test_active_requests_and_pool_metrics(server: Server, receiver: OtlpReceiver) -> None:
    # Levels are gauges: CloudWatch's EMF exporter would turn a cumulative sum into deltas.
    def idle_again() -> list[ReceivedPoint]:  # an export after the fixture's requests
        return [p for p in points_now(receiver, "http.server.active_requests") if p.value == 0]

    [active] = receiver.wait_until(idle_again)
    assert active.kind == "gauge"
    assert active.attributes == {"http.request.method": "GET", "url.scheme": "http"}
    pool = latest(receiver, "db.client.connection.count")
    states = {p.attributes["db.client.connection.state"]: p.value for p in pool}
    assert {p.kind for p in pool} == {"gauge"}
    assert set(states) == {"idle", "used"} and states["idle"] >= 1
    [maximum] = latest(receiver, "db.client.connection.max")
    assert maximum.kind == "gauge" and maximum.value == 10

    def three_waits() -> list[ReceivedPoint]:
        return [p for p in totals(receiver, "db.client.connection.wait_time") if p.count >= 3]

    [wait] = receiver.wait_until(three_waits)
    assert wait.unit == "s" and wait.kind == "exponential_histogram"


def test_active_requests_counts_the_requests_in_flight(
    database_url: str, reader_url: str, slow_view: str
) -> None:
    otlp = OtlpReceiver()
    otlp.start()
    env = {**otlp_env(otlp), "WFS3_DB_SCHEMAS": f"public,{slow_view}"}
    env["OTEL_METRIC_EXPORT_INTERVAL"] = "200"
    env["WFS3_DB_STATEMENT_TIMEOUT_MS"] = "0"

    def in_flight(count: int) -> Callable[[], list[ReceivedPoint]]:
        metric = "http.server.active_requests"
        return lambda: [p for p in points_now(otlp, metric) if p.value == count]

    try:
        with running_server(reader_url, **env) as server, HeldNap(database_url) as nap:
            slow = f"{server.base}{SLOW_ITEMS}"  # in flight until the nap is released
            holders = [
                threading.Thread(target=httpx.get, args=(slow,), kwargs={"timeout": 60})
                for _ in range(3)
            ]
            for holder in holders:
                holder.start()
            try:
                eventually(in_flight(3), what="3 requests in flight")
            finally:
                nap.release()
                for holder in holders:
                    holder.join()
            eventually(in_flight(0), what="none in flight once they are answered")
    finally:
        otlp.stop()


def test_features_returned_and_catalog_loads(server: Server, receiver: OtlpReceiver) -> None:
    def both_pages() -> list[ReceivedPoint]:
        points = totals(receiver, "ogc.features.returned")
        return [p for p in points if (p.count or 0) >= 2]

    [returned] = receiver.wait_until(both_pages)
    assert returned.attributes == {"ogc.collection.id": "public.fire_perimeters"}
    assert returned.sum == 3 + 7
    loads = {p.attributes["outcome"]: p.value for p in totals(receiver, "wfs3.catalog.loads")}
    assert loads.get("success", 0) >= 1
    assert totals(receiver, "wfs3.catalog.load.duration")


def test_stdout_is_json_with_one_access_line_per_request(server: Server) -> None:
    response = httpx.get(f"{server.base}{ITEMS}", params={"limit": 2}, headers={"X-Test": "x"})
    trace_id = response.headers["x-amzn-trace-id"].removeprefix("Root=")

    def access_line() -> list[dict[str, object]]:
        return [r for r in server.json_lines() if r.get("trace_id") == trace_id]

    [line] = eventually(access_line, 10, "the access line")
    assert line["logger"] == "app.access"
    assert line["http.request.method"] == "GET"
    assert line["http.route"] == ITEMS_ROUTE
    assert line["http.response.status_code"] == 200
    assert line["http.response.body.size"] == int(response.headers["content-length"])
    assert line["client.address"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert len(str(line["span_id"])) == 16


def test_access_lines_go_over_otlp_when_asked(database_url: str) -> None:
    """WFS3_OTLP_LOG_LEVEL=info: the access lines too, with their span's ids."""
    receiver = OtlpReceiver()
    receiver.start()
    try:
        with running_server(database_url, **otlp_env(receiver), WFS3_OTLP_LOG_LEVEL="info") as srv:
            response = httpx.get(f"{srv.base}/collections")
            trace_hex = trace_id_of(response)
            [span] = [s for s in spans_of(receiver, trace_hex) if s.kind == SERVER_KIND]
            [record] = receiver.wait_until(
                lambda: [r for r in receiver.logs if r.trace_id == trace_hex]
            )
    finally:
        receiver.stop()
    assert record.span_id == span.span_id
    assert record.body == "GET /collections 200"
    assert record.attributes["http.route"] == "/collections"
    assert record.resource["service.name"] == "veda-wfs3-test"


def test_a_database_outage_is_an_error_span_and_a_logged_warning(
    server: Server, receiver: OtlpReceiver, db_proxy: TcpProxy
) -> None:
    db_proxy.stop()
    try:
        response = httpx.get(f"{server.base}{ITEMS}", params={"limit": 1})
    finally:
        db_proxy.start()
    assert response.status_code == 503
    trace_hex = trace_id_of(response)
    [span] = [s for s in spans_of(receiver, trace_hex) if s.kind == SERVER_KIND]
    assert span.status_code == STATUS_ERROR
    assert span.attributes["error.type"]
    assert [name for name, _ in span.events] == ["exception"]
    trace_id = response.headers["x-amzn-trace-id"].removeprefix("Root=")
    warnings = eventually(
        lambda: [
            r
            for r in server.json_lines()
            if r.get("trace_id") == trace_id and r["level"] == "WARNING"
        ],
        10,
        "the warning line",
    )
    assert "database unavailable" in str(warnings[0]["message"])
    # The same warning over OTLP with the span's ids (WARNING and up, by default) ...
    [record] = receiver.wait_until(lambda: [r for r in receiver.logs if r.trace_id == trace_hex])
    assert (record.severity, record.span_id) == ("WARN", span.span_id)
    # ... and none of the access lines written before it: stdout carries those.
    assert not [r for r in receiver.logs if r.severity == "INFO"]


def test_no_secret_in_any_exported_byte_or_log_line(
    server: Server, receiver: OtlpReceiver, database_url: str
) -> None:
    password = urlsplit(database_url).password
    assert password
    response = httpx.get(f"{server.base}/collections", headers={"Authorization": AUTHORIZATION})
    spans_of(receiver, trace_id_of(response))
    exported = b"".join(receiver.raw)
    for secret in (password, AUTHORIZATION.split()[1], COOKIE.split("=")[1]):
        assert secret.encode() not in exported
        assert secret.encode() not in server.output


def test_the_sampler_comes_from_the_environment(database_url: str) -> None:
    """always_off: the request still gets a trace id, metrics still flow, no span is exported."""
    receiver = OtlpReceiver()
    receiver.start()
    env = {**otlp_env(receiver), "OTEL_TRACES_SAMPLER": "always_off"}
    try:
        with running_server(database_url, **env) as server:
            response = httpx.get(f"{server.base}/collections")
            assert response.headers["x-amzn-trace-id"].startswith("Root=1-")
            latest(receiver, "http.server.request.duration")
        # The server has stopped, and its shutdown flushed every span it had.
    finally:
        receiver.stop()
    assert [s.name for s in receiver.spans] == []

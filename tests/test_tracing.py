"""Traces as they arrive over OTLP/gRPC from a real server process, in both launch modes:
startup.sh (`opentelemetry-instrument uvicorn`) and plain `uvicorn`; the results must not differ."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest

from harness import secrets_audit
from harness.otlp_receiver import OtlpReceiver
from harness.server_process import PLAIN_UVICORN, Server, running_server
from harness.traces import CLIENT_KIND, SERVER_KIND, STATUS_ERROR, otlp_env, spans_of, trace_id_of

pytestmark = pytest.mark.server  # a real server process: left out of make test-fast

ITEMS = "/collections/public.fire_perimeters/items"
ALB_ROOT = "1-67891233-abcdef012345678912345678"
SECRET = secrets_audit.sent("tracing-test-secret-7f3a")
SECRET_COOKIE = secrets_audit.sent("tracing-cookie-91c2")
SECRET_HEADER = f"Bearer {SECRET}"
LAUNCHERS = {"opentelemetry-instrument": None, "plain-uvicorn": PLAIN_UVICORN}
UNWANTED_WARNINGS = (b"already instrumented", b"Overriding of current", b"Traceback")


@pytest.fixture(scope="module", params=list(LAUNCHERS))
def launcher(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def receiver(launcher: str) -> Iterator[OtlpReceiver]:
    """One receiver per launch mode, so fixed trace ids in the tests are not seen twice."""
    otlp = OtlpReceiver()
    otlp.start()
    yield otlp
    otlp.stop()


@pytest.fixture(scope="module")
def traced(launcher: str, database_url: str, receiver: OtlpReceiver) -> Iterator[Server]:
    with running_server(database_url, LAUNCHERS[launcher], **otlp_env(receiver)) as server:
        yield server
    assert not [w for w in UNWANTED_WARNINGS if w in server.output], server.output.decode()


def test_trace_ids_are_xray_ids_starting_with_the_time(
    traced: Server, receiver: OtlpReceiver
) -> None:
    response = httpx.get(f"{traced.base}{ITEMS}", params={"limit": 3})
    assert response.status_code == 200
    trace_id = trace_id_of(response)
    assert abs(int(trace_id[:8], 16) - time.time()) < 60
    [server_span] = [s for s in spans_of(receiver, trace_id) if s.kind == SERVER_KIND]
    assert server_span.name == "GET /collections/{collectionId}/items"
    assert server_span.resource["service.name"] == "veda-wfs3-test"


def test_sql_spans_are_children_without_parameters(traced: Server, receiver: OtlpReceiver) -> None:
    response = httpx.get(f"{traced.base}{ITEMS}", params={"limit": 2, "bbox": "-120,35,-115,40"})
    spans = spans_of(receiver, trace_id_of(response))
    [server_span] = [s for s in spans if s.kind == SERVER_KIND]
    sql_spans = [s for s in spans if s.kind == CLIENT_KIND]
    assert len(sql_spans) >= 2, "a count and a select"
    for span in sql_spans:
        assert span.parent_span_id == server_span.span_id
        assert "db.statement" in span.attributes or "db.query.text" in span.attributes
        assert not any("parameters" in key for key in span.attributes)
        statement = str(span.attributes.get("db.statement", span.attributes.get("db.query.text")))
        assert "pg_advisory_unlock_all" not in statement


def test_alb_root_without_parent_is_adopted_as_root(traced: Server, receiver: OtlpReceiver) -> None:
    response = httpx.get(
        f"{traced.base}/collections", headers={"X-Amzn-Trace-Id": f"Root={ALB_ROOT}"}
    )
    assert response.headers["x-amzn-trace-id"] == f"Root={ALB_ROOT}"
    [server_span] = [
        s for s in spans_of(receiver, ALB_ROOT[2:].replace("-", "")) if s.kind == SERVER_KIND
    ]
    assert server_span.parent_span_id == "", "a root span: no invented parent"


def test_xray_header_with_parent_joins_the_trace(traced: Server, receiver: OtlpReceiver) -> None:
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    response = httpx.get(f"{traced.base}/collections", headers={"X-Amzn-Trace-Id": header})
    assert response.headers["x-amzn-trace-id"] == "Root=1-5759e988-bd862e3fe1be46a994272793"
    [server_span] = [
        s for s in spans_of(receiver, "5759e988bd862e3fe1be46a994272793") if s.kind == SERVER_KIND
    ]
    assert server_span.parent_span_id == "53995c3f42cd8ad8"


def test_w3c_traceparent_is_honoured(traced: Server, receiver: OtlpReceiver) -> None:
    trace_id, parent = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    response = httpx.get(
        f"{traced.base}/conformance", headers={"traceparent": f"00-{trace_id}-{parent}-01"}
    )
    assert trace_id_of(response) == trace_id
    [server_span] = [s for s in spans_of(receiver, trace_id) if s.kind == SERVER_KIND]
    assert server_span.parent_span_id == parent


@pytest.mark.parametrize(
    "header",
    ["Root=garbage", "Root=1-zzzzzzzz-abcdef012345678912345678", ";;;", "Root=" + "9" * 500],
)
def test_malformed_trace_headers_are_ignored(traced: Server, header: str) -> None:
    response = httpx.get(f"{traced.base}/conformance", headers={"X-Amzn-Trace-Id": header})
    assert response.status_code == 200
    assert abs(int(trace_id_of(response)[:8], 16) - time.time()) < 60


def test_error_bodies_carry_the_trace_id(traced: Server, receiver: OtlpReceiver) -> None:
    response = httpx.get(f"{traced.base}{ITEMS}", params={"bbox": "nope"})
    assert response.status_code == 400
    body = response.json()
    assert body["traceId"] == response.headers["x-amzn-trace-id"].removeprefix("Root=")
    spans_of(receiver, trace_id_of(response))


def test_one_server_span_per_request_and_none_for_probes(
    traced: Server, receiver: OtlpReceiver
) -> None:
    ids = [trace_id_of(httpx.get(f"{traced.base}/collections/public.fire_lines")) for _ in range(5)]
    for trace_id in ids:
        server_spans = [s for s in spans_of(receiver, trace_id) if s.kind == SERVER_KIND]
        assert len(server_spans) == 1
        assert server_spans[0].name == "GET /collections/{collectionId}"
    probe = httpx.get(f"{traced.base}/healthz")
    probe_trace = probe.headers.get("x-amzn-trace-id")
    # Spans are exported in the order they end: once a later request's span is here, a span of
    # the probe would be too.
    spans_of(receiver, trace_id_of(httpx.get(f"{traced.base}/collections/public.fire_lines")))
    assert not [s for s in receiver.spans if s.name.endswith("/healthz")]
    assert probe_trace is None, "no trace, so no trace header either"


def test_no_send_receive_chunk_spans(traced: Server, receiver: OtlpReceiver) -> None:
    response = httpx.get(f"{traced.base}{ITEMS}", params={"limit": 50})
    spans = spans_of(receiver, trace_id_of(response))
    assert not [s for s in spans if s.name.endswith((" send", " receive"))]


def test_secret_headers_are_not_exported(traced: Server, receiver: OtlpReceiver) -> None:
    response = httpx.get(
        f"{traced.base}/collections",
        headers={"Authorization": SECRET_HEADER, "Cookie": f"session={SECRET_COOKIE}"},
    )
    spans_of(receiver, trace_id_of(response))
    exported = b"".join(receiver.raw)
    assert SECRET.encode() not in exported
    assert SECRET_COOKIE.encode() not in exported


def test_the_launch_mode_is_the_one_intended(launcher: str, traced: Server) -> None:
    [started] = [r for r in traced.json_lines() if r["message"].startswith("telemetry on")]
    under_launcher = launcher == "opentelemetry-instrument"
    assert started["message"].endswith("launcher: yes" if under_launcher else "launcher: no")


def test_items_span_says_what_was_asked_and_returned(
    traced: Server, receiver: OtlpReceiver
) -> None:
    params = {"limit": 4, "offset": 2, "bbox": "-125,30,-110,45", "filter": "acres > 100"}
    response = httpx.get(f"{traced.base}{ITEMS}", params=params)
    body = response.json()
    [span] = [s for s in spans_of(receiver, trace_id_of(response)) if s.kind == SERVER_KIND]
    assert span.attributes["ogc.collection.id"] == "public.fire_perimeters"
    assert span.attributes["ogc.items.limit"] == 4
    assert span.attributes["ogc.items.offset"] == 2
    assert span.attributes["ogc.items.bbox_given"] is True
    assert span.attributes["ogc.items.filter_given"] is True
    assert span.attributes["ogc.items.datetime_given"] is False
    assert span.attributes["ogc.items.number_matched"] == body["numberMatched"]
    assert span.attributes["ogc.items.number_returned"] == len(body["features"]) == 4
    assert span.attributes["http.response.body.size"] == int(response.headers["content-length"])
    assert span.attributes["http.route"] == "/collections/{collectionId}/items"


def test_tile_span_names_the_route_zoom_and_size(traced: Server, receiver: OtlpReceiver) -> None:
    response = httpx.get(
        f"{traced.base}/collections/public.fire_perimeters/tiles/WebMercatorQuad/3/1/3"
    )
    assert response.status_code == 200 and response.content
    [span] = [s for s in spans_of(receiver, trace_id_of(response)) if s.kind == SERVER_KIND]
    assert span.name == "GET /collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{x}/{y}"
    assert span.attributes["ogc.collection.id"] == "public.fire_perimeters"
    assert span.attributes["ogc.tile.zoom"] == 3
    assert span.attributes["ogc.tile.matrix_set"] == "WebMercatorQuad"
    assert span.attributes["ogc.tile.bytes"] == len(response.content)
    sql = [s for s in spans_of(receiver, trace_id_of(response)) if s.kind == CLIENT_KIND]
    assert any("ST_AsMVT" in s.attributes["db.statement"] for s in sql)


def test_client_errors_name_their_type_without_failing_the_span(
    traced: Server, receiver: OtlpReceiver
) -> None:
    response = httpx.get(f"{traced.base}/collections/public.nope/items")
    assert response.status_code == 404
    [span] = [s for s in spans_of(receiver, trace_id_of(response)) if s.kind == SERVER_KIND]
    assert span.attributes["error.type"] == "NotFound"
    assert span.status_code != STATUS_ERROR, "a 4xx is the client's error, not the server's"


def test_startup_queries_are_one_startup_trace(traced: Server, receiver: OtlpReceiver) -> None:
    startup = receiver.wait_until(lambda: [s for s in receiver.spans if s.name == "startup"])
    [root] = startup
    tree = [s for s in receiver.spans if s.trace_id == root.trace_id]
    sql = [s for s in tree if s.kind == CLIENT_KIND]
    assert len(sql) >= 2, "tipg's per-connection setup and the catalog query"
    by_id = {s.span_id: s for s in tree}
    for span in sql:
        while span.parent_span_id:
            span = by_id[span.parent_span_id]
        assert span is root


def test_resource_names_the_service_and_nothing_from_ecs(
    traced: Server, receiver: OtlpReceiver
) -> None:
    response = httpx.get(f"{traced.base}/conformance")
    [span] = [s for s in spans_of(receiver, trace_id_of(response)) if s.kind == SERVER_KIND]
    assert span.resource["service.version"]
    assert span.resource["deployment.environment"] == "development"
    assert span.resource["service.instance.id"]
    assert not [k for k in span.resource if k.startswith(("aws.", "cloud."))]


def test_the_span_names_its_collection_when_the_catalog_holds_it(
    traced: Server, receiver: OtlpReceiver
) -> None:
    """Tagged at the span's end: an item, a collection twice (the second from memory), not an
    unknown collection's 404."""
    known = "/collections/public.fire_perimeters"
    asked = [f"{known}/items/1", known, known, "/collections/public.unknown/items"]
    tagged = []
    for path in asked:
        response = httpx.get(f"{traced.base}{path}")
        [span] = [s for s in spans_of(receiver, trace_id_of(response)) if s.kind == SERVER_KIND]
        tagged.append((response.status_code, span.attributes.get("ogc.collection.id")))
    fire = "public.fire_perimeters"
    assert tagged == [(200, fire), (200, fire), (200, fire), (404, None)]

"""OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf: the same spans, POSTed to /v1/traces."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx2 as httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from harness.polling import eventually
from harness.server_process import running_server

pytestmark = pytest.mark.server  # a real server process: left out of make test-fast


class HttpReceiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.trace_ids: list[str] = []
        self.paths: set[str] = set()


class _Handler(BaseHTTPRequestHandler):
    server: HttpReceiver

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.paths.add(self.path)
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            for part in request.resource_spans:
                for scope in part.scope_spans:
                    self.server.trace_ids += [s.trace_id.hex() for s in scope.spans]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(ExportTraceServiceResponse().SerializeToString())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    yield receiver
    receiver.shutdown()


def test_spans_and_metrics_over_otlp_http(database_url: str, http_receiver: HttpReceiver) -> None:
    env = {
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{http_receiver.server_address[1]}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_METRIC_EXPORT_INTERVAL": "300",
        "OTEL_LOGS_EXPORTER": "none",
    }
    with running_server(database_url, **env) as server:
        response = httpx.get(f"{server.base}/collections")
        trace_id = response.headers["x-amzn-trace-id"].removeprefix("Root=1-").replace("-", "")
        eventually(
            lambda: trace_id in http_receiver.trace_ids and "/v1/metrics" in http_receiver.paths,
            what="the request's spans and a metrics export",
        )
    assert trace_id in http_receiver.trace_ids
    assert http_receiver.paths == {"/v1/traces", "/v1/metrics"}, "and no logs: exporter none"

"""Reading a request's trace back from an OtlpReceiver: span kinds, the exporter environment a
test server gets, and the wait for a trace's spans."""

from __future__ import annotations

import httpx2 as httpx

from harness.otlp_receiver import OtlpReceiver, ReceivedSpan

SERVER_KIND = 2  # SPAN_KIND_SERVER in OTLP
CLIENT_KIND = 3
STATUS_ERROR = 2


def otlp_env(receiver: OtlpReceiver) -> dict[str, str]:
    """A server's OTEL_* environment: export everything to `receiver`, quickly."""
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_SERVICE_NAME": "veda-wfs3-test",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
    }


def spans_of(receiver: OtlpReceiver, trace_id: str, expect: int = 1) -> list[ReceivedSpan]:
    """Every span of a trace, once `expect` server spans of it have arrived.

    A request's other spans end before its server span, and the batch processor exports spans
    in the order they end, one export at a time: when the server span is here, so are they."""

    def complete() -> list[ReceivedSpan]:
        found = [s for s in receiver.spans if s.trace_id == trace_id]
        servers = [s for s in found if s.kind == SERVER_KIND]
        return found if len(servers) >= expect else []

    return receiver.wait_until(complete, seconds=15)


def trace_id_of(response: httpx.Response) -> str:
    """The trace id (32 hex digits) of the X-Amzn-Trace-Id header the service answered with."""
    header = response.headers["x-amzn-trace-id"]
    assert header.startswith("Root=1-")
    return header.removeprefix("Root=1-").replace("-", "")

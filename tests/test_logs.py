"""The JSON log formatter and the rate limit on the exporters' own complaints."""

from __future__ import annotations

import json
import logging
import sys

from opentelemetry.sdk.trace import TracerProvider

from app.otel.logs import JsonFormatter, RateLimitFilter, exclude_telemetry_logs


def record(name: str, msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, exc_info)


def test_a_line_is_one_json_object_with_extras_and_the_stack() -> None:
    entry = record("app.errors", "failed on %s", "/items", exc=True)
    entry.__dict__["http.route"] = "/collections/{collectionId}/items"
    line = JsonFormatter().format(entry)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "failed on /items"
    assert parsed["level"] == "WARNING"
    assert parsed["http.route"] == "/collections/{collectionId}/items"
    assert parsed["exception"].startswith("Traceback") and "ValueError: boom" in parsed["exception"]
    assert parsed["time"].endswith("Z")


def test_an_undecodable_path_still_makes_valid_json() -> None:
    parsed = json.loads(JsonFormatter().format(record("app.access", "GET %s", "/\udcff\udcfe")))
    assert parsed["message"].startswith("GET /")


def test_lines_written_in_a_span_carry_its_ids_in_xray_form() -> None:
    tracer = TracerProvider().get_tracer(__name__)
    with tracer.start_as_current_span("request") as span:
        parsed = json.loads(JsonFormatter().format(record("app", "inside")))
    context = span.get_span_context()
    hex_id = f"{context.trace_id:032x}"
    assert parsed["trace_id"] == f"1-{hex_id[:8]}-{hex_id[8:]}"
    assert parsed["span_id"] == f"{context.span_id:016x}"


def test_exporter_complaints_are_rate_limited_per_message() -> None:
    now = [0.0]
    limit = RateLimitFilter(seconds=60, clock=lambda: now[0])
    failed = "opentelemetry.exporter.otlp.proto.grpc.exporter"
    passed = [limit.filter(record(failed, "Failed to export %s", "spans")) for _ in range(50)]
    assert passed == [True] + [False] * 49
    assert limit.filter(record(failed, "Transient error %s", "x")), "another message has its own"
    assert limit.filter(record("app.access", "GET / 200")), "our own lines are never limited"
    now[0] = 61.0
    later = record(failed, "Failed to export %s", "spans")
    assert limit.filter(later)
    assert later.__dict__["suppressed_since_last"] == 49


def test_exporter_logs_never_go_back_over_otlp() -> None:
    assert not exclude_telemetry_logs(record("opentelemetry.sdk._shared_internal", "x"))
    assert not exclude_telemetry_logs(record("grpc._channel", "x"))
    assert exclude_telemetry_logs(record("app.access", "x"))


def test_each_line_has_its_own_time_to_the_millisecond() -> None:
    """The formatter formats each second once (a line per request): lines in the same second
    and in the next keep their own times."""
    formatter = JsonFormatter()
    times = []
    for created in (1_700_000_000.125, 1_700_000_000.875, 1_700_000_001.0625, 1_700_000_000.5):
        entry = record("app.access", "GET")
        entry.created, entry.msecs = created, (created - int(created)) * 1000
        times.append(json.loads(formatter.format(entry))["time"])
    assert times == [
        "2023-11-14T22:13:20.125Z",
        "2023-11-14T22:13:20.875Z",
        "2023-11-14T22:13:21.062Z",
        "2023-11-14T22:13:20.500Z",
    ]

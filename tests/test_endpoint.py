"""The OTLP endpoint of each signal is parsed once (app/otel/endpoint.py) with the SDK's rules,
and the exporter sends exactly where the collector gate probes."""

from __future__ import annotations

import os

import pytest

from app.otel.endpoint import endpoint_for
from app.otel.exporters import exporter
from app.settings import TelemetrySettings


@pytest.fixture(autouse=True)
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)


def settings(**env: str) -> TelemetrySettings:
    return TelemetrySettings(_env_file=None, **env)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("env", "signal", "url"),
    [
        ({}, "traces", "http://localhost:4317"),
        (
            {"otel_exporter_otlp_protocol": "http/protobuf"},
            "metrics",
            "http://localhost:4318/v1/metrics",
        ),
        ({"otel_exporter_otlp_endpoint": "http://collector:4317"}, "logs", "http://collector:4317"),
        (
            {
                "otel_exporter_otlp_protocol": "http/protobuf",
                "otel_exporter_otlp_endpoint": "http://c:4318/",
            },
            "traces",
            "http://c:4318/v1/traces",
        ),
        (
            {
                "otel_exporter_otlp_endpoint": "http://c:4317",
                "otel_exporter_otlp_traces_endpoint": "http://t:9",
            },
            "traces",
            "http://t:9",
        ),
        (
            {
                "otel_exporter_otlp_traces_protocol": "http/protobuf",
                "otel_exporter_otlp_traces_endpoint": "http://t:9/x",
            },
            "traces",
            "http://t:9/x",
        ),
    ],
)
def test_the_sdks_rules(env: dict[str, str], signal: str, url: str) -> None:
    endpoint = endpoint_for(settings(**env), signal)  # type: ignore[arg-type]
    assert endpoint is not None and endpoint.url == url


def test_an_exporter_set_to_none_has_no_endpoint() -> None:
    assert endpoint_for(settings(otel_traces_exporter="none"), "traces") is None


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_the_exporter_sends_where_the_gate_probes(protocol: str) -> None:
    given = {
        "otel_exporter_otlp_protocol": protocol,
        "otel_exporter_otlp_endpoint": "http://c:4999",
    }
    endpoint = endpoint_for(settings(**given), "traces")
    assert endpoint is not None
    span_exporter = exporter("traces", endpoint)
    try:
        # Private, read only here: where each SDK exporter keeps its target.
        sent_to = span_exporter._endpoint
        assert endpoint.address == ("c", 4999)
        assert sent_to in ("c:4999", "http://c:4999/v1/traces")
    finally:
        span_exporter.shutdown()

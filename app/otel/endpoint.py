"""Where each signal is exported: the OTLP endpoint, parsed once for the exporter and the gate.

The SDK's exporters would each read OTEL_EXPORTER_OTLP_ENDPOINT and its per-signal variants
themselves, and the collector gate would parse the same variables again to know what to probe:
two readings that could disagree. Here the rules of the Python SDK 1.45 are applied once, and the
resulting URL is handed to the exporter (`endpoint=`) and its host and port to the gate:

- gRPC: OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT, else
  http://localhost:4317 (the exporter takes the scheme for plain text vs TLS, then host:port);
- http/protobuf: OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT as given, else OTEL_EXPORTER_OTLP_ENDPOINT
  (default http://localhost:4318) with `/v1/<signal>` appended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from app.settings import OtlpProtocol, TelemetrySettings

Signal = Literal["traces", "metrics", "logs"]
DEFAULT_BASE = {"grpc": "http://localhost:4317", "http/protobuf": "http://localhost:4318"}


@dataclass(frozen=True)
class OtlpEndpoint:
    protocol: OtlpProtocol
    url: str  # what the exporter is given as `endpoint=`

    @property
    def address(self) -> tuple[str, int]:
        """Host and port to probe (`http://localhost:4317`, `collector:4318/v1/traces`)."""
        return address_of(self.url)


def address_of(endpoint: str) -> tuple[str, int]:
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    default_port = 443 if parts.scheme == "https" else 80
    return parts.hostname or "localhost", parts.port or default_port


def endpoint_for(settings: TelemetrySettings, signal: Signal) -> OtlpEndpoint | None:
    """The endpoint one signal is exported to; None when its exporter is "none"."""
    protocol = settings.protocol(signal)
    if protocol is None:
        return None
    specific: str | None = getattr(settings, f"otel_exporter_otlp_{signal}_endpoint")
    if specific:
        return OtlpEndpoint(protocol, specific)
    base = settings.otel_exporter_otlp_endpoint or DEFAULT_BASE[protocol]
    if protocol == "grpc":
        return OtlpEndpoint(protocol, base)
    return OtlpEndpoint(protocol, f"{base.removesuffix('/')}/v1/{signal}")

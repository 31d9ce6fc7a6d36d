"""The OTLP exporter of each signal, built from its parsed endpoint (app/otel/endpoint.py).

Headers, timeouts and compression are still the SDK's to read from OTEL_EXPORTER_OTLP_*; only
the endpoint is handed in, so that the collector gate probes exactly where spans are sent.
"""

from __future__ import annotations

import importlib
from typing import Any

from opentelemetry.sdk.metrics import Counter, Histogram
from opentelemetry.sdk.metrics.export import AggregationTemporality
from opentelemetry.sdk.metrics.view import (
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
)

from app.otel.endpoint import OtlpEndpoint, Signal
from app.otel.histograms import EXEMPLAR_FILTERS, Aggregation
from app.settings import TelemetrySettings

EXPORTERS: dict[tuple[Signal, str], str] = {
    # The SDK's, with our encoding of the spans (app/otel/span_encoding.py).
    ("traces", "grpc"): "app.otel.span_encoding:OTLPSpanExporter",
    ("traces", "http/protobuf"): (
        "opentelemetry.exporter.otlp.proto.http.trace_exporter:OTLPSpanExporter"
    ),
    ("metrics", "grpc"): (
        "opentelemetry.exporter.otlp.proto.grpc.metric_exporter:OTLPMetricExporter"
    ),
    ("metrics", "http/protobuf"): (
        "opentelemetry.exporter.otlp.proto.http.metric_exporter:OTLPMetricExporter"
    ),
    ("logs", "grpc"): "opentelemetry.exporter.otlp.proto.grpc._log_exporter:OTLPLogExporter",
    ("logs", "http/protobuf"): (
        "opentelemetry.exporter.otlp.proto.http._log_exporter:OTLPLogExporter"
    ),
}

# The gRPC exporters open a new channel when an export finds the collector unavailable. With
# gRPC's shared subchannel pool, that channel inherits the connection the three exporters share,
# still in the reconnect backoff their failed attempts grew (up to 120 s): after an 80 s outage
# no span came in the 16 s after the collector was back. A pool of its own connects at once.
GRPC_CHANNEL_OPTIONS = (("grpc.use_local_subchannel_pool", 1),)


def exporter(signal: Signal, endpoint: OtlpEndpoint, **options: Any) -> Any:
    """The OTLP exporter for one signal, sending to `endpoint`."""
    module, name = EXPORTERS[(signal, endpoint.protocol)].split(":")
    if endpoint.protocol == "grpc":
        options["channel_options"] = GRPC_CHANNEL_OPTIONS
    return getattr(importlib.import_module(module), name)(endpoint=endpoint.url, **options)


def histogram_aggregation(settings: TelemetrySettings) -> Aggregation:
    """How app/otel/histograms.py aggregates: as the SDK would, by the same settings."""
    temporality = (
        AggregationTemporality.DELTA
        if settings.otel_exporter_otlp_metrics_temporality_preference == "delta"
        else AggregationTemporality.CUMULATIVE
    )
    exponential = (
        settings.otel_exporter_otlp_metrics_default_histogram_aggregation
        == "base2_exponential_bucket_histogram"
    )
    exemplars = EXEMPLAR_FILTERS[settings.otel_metrics_exemplar_filter]
    return Aggregation(temporality, exponential, exemplars)


def metric_preferences(settings: TelemetrySettings) -> dict[str, Any]:
    """Temporality and histogram aggregation of the metric exporter (see TelemetrySettings)."""
    ours = histogram_aggregation(settings)
    temporality, exponential = ours.temporality, ours.exponential
    aggregation = (
        ExponentialBucketHistogramAggregation()
        if exponential
        else ExplicitBucketHistogramAggregation()
    )
    return {
        # Up-down counters and gauges stay cumulative, as the SDK's own "delta" preference has it.
        "preferred_temporality": {Counter: temporality, Histogram: temporality},
        "preferred_aggregation": {Histogram: aggregation},
    }

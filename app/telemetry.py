"""The one place that configures OpenTelemetry: providers, exporters, propagators, instrumentation.

Configuration is the standard OTEL_* environment. The SDK reads most of it itself: the endpoint
(default gRPC to localhost:4317), headers, timeouts, the sampler (OTEL_TRACES_SAMPLER / _ARG,
default parent-based always-on), batch and export intervals. TelemetrySettings carries what our
code reads: OTEL_SDK_DISABLED=true, which turns all of it off (no provider, no instrumentation,
no per-request work), and the OTLP protocol per signal.

It works the same under plain `uvicorn` and under `opentelemetry-instrument uvicorn`. Without
opentelemetry-distro (deliberately not installed), the launcher sets no provider; it only runs the
installed instrumentors, which patch `fastapi.FastAPI` with a subclass that instruments each new
app. Our app is built from the original FastAPI class (its server span comes from
app/server_span.py, which is cheaper). SQL spans come from the pool's connection class
(app/sql_spans.py); no asyncpg instrumentor is installed, so there is nothing to patch twice.

Every other module only asks `trace.get_tracer(__name__)` / `metrics.get_meter(__name__)`.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI
from opentelemetry import _logs, metrics, propagate, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import (
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from app.collector_gate import CollectorGate, GatedBatchSpanProcessor, address_of
from app.logs import exclude_telemetry_logs
from app.resource import build_resource
from app.settings import TelemetrySettings
from app.xray import AdoptingXRayIdGenerator, AlbAwareXRayPropagator

logger = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 5.0

Signal = Literal["traces", "metrics", "logs"]
EXPORTERS: dict[tuple[Signal, str], str] = {
    ("traces", "grpc"): "opentelemetry.exporter.otlp.proto.grpc.trace_exporter:OTLPSpanExporter",
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


def _exporter(settings: TelemetrySettings, signal: Signal, **options: Any) -> Any | None:
    """The OTLP exporter for one signal (endpoint, headers, timeout from OTEL_*), or None."""
    protocol = settings.protocol(signal)
    if protocol is None:
        return None
    module, name = EXPORTERS[(signal, protocol)].split(":")
    if protocol == "grpc":
        options["channel_options"] = GRPC_CHANNEL_OPTIONS
    return getattr(importlib.import_module(module), name)(**options)


def _metric_preferences(settings: TelemetrySettings) -> dict[str, Any]:
    """Temporality and histogram aggregation of the metric exporter (see TelemetrySettings)."""
    temporality = (
        AggregationTemporality.DELTA
        if settings.otel_exporter_otlp_metrics_temporality_preference == "delta"
        else AggregationTemporality.CUMULATIVE
    )
    exponential = (
        settings.otel_exporter_otlp_metrics_default_histogram_aggregation
        == "base2_exponential_bucket_histogram"
    )
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


@dataclass
class Telemetry:
    """The process's providers; shut down by the app's lifespan."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    log_handler: logging.Handler | None

    def shutdown(self, seconds: float = SHUTDOWN_SECONDS) -> None:
        """Flush what can be flushed, and give up after `seconds` (a black-holed collector
        would otherwise hold the exit for the exporter's full timeout)."""
        if self.log_handler is not None:
            logging.getLogger().removeHandler(self.log_handler)
        worker = threading.Thread(target=self._flush_and_close, args=(seconds,), daemon=True)
        worker.start()
        worker.join(seconds)
        if worker.is_alive():
            logger.warning("telemetry not flushed within %.0fs; exiting without it", seconds)

    def _flush_and_close(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        for provider in (self.tracer_provider, self.meter_provider, self.logger_provider):
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            provider.force_flush(remaining_ms)
            provider.shutdown()


_telemetry: Telemetry | None = None


def _tracer_provider(settings: TelemetrySettings, resource: Resource) -> TracerProvider:
    provider = TracerProvider(
        resource=resource, id_generator=AdoptingXRayIdGenerator(), shutdown_on_exit=False
    )
    if exporter := _exporter(settings, "traces"):
        gate = CollectorGate(address_of(settings.traces_endpoint()))
        provider.add_span_processor(GatedBatchSpanProcessor(exporter, gate))
    return provider


def _meter_provider(settings: TelemetrySettings, resource: Resource) -> MeterProvider:
    exporter = _exporter(settings, "metrics", **_metric_preferences(settings))
    readers = [PeriodicExportingMetricReader(exporter)] if exporter else []
    return MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)


def _logger_provider(settings: TelemetrySettings, resource: Resource) -> LoggerProvider:
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    if exporter := _exporter(settings, "logs"):
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    return provider


def _otlp_log_handler(provider: LoggerProvider, level: str) -> logging.Handler:
    """Log lines at `level` and above also go over OTLP, with their span's ids."""
    with warnings.catch_warnings():
        # The SDK's handler is deprecated in favour of opentelemetry-instrumentation-logging,
        # whose instrumentor would also patch logging under opentelemetry-instrument only.
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(level=logging.getLevelName(level), logger_provider=provider)
    handler.addFilter(exclude_telemetry_logs)
    logging.getLogger().addHandler(handler)
    return handler


def _start(settings: TelemetrySettings) -> Telemetry:
    resource = build_resource(on_ecs=settings.ecs_container_metadata_uri_v4 is not None)
    logger_provider = _logger_provider(settings, resource)
    telemetry = Telemetry(
        tracer_provider=_tracer_provider(settings, resource),
        meter_provider=_meter_provider(settings, resource),
        logger_provider=logger_provider,
        log_handler=(
            _otlp_log_handler(logger_provider, settings.wfs3_otlp_log_level)
            if settings.protocol("logs")
            else None
        ),
    )
    trace.set_tracer_provider(telemetry.tracer_provider)
    metrics.set_meter_provider(telemetry.meter_provider)
    _logs.set_logger_provider(telemetry.logger_provider)
    propagate.set_global_textmap(
        CompositePropagator([AlbAwareXRayPropagator(), TraceContextTextMapPropagator()])
    )
    logger.info(
        "telemetry on: OTLP traces over %s, metrics over %s, logs over %s; auto-instrumentation "
        "launcher: %s",
        *(settings.protocol(signal) or "none (off)" for signal in ("traces", "metrics", "logs")),
        "yes" if FastAPIInstrumentor().is_instrumented_by_opentelemetry else "no",
    )
    return telemetry


def setup(settings: TelemetrySettings) -> Telemetry | None:
    """Configure OpenTelemetry for this process, once; None when OTEL_SDK_DISABLED=true."""
    global _telemetry
    if settings.otel_sdk_disabled:
        return None
    if _telemetry is None:
        _telemetry = _start(settings)
    return _telemetry


def fastapi_class() -> type[FastAPI]:
    """FastAPI itself, even when opentelemetry-instrument has swapped in its subclass."""
    original: type[FastAPI] | None = getattr(FastAPIInstrumentor(), "_original_fastapi", None)
    return original or FastAPI

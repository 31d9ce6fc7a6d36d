"""The one place that configures OpenTelemetry, and the one object the rest of the app gets.

`setup(settings)` returns a Telemetry: what the other packages need from telemetry, handed in by
the factory (the pool's connection class, the catalog's collection class, the request metrics,
the pool-wait histogram, the trace header for error bodies). With OTEL_SDK_DISABLED=true it is
the do-nothing base class: plain asyncpg connections, no metrics, no provider, no per-request
work. No other module asks whether telemetry is on.

Configuration is the standard OTEL_* environment. The endpoints are parsed once here
(app/otel/endpoint.py) for the exporters and the collector gate; the SDK reads the rest itself:
headers, timeouts, the sampler (OTEL_TRACES_SAMPLER / _ARG, default parent-based always-on),
batch and export intervals. The one sampler that is ours, OTEL_TRACES_SAMPLER=xray (X-Ray's
sampling rules), is built here (app/otel/xray_sampler.py).

It works the same under plain `uvicorn` and under `opentelemetry-instrument uvicorn`. Without
opentelemetry-distro (deliberately not installed), the launcher sets no provider; it only runs the
installed instrumentors, which patch `fastapi.FastAPI` with a subclass that instruments each new
app. Our app is built from the original FastAPI class (its server span comes from
app/otel/server_span.py, which is cheaper). SQL spans come from the pool's connection class
(app/otel/sql_spans.py); no asyncpg instrumentor is installed, so there is nothing to patch twice.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import asyncpg
from fastapi import FastAPI
from opentelemetry import _logs, metrics, propagate, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    AlwaysOnExemplarFilter,
    MeterProvider,
    TraceBasedExemplarFilter,
)
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from app.db.pool import WaitRecorder
from app.ogc.catalog import ServedCollection
from app.otel import histograms
from app.otel.collections import ObservedCollection
from app.otel.collector_gate import CollectorGate, GatedBatchSpanProcessor
from app.otel.endpoint import endpoint_for
from app.otel.exporters import exporter, histogram_aggregation, metric_preferences
from app.otel.freshness import observe_freshness
from app.otel.logs import exclude_telemetry_logs
from app.otel.observer import RequestMetrics
from app.otel.pool_metrics import observe_pool
from app.otel.resource import build_resource
from app.otel.sampling_poller import SamplingPoller, SamplingProxyClient
from app.otel.sql_spans import TracedConnection
from app.otel.xray import AdoptingXRayIdGenerator, AlbAwareXRayPropagator, current_trace_header
from app.otel.xray_sampler import XRayRulesSampler
from app.settings import TelemetrySettings

logger = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 5.0
EXEMPLAR_FILTERS: dict[
    str, type[AlwaysOffExemplarFilter | AlwaysOnExemplarFilter | TraceBasedExemplarFilter]
] = {
    "always_on": AlwaysOnExemplarFilter,
    "always_off": AlwaysOffExemplarFilter,
    "trace_based": TraceBasedExemplarFilter,
}


class Telemetry:
    """Telemetry switched off (OTEL_SDK_DISABLED=true): every part is the plain one."""

    connection_class: type[asyncpg.Connection] = asyncpg.Connection
    collection_class: type[ServedCollection] = ServedCollection
    request_metrics: RequestMetrics | None = None

    def observe_pool(self, current_pool: Callable[[], Any]) -> WaitRecorder | None:
        """Pool gauges read from `current_pool()`; the histogram BoundedPool records waits in."""
        return None

    def observe_freshness(self, current_catalog: Callable[[], Any]) -> None:
        """The age of each collection's newest row, read from `current_catalog()` on export."""

    def trace_header(self) -> str | None:
        """`Root=1-…` of the current request's trace, for error bodies."""
        return None

    def shutdown(self, seconds: float = SHUTDOWN_SECONDS) -> None:
        """Flush and close the exporters (called by the app's lifespan)."""


class ExportingTelemetry(Telemetry):
    """Traces, metrics and logs exported over OTLP; SQL spans and observed collections."""

    connection_class = TracedConnection
    collection_class = ObservedCollection

    def __init__(
        self,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        logger_provider: LoggerProvider,
        log_handler: logging.Handler | None,
        sampling_poller: SamplingPoller | None = None,
    ) -> None:
        self.providers = (tracer_provider, meter_provider, logger_provider)
        self.log_handler = log_handler
        self.sampling_poller = sampling_poller
        # After the meter provider is global: instruments bind to the provider of their time.
        self.request_metrics = RequestMetrics()

    def observe_pool(self, current_pool: Callable[[], Any]) -> WaitRecorder | None:
        return observe_pool(current_pool)

    def observe_freshness(self, current_catalog: Callable[[], Any]) -> None:
        observe_freshness(current_catalog)

    def trace_header(self) -> str | None:
        return current_trace_header()

    def shutdown(self, seconds: float = SHUTDOWN_SECONDS) -> None:
        """Flush what can be flushed, and give up after `seconds` (a black-holed collector
        would otherwise hold the exit for the exporter's full timeout)."""
        if self.log_handler is not None:
            logging.getLogger().removeHandler(self.log_handler)
        if self.sampling_poller is not None:
            # No wait: the thread is a daemon, and the flush below has the time there is.
            self.sampling_poller.stop(wait_seconds=0)
        worker = threading.Thread(target=self._flush_and_close, args=(seconds,), daemon=True)
        worker.start()
        worker.join(seconds)
        if worker.is_alive():
            logger.warning("telemetry not flushed within %.0fs; exiting without it", seconds)

    def _flush_and_close(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        for provider in self.providers:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            provider.force_flush(remaining_ms)
            provider.shutdown()


def _xray_sampling(
    settings: TelemetrySettings, resource: Resource
) -> tuple[Sampler | None, SamplingPoller | None]:
    """With OTEL_TRACES_SAMPLER=xray, our sampler and the thread that keeps it current;
    otherwise (None, None): the SDK builds the sampler the variables name."""
    if settings.otel_traces_sampler != "xray":
        return None, None
    rules = XRayRulesSampler(resource, settings.xray_fallback_ratio())
    client = SamplingProxyClient(settings.wfs3_xray_sampling_endpoint)
    poller = SamplingPoller(rules, client, settings.wfs3_xray_rules_interval)
    poller.start()
    return ParentBased(rules), poller


def _tracer_provider(
    settings: TelemetrySettings, resource: Resource, sampler: Sampler | None
) -> TracerProvider:
    provider = TracerProvider(
        sampler=sampler,  # None: the one OTEL_TRACES_SAMPLER names, built by the SDK
        resource=resource,
        id_generator=AdoptingXRayIdGenerator(),
        shutdown_on_exit=False,
    )
    if endpoint := endpoint_for(settings, "traces"):
        gate = CollectorGate(endpoint.address)
        provider.add_span_processor(GatedBatchSpanProcessor(exporter("traces", endpoint), gate))
    return provider


def _meter_provider(settings: TelemetrySettings, resource: Resource) -> MeterProvider:
    readers = []
    if endpoint := endpoint_for(settings, "metrics"):
        preferences = metric_preferences(settings)
        otlp = exporter("metrics", endpoint, **preferences)
        # The request path's histograms (histograms.py) join each export of the SDK's metrics.
        exporting = histograms.WithHistograms(otlp, resource, **preferences)
        readers.append(PeriodicExportingMetricReader(exporting))
        histograms.start(histogram_aggregation(settings))
    return MeterProvider(
        resource=resource,
        metric_readers=readers,
        exemplar_filter=EXEMPLAR_FILTERS[settings.otel_metrics_exemplar_filter](),
        shutdown_on_exit=False,
    )


def _logger_provider(settings: TelemetrySettings, resource: Resource) -> LoggerProvider:
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    if endpoint := endpoint_for(settings, "logs"):
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter("logs", endpoint)))
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


def _start(settings: TelemetrySettings) -> ExportingTelemetry:
    resource = build_resource(on_ecs=settings.ecs_container_metadata_uri_v4 is not None)
    sampler, sampling_poller = _xray_sampling(settings, resource)
    tracer_provider = _tracer_provider(settings, resource, sampler)
    meter_provider = _meter_provider(settings, resource)
    logger_provider = _logger_provider(settings, resource)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    _logs.set_logger_provider(logger_provider)
    propagate.set_global_textmap(
        CompositePropagator([AlbAwareXRayPropagator(), TraceContextTextMapPropagator()])
    )
    handler = None
    if settings.protocol("logs"):
        handler = _otlp_log_handler(logger_provider, settings.wfs3_otlp_log_level)
    logger.info(
        "telemetry on: OTLP traces over %s, metrics over %s, logs over %s; sampler %s; "
        "auto-instrumentation launcher: %s",
        *(settings.protocol(signal) or "none (off)" for signal in ("traces", "metrics", "logs")),
        tracer_provider.sampler.get_description(),
        "yes" if FastAPIInstrumentor().is_instrumented_by_opentelemetry else "no",
    )
    return ExportingTelemetry(
        tracer_provider, meter_provider, logger_provider, handler, sampling_poller
    )


_exporting: ExportingTelemetry | None = None


def setup(settings: TelemetrySettings) -> Telemetry:
    """Configure OpenTelemetry for this process, once; the do-nothing Telemetry when
    OTEL_SDK_DISABLED=true."""
    global _exporting
    if settings.otel_sdk_disabled:
        return Telemetry()
    if _exporting is None:
        _exporting = _start(settings)
    return _exporting


def fastapi_class() -> type[FastAPI]:
    """FastAPI itself, even when opentelemetry-instrument has swapped in its subclass.

    Private: the instrumentor keeps the class it replaced in `_original_fastapi`."""
    original: type[FastAPI] | None = getattr(FastAPIInstrumentor(), "_original_fastapi", None)
    return original or FastAPI

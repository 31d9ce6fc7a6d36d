"""The one place that configures OpenTelemetry: provider, propagators, instrumentation.

Configuration is the standard OTEL_* environment, read by the SDK itself: OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_ENDPOINT / _PROTOCOL (default gRPC to
localhost:4317), OTEL_TRACES_SAMPLER / _ARG (default parent-based always-on), and
OTEL_SDK_DISABLED=true (TelemetrySettings), which turns all of it off: no provider, no
instrumentation, no cost.
Every other module only asks `trace.get_tracer(__name__)`.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from app import __version__
from app.xray import AdoptingXRayIdGenerator, AlbAwareXRayPropagator

# Probes are polled every few seconds by the ALB and ECS: spans for them are noise.
EXCLUDED_URLS = "healthz,readyz"


def _otlp_span_processor() -> SpanProcessor:
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    )
    if protocol.startswith("http"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[assignment]
            OTLPSpanExporter,
        )
    return BatchSpanProcessor(OTLPSpanExporter())


def tracer_provider() -> TracerProvider:
    """The process's TracerProvider, made once."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    resource = Resource.create({"service.version": __version__}).merge(Resource.create())
    provider = TracerProvider(resource=resource, id_generator=AdoptingXRayIdGenerator())
    provider.add_span_processor(_otlp_span_processor())
    trace.set_tracer_provider(provider)
    propagate.set_global_textmap(
        CompositePropagator([AlbAwareXRayPropagator(), TraceContextTextMapPropagator()])
    )
    return provider


def instrument(app: FastAPI) -> None:
    """Server spans named by route template, SQL client spans below them; once per app."""
    provider = tracer_provider()
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=EXCLUDED_URLS,
        exclude_spans=["receive", "send"],
    )
    asyncpg_instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    if not asyncpg_instrumentor.is_instrumented_by_opentelemetry:
        asyncpg_instrumentor.instrument(tracer_provider=provider)

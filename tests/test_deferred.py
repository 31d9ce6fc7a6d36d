"""app/otel/deferred.py: histogram values held off the request path reach the SDK's histogram,
all of them, by the next collection; the values that may be exemplars (as the exemplar filter
says) at once, in their request's context.

Real SDK parts (MeterProvider, InMemoryMetricReader, TracerProvider); how the values reach a
collector from the running service is tests/test_signals.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import AlwaysOnExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

from app.otel.deferred import (
    BATCH,
    FLUSH_INSTRUMENT,
    DeferredHistogram,
    flush_at_collection,
    record_at_once_for,
)

GET = {"http.request.method": "GET", "http.route": "/collections"}
HEAD = {"http.request.method": "HEAD", "http.route": "/collections"}


@pytest.fixture
def reader() -> Iterator[InMemoryMetricReader]:
    memory = InMemoryMetricReader()
    provider = MeterProvider(
        metric_readers=[memory], exemplar_filter=AlwaysOnExemplarFilter(), shutdown_on_exit=False
    )
    flush_at_collection(provider)
    memory.provider = provider  # type: ignore[attr-defined]  # for the test's histogram
    yield memory
    provider.shutdown()


def histogram(reader: InMemoryMetricReader) -> DeferredHistogram:
    meter = reader.provider.get_meter("test")  # type: ignore[attr-defined]
    return DeferredHistogram(meter.create_histogram("test.duration", unit="s"))


def points(reader: InMemoryMetricReader) -> dict[str, Any]:
    """name -> data points of the metrics one collection exports."""
    data = reader.get_metrics_data()
    assert data is not None
    return points_of(data)


def points_of(data: Any) -> dict[str, Any]:
    return {
        metric.name: list(metric.data.data_points)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }


def test_every_value_reaches_the_histogram_by_the_next_collection(
    reader: InMemoryMetricReader,
) -> None:
    durations = histogram(reader)
    for value in (0.1, 0.2, 0.3):
        durations.record(value, GET)
    durations.record(0.5, HEAD)

    exported = points(reader)

    by_method = {p.attributes["http.request.method"]: p for p in exported["test.duration"]}
    assert (by_method["GET"].count, by_method["GET"].sum) == (3, pytest.approx(0.6))
    assert (by_method["HEAD"].count, by_method["HEAD"].sum) == (1, 0.5)
    assert dict(by_method["GET"].attributes) == GET
    assert FLUSH_INSTRUMENT not in exported  # the flush's gauge observes nothing


def test_a_full_batch_is_handed_over_without_a_collection(reader: InMemoryMetricReader) -> None:
    other = InMemoryMetricReader()  # a provider whose collections do not flush
    provider = MeterProvider(metric_readers=[other], shutdown_on_exit=False)
    durations = DeferredHistogram(provider.get_meter("test").create_histogram("test.duration"))
    for _ in range(BATCH + 1):
        durations.record(0.01, GET)

    (point,) = points(other)["test.duration"]

    assert point.count == BATCH  # the full batch; the last value waits for the next one
    provider.shutdown()


def test_a_sampled_request_records_at_once_with_its_trace(reader: InMemoryMetricReader) -> None:
    record_at_once_for("trace_based")
    durations = histogram(reader)
    sampled = TracerProvider(sampler=ALWAYS_ON).get_tracer("test")
    unsampled = TracerProvider(sampler=ALWAYS_OFF).get_tracer("test")
    with sampled.start_as_current_span("sampled") as span:
        durations.record(0.25, GET)
        trace_id = span.get_span_context().trace_id
    with unsampled.start_as_current_span("unsampled"):
        durations.record(0.75, GET)

    (point,) = points(reader)["test.duration"]

    assert point.count == 2
    assert [e.trace_id for e in point.exemplars] == [trace_id]


def _held_back(exemplar_filter: str, sampled: bool) -> bool:
    """Whether a value recorded under `exemplar_filter`, in a sampled or unsampled request, is
    held back: not in the SDK's histogram before a flush (a provider that never flushes)."""
    record_at_once_for(exemplar_filter)
    other = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[other], shutdown_on_exit=False)
    durations = DeferredHistogram(provider.get_meter("test").create_histogram("test.duration"))
    tracer = TracerProvider(sampler=ALWAYS_ON if sampled else ALWAYS_OFF).get_tracer("test")
    with tracer.start_as_current_span("request"):
        durations.record(0.25, GET)
    data = other.get_metrics_data()  # None: nothing recorded at all
    held = data is None or "test.duration" not in points_of(data)
    durations.flush()
    provider.shutdown()
    return held


@pytest.mark.parametrize(
    ("exemplar_filter", "sampled", "held"),
    [
        ("always_off", True, True),  # no exemplars: nothing needs its context
        ("always_off", False, True),
        ("trace_based", True, False),
        ("trace_based", False, True),
        ("always_on", True, False),  # every value may be an exemplar
        ("always_on", False, False),
    ],
)
def test_what_is_recorded_at_once_follows_the_exemplar_filter(
    exemplar_filter: str, sampled: bool, held: bool
) -> None:
    try:
        assert _held_back(exemplar_filter, sampled) is held
    finally:
        record_at_once_for("trace_based")

"""app/otel/histograms.py: the request path's histograms aggregate as the SDK's own would (its
exponential buckets, or explicit ones; delta or cumulative), and their points reach each export
beside the SDK's metrics.

The SDK is the reference: the same values recorded into a real MeterProvider's histogram, read by
a real reader, must give the same points. How the points reach a collector from the running
service is tests/test_signals.py's and tests/test_slo_e2e.py's.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import Histogram as HistogramInstrument
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import (
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

from app.otel import histograms
from app.otel.histograms import (
    EXEMPLAR_FILTERS,
    SCOPE,
    AggregatedHistogram,
    Aggregation,
    WithHistograms,
    exponential_index,
    key_of,
)

DELTA, CUMULATIVE = AggregationTemporality.DELTA, AggregationTemporality.CUMULATIVE
BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
GET = {"http.request.method": "GET", "http.route": "/collections"}
HEAD = {"http.request.method": "HEAD", "http.route": "/collections"}
# Durations as a service sees them, and what makes buckets move: zeros, exact powers of two,
# a range wide enough to make the exponential buckets scale down several times.
SPREAD = [0.0, 0.5, 1.0, 2.0, 0.125, 1e-6, 3e-5, 0.0042, 7.5, 1234.5, 2.0**-20]


def _values(seed: int, count: int) -> list[float]:
    rng = random.Random(seed)
    drawn = [rng.lognormvariate(-5, 1.5) for _ in range(count)]
    return [*drawn, *SPREAD]


def _sdk_point(values: list[float], exponential: bool) -> Any:
    """The SDK's own point for `values`, recorded with GET's attributes."""
    aggregation = (
        ExponentialBucketHistogramAggregation()
        if exponential
        else ExplicitBucketHistogramAggregation()
    )
    reader = InMemoryMetricReader(
        preferred_temporality={HistogramInstrument: DELTA},
        preferred_aggregation={HistogramInstrument: aggregation},
    )
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    sdk = provider.get_meter("reference").create_histogram(
        "d", explicit_bucket_boundaries_advisory=BOUNDS
    )
    for value in values:
        sdk.record(value, GET)
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    [point] = data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points
    return point


def _by_index(buckets: Any) -> dict[int, int]:
    counts = enumerate(buckets.bucket_counts, start=buckets.offset)
    return {index: count for index, count in counts if count}


@pytest.fixture
def aggregating() -> Iterator[Any]:
    """Sets how the histograms aggregate (as telemetry.py does once per process) for one test."""

    def start(
        exponential: bool = True, temporality: Any = DELTA, exemplars: str = "always_off"
    ) -> None:
        histograms.start(Aggregation(temporality, exponential, EXEMPLAR_FILTERS[exemplars]))

    yield start
    histograms.stop()


def _our_points(histogram: AggregatedHistogram, now: int = 2) -> list[Any]:
    metric = histogram.metric(histograms.current(), now)
    return [] if metric is None else list(metric.data.data_points)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_exponential_buckets_are_the_sdks(aggregating: Any, seed: int) -> None:
    aggregating(exponential=True)
    values = _values(seed, 2000)
    ours = AggregatedHistogram("d", "s", "", BOUNDS)
    for value in values:
        ours.record(value, GET)
    [point] = _our_points(ours)
    theirs = _sdk_point(values, exponential=True)
    assert (point.scale, point.zero_count, point.count) == (
        theirs.scale,
        theirs.zero_count,
        theirs.count,
    )
    # Buckets by index: the SDK's list may run on with empty buckets past the last value's.
    assert _by_index(point.positive) == _by_index(theirs.positive)
    assert (point.min, point.max, point.sum) == (theirs.min, theirs.max, pytest.approx(theirs.sum))
    assert point.scale < 20, "the values made the buckets scale down"


def test_explicit_buckets_are_the_sdks(aggregating: Any) -> None:
    aggregating(exponential=False)
    values = _values(4, 2000) + BOUNDS  # a value on a bound belongs to the bucket it ends
    ours = AggregatedHistogram("d", "s", "", BOUNDS)
    for value in values:
        ours.record(value, GET)
    [point] = _our_points(ours)
    theirs = _sdk_point(values, exponential=False)
    assert list(point.bucket_counts) == list(theirs.bucket_counts)
    assert list(point.explicit_bounds) == list(theirs.explicit_bounds) == BOUNDS
    assert (point.count, point.min, point.max) == (theirs.count, theirs.min, theirs.max)


@pytest.mark.parametrize("scale", [-3, -1, 0, 1, 3, 20])
def test_an_exact_power_of_two_ends_the_bucket_below(scale: int) -> None:
    """At any scale, the powers of two that are bucket boundaries belong to the bucket below."""
    octaves = 2 ** max(0, -scale)  # powers of two per bucket
    for boundary in (-20, -1, 0, 1, 10):
        value = 2.0 ** (boundary * octaves)
        assert exponential_index(value, scale) == exponential_index(value * (1 - 2**-40), scale)
        assert exponential_index(value * (1 + 2**-40), scale) == exponential_index(value, scale) + 1


def test_attribute_sets_are_points_of_their_own(aggregating: Any) -> None:
    aggregating()
    ours = AggregatedHistogram("d", "s", "", BOUNDS)
    for value in (0.1, 0.2, 0.3):
        ours.record(value, GET)
    ours.record(0.5, HEAD)
    by_method = {p.attributes["http.request.method"]: p for p in _our_points(ours)}
    assert (by_method["GET"].count, by_method["GET"].sum) == (3, pytest.approx(0.6))
    assert (by_method["HEAD"].count, by_method["HEAD"].sum) == (1, 0.5)
    assert dict(by_method["GET"].attributes) == GET


def test_a_key_made_once_is_the_same_set_as_its_mapping(aggregating: Any) -> None:
    """Callers that record one attribute set per request pass its key_of, made once: the values
    land in the same point as those recorded with the mapping."""
    aggregating()
    ours = AggregatedHistogram("d", "s", "", BOUNDS)
    ours.record(0.1, GET)
    ours.record(0.2, key_of(GET))
    (point,) = _our_points(ours)
    assert (point.count, point.sum, dict(point.attributes)) == (2, pytest.approx(0.3), GET)


def test_delta_starts_each_interval_empty(aggregating: Any) -> None:
    aggregating(temporality=DELTA)
    ours = AggregatedHistogram("d", "s", "", BOUNDS)
    ours.record(0.1, GET)
    [first] = _our_points(ours, now=10)
    assert _our_points(ours, now=20) == []  # nothing recorded since: no point, as the SDK
    ours.record(0.2, GET)
    [second] = _our_points(ours, now=30)
    assert (first.count, second.count, second.sum) == (1, 1, 0.2)
    assert (second.start_time_unix_nano, second.time_unix_nano) == (20, 30)


def test_cumulative_keeps_every_value(aggregating: Any) -> None:
    aggregating(temporality=CUMULATIVE)
    ours = AggregatedHistogram("d", "s", "", BOUNDS)
    ours.record(0.1, GET)
    [first] = _our_points(ours, now=10**20)
    ours.record(0.2, GET)
    [second] = _our_points(ours, now=10**20 + 1)
    assert (first.count, second.count) == (1, 2)
    assert second.start_time_unix_nano == first.start_time_unix_nano


def test_a_value_the_sdk_refuses_is_not_kept(aggregating: Any) -> None:
    aggregating()
    ours = AggregatedHistogram("d", "s", "", BOUNDS)
    for value in (-1.0, float("nan"), float("inf")):
        ours.record(value, GET)
    assert _our_points(ours) == []


def test_nothing_is_kept_while_nothing_exports() -> None:
    ours = AggregatedHistogram("d", "s", "", BOUNDS)
    ours.record(0.1, GET)
    assert histograms.metrics(1) == []
    assert ours._live == {}  # noqa: SLF001  # nothing kept for an export that never comes
    assert ours._held == []  # noqa: SLF001


def test_at_most_held_values_wait_for_their_buckets(aggregating: Any) -> None:
    """Values are held, then added HELD at a time: what waits for an export stays bounded."""
    aggregating()
    ours = AggregatedHistogram("d", "s", "", BOUNDS)
    for _ in range(histograms.HELD - 1):
        ours.record(0.1, GET)
    assert len(ours._held) == histograms.HELD - 1  # noqa: SLF001
    ours.record(0.1, GET)
    assert ours._held == []  # noqa: SLF001
    for _ in range(3 * histograms.HELD + 5):
        ours.record(0.2, HEAD)
        assert len(ours._held) < histograms.HELD  # noqa: SLF001
    counts = {point.attributes["http.request.method"]: point.count for point in _our_points(ours)}
    assert counts == {"GET": histograms.HELD, "HEAD": 3 * histograms.HELD + 5}


def test_a_held_set_starts_no_later_than_its_first_value(aggregating: Any) -> None:
    """Cumulative points start when their attribute set's first value was recorded, not when the
    held values were added to the buckets."""
    aggregating(temporality=CUMULATIVE)
    ours = AggregatedHistogram("d", "s", "", BOUNDS)
    before = time.time_ns()
    ours.record(0.1, GET)
    after = time.time_ns()
    [point] = _our_points(ours, now=time.time_ns())
    assert before <= point.start_time_unix_nano <= after


@pytest.mark.parametrize(
    ("exemplars", "expected"), [("always_off", 0), ("trace_based", 1), ("always_on", 2)]
)
def test_exemplars_follow_the_filter(aggregating: Any, exemplars: str, expected: int) -> None:
    aggregating(exponential=False, exemplars=exemplars)
    ours = AggregatedHistogram("d", "s", "", BOUNDS)
    sampled = TracerProvider(sampler=ALWAYS_ON).get_tracer("test")
    unsampled = TracerProvider(sampler=ALWAYS_OFF).get_tracer("test")
    with sampled.start_as_current_span("sampled") as span:
        ours.record(0.002, GET)  # bucket 0
        trace_id = span.get_span_context().trace_id
    with unsampled.start_as_current_span("unsampled"):
        ours.record(0.007, GET)  # bucket 1
    [point] = _our_points(ours)
    assert len(point.exemplars) == expected
    if expected:
        assert point.exemplars[0].trace_id == trace_id
        assert point.exemplars[0].value == 0.002


class _Kept(MetricExporter):
    """An exporter that keeps what it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.exported: list[MetricsData] = []

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kw: Any
    ) -> MetricExportResult:
        self.exported.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kw: Any) -> None:
        pass


def test_each_export_holds_the_sdks_metrics_and_ours(aggregating: Any) -> None:
    aggregating()
    kept = _Kept()
    resource = Resource({"service.name": "test"})
    reader = PeriodicExportingMetricReader(
        WithHistograms(kept, resource), export_interval_millis=10**9
    )
    provider = MeterProvider(metric_readers=[reader], resource=resource, shutdown_on_exit=False)
    provider.get_meter("sdk").create_counter("c").add(1)
    ours = AggregatedHistogram("ours.duration", "s", "ours", BOUNDS)
    ours.record(0.1, GET)
    provider.force_flush()
    provider.shutdown()
    scopes = {
        scope.scope.name: [metric.name for metric in scope.metrics]
        for data in kept.exported
        for resource_metrics in data.resource_metrics
        for scope in resource_metrics.scope_metrics
    }
    assert scopes == {"sdk": ["c"], SCOPE.name: ["ours.duration"]}
    assert all(rm.resource == resource for data in kept.exported for rm in data.resource_metrics)

"""The request path's histograms, aggregated here and exported with the SDK's own metrics.

An items request records three values (duration, features returned, pool wait). The SDK's
`Histogram.record` cleans and hashes the attributes into a new Measurement and takes three locks
for each value: ~9 us a value even in a tight loop, ~20 us of each traced request (bench/README.md),
where the aggregation itself is a logarithm and a counter. Here a value goes to its attribute
set's buckets in our own code, the same aggregation the SDK would make: its exponential buckets
or the instrument's explicit ones (OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION),
delta or cumulative (the temporality preference). The points are the SDK's public types, added
to each export by `WithHistograms`, the metric exporter's wrapper (telemetry.py). Nothing
here is the SDK's private API.

`record` only holds a value (one append); HELD of them are added to their buckets together, or
the held ones at an export, so at most HELD are ever held. Added inside each request, the three
values cost an item request 18.7 us; held and added in batches, 12.9 us, the batches included
(`OTEL_TRACES_SAMPLER=always_off python -m bench.inrequest .../items/2 on
app.otel.histograms:AggregatedHistogram.record`).

Exemplars, where the exemplar filter wants them (OTEL_METRICS_EXEMPLAR_FILTER; off by default):
the last value of each bucket in the current span's context, as the SDK's reservoir for explicit
buckets keeps them (for exponential ones the SDK keeps a random 20; here, the last of each bucket).
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.metrics import Exemplar
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Buckets,
    ExponentialHistogram,
    ExponentialHistogramDataPoint,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.util.types import AttributeValue

MAX_SCALE = 20  # the SDK's exponential aggregation's defaults (and the specification's)
MAX_SIZE = 160
SCOPE = InstrumentationScope("app.otel.histograms")
# 2**scale / ln 2 for each positive scale, as the SDK's logarithm mapping keeps it: computed once,
# not per value.
SCALE_FACTORS = {scale: math.ldexp(1 / math.log(2), scale) for scale in range(1, MAX_SCALE + 1)}
HELD = 1024  # values held before they are added to their buckets together
Key = tuple[tuple[str, AttributeValue], ...]


def key_of(attributes: Mapping[str, AttributeValue]) -> Key:
    """An attribute set as `record` keeps it: its (name, value) pairs, in their order."""
    return tuple(attributes.items())


@dataclass(frozen=True)
class Aggregation:
    """How the histograms aggregate and export (TelemetrySettings, via telemetry.py)."""

    temporality: AggregationTemporality
    exponential: bool
    may_be_exemplar: Callable[[], bool]  # the exemplar filter, asked in the request's context


def _sampled() -> bool:
    return bool(trace.get_current_span().get_span_context().trace_flags.sampled)


EXEMPLAR_FILTERS: dict[str, Callable[[], bool]] = {
    "always_off": lambda: False,
    "always_on": lambda: True,
    "trace_based": _sampled,
}


def _exemplar(value: float) -> Exemplar | None:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return Exemplar({}, value, time.time_ns(), context.span_id, context.trace_id)


def exponential_index(value: float, scale: int) -> int:
    """The bucket of a positive finite value at `scale`, as the SDK maps it: bucket i holds
    [base**i, base**(i + 1)), base = 2**(2**-scale), and an exact power of two is the upper end of
    the bucket below it."""
    mantissa, exponent = math.frexp(value)  # value = mantissa * 2**exponent, 0.5 <= mantissa < 1
    power_of_two = mantissa == 0.5
    if scale <= 0:
        return (exponent - 1 - power_of_two) >> -scale
    if power_of_two:
        return ((exponent - 1) << scale) - 1
    return math.floor(math.log(value) * SCALE_FACTORS[scale])


class _Values:
    """What every accumulator keeps: count, sum, min, max, exemplars, since when."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.exemplars: dict[int, Exemplar] = {}

    def _add(self, value: float) -> None:
        self.count += 1
        self.sum += value
        if value < self.min:  # comparisons, not min() and max(): no call for each value
            self.min = value
        if value > self.max:
            self.max = value


class _Explicit(_Values):
    def __init__(self, start: int, bounds: tuple[float, ...]) -> None:
        super().__init__(start)
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)

    def add(self, value: float, exemplar: Exemplar | None) -> None:
        self._add(value)
        index = bisect_left(self.bounds, value)  # a bound is its bucket's upper end, as the SDK's
        self.counts[index] += 1
        if exemplar is not None:
            self.exemplars[index] = exemplar

    def point(self, attributes: dict[str, Any], start: int, now: int) -> HistogramDataPoint:
        return HistogramDataPoint(
            attributes, start, now, self.count, self.sum, tuple(self.counts), self.bounds,
            self.min, self.max, list(self.exemplars.values()),
        )  # fmt: skip


class _Exponential(_Values):
    def __init__(self, start: int) -> None:
        super().__init__(start)
        self.scale = MAX_SCALE
        self.counts: dict[int, int] = {}
        self.low = self.high = 0
        self.zero = 0

    def add(self, value: float, exemplar: Exemplar | None) -> None:
        self._add(value)
        if value == 0:
            self.zero += 1
            return
        index = exponential_index(value, self.scale)
        if not self.counts:
            self.low = self.high = index
        elif not self.low <= index <= self.high:  # outside the buckets in use: widen them
            low, high = min(self.low, index), max(self.high, index)
            if high - low >= MAX_SIZE:
                self._downscale(low, high)
                index = exponential_index(value, self.scale)
            self.low, self.high = min(self.low, index), max(self.high, index)
        self.counts[index] = self.counts.get(index, 0) + 1
        if exemplar is not None:
            self.exemplars[index] = exemplar

    def _downscale(self, low: int, high: int) -> None:
        """The largest scale at which [low, high] fits in MAX_SIZE buckets, as the SDK finds it;
        the buckets merged into it."""
        change = 0
        while high - low >= MAX_SIZE:
            low, high, change = low >> 1, high >> 1, change + 1
        counts: dict[int, int] = {}
        for index, count in self.counts.items():
            counts[index >> change] = counts.get(index >> change, 0) + count
        self.counts, self.scale = counts, self.scale - change
        self.low, self.high = self.low >> change, self.high >> change
        self.exemplars = {index >> change: e for index, e in self.exemplars.items()}

    def point(self, attributes: dict[str, Any], start: int, now: int) -> Any:
        positive = [self.counts.get(i, 0) for i in range(self.low, self.high + 1)]
        return ExponentialHistogramDataPoint(
            attributes, start, now, self.count, self.sum,
            self.scale if self.counts else 0, self.zero,
            Buckets(self.low if self.counts else 0, positive if self.counts else []),
            Buckets(0, []), 0, self.min, self.max, list(self.exemplars.values()),
        )  # fmt: skip


class AggregatedHistogram:
    """A histogram of the request path: `record` as the SDK's, the points made at export."""

    def __init__(self, name: str, unit: str, description: str, bounds: Sequence[float]) -> None:
        self.name, self.unit, self.description = name, unit, description
        self.bounds = tuple(bounds)  # used when the aggregation is explicit
        self._lock = threading.Lock()  # the exporter's thread takes the points
        self._live: dict[Key, _Explicit | _Exponential] = {}
        self._held: list[tuple[Key, float, Exemplar | None]] = []  # recorded, not yet added
        self._held_since = 0  # when the first held value was recorded (a new set's start)
        self._since = time.time_ns()  # the start of the current delta interval
        _all.add(self)

    def record(self, value: float, attributes: Mapping[str, AttributeValue] | Key) -> None:
        """As the SDK's record; the attributes may also be given as their Key (`key_of`), made
        once by a caller that records the same set again and again, instead of a mapping made
        and taken apart on every request."""
        aggregation = _aggregation
        if aggregation is None or not value >= 0 or value == math.inf:
            return  # nothing exports, or a value the SDK too would refuse (negative) or not map
        exemplar = _exemplar(value) if aggregation.may_be_exemplar() else None
        key = attributes if type(attributes) is tuple else key_of(attributes)  # type: ignore[arg-type]
        held = (key, value, exemplar)
        with self._lock:
            if not self._held:
                self._held_since = time.time_ns()
            self._held.append(held)
            if len(self._held) >= HELD:
                self._add_held(aggregation)

    def _add_held(self, aggregation: Aggregation) -> None:
        """The held values added to their attribute sets' buckets, in the order recorded; a set
        first seen here starts when the first of them was recorded. Called with the lock held."""
        held, self._held = self._held, []
        live = self._live
        for key, value, exemplar in held:
            values = live.get(key)
            if values is None:
                values = live[key] = self._new(aggregation, self._held_since)
            values.add(value, exemplar)

    def clear(self) -> None:
        with self._lock:
            self._live, self._held = {}, []

    def _new(self, aggregation: Aggregation, start: int) -> _Explicit | _Exponential:
        return _Exponential(start) if aggregation.exponential else _Explicit(start, self.bounds)

    def metric(self, aggregation: Aggregation, now: int) -> Metric | None:
        """This histogram's points since the last export (delta) or since each attribute set's
        first value (cumulative); None if it has none."""
        delta = aggregation.temporality is AggregationTemporality.DELTA
        with self._lock:
            self._add_held(aggregation)
            live, since = self._live, self._since
            if delta:
                self._live, self._since = {}, now
            points = [
                values.point(dict(key), since if delta else values.start, now)
                for key, values in live.items()
            ]
        if not points:
            return None
        kind: Any = ExponentialHistogram if aggregation.exponential else Histogram
        data = kind(data_points=points, aggregation_temporality=aggregation.temporality)
        return Metric(self.name, self.description, self.unit, data)


_all: weakref.WeakSet[AggregatedHistogram] = weakref.WeakSet()
_aggregation: Aggregation | None = None  # None: no exporter takes the points, nothing is kept


def start(aggregation: Aggregation) -> None:
    """Aggregate from now on, as `aggregation` says: telemetry.py, once it has an exporter."""
    global _aggregation
    _aggregation = aggregation


def stop() -> None:
    """Keep nothing from now on (the exporter is shut down)."""
    global _aggregation
    _aggregation = None
    for histogram in list(_all):
        histogram.clear()


def current() -> Aggregation | None:
    return _aggregation


def metrics(now: int) -> list[Metric]:
    """Every histogram's metric for an export (WithHistograms), as `start` said to aggregate."""
    aggregation = _aggregation
    if aggregation is None:
        return []
    found = (histogram.metric(aggregation, now) for histogram in list(_all))
    return [metric for metric in found if metric is not None]


class WithHistograms(MetricExporter):
    """A metric exporter that adds the histograms' points to each export of `inner`'s."""

    def __init__(self, inner: MetricExporter, resource: Resource, **preferences: Any) -> None:
        super().__init__(**preferences)  # the reader asks the exporter for its preferences
        self.inner = inner
        self.resource = resource

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        ours = metrics(time.time_ns())
        if ours:
            metrics_data = _with(metrics_data, self.resource, ScopeMetrics(SCOPE, ours, ""))
        return self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        stop()
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def _with(data: MetricsData, resource: Resource, scope: ScopeMetrics) -> MetricsData:
    """`data` with one more scope's metrics, in its first resource's (the provider's own)."""
    if not data.resource_metrics:
        return MetricsData([ResourceMetrics(resource, [scope], "")])
    first, *others = data.resource_metrics
    widened = ResourceMetrics(first.resource, [*first.scope_metrics, scope], first.schema_url)
    return MetricsData([widened, *others])

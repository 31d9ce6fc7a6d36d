"""Histogram records taken off the request path, handed to the SDK in batches.

With a metric reader registered (any exporting service), the SDK's `Histogram.record` cleans and
hashes the attributes and aggregates (an exponential histogram, for CloudWatch) on every call:
8-9 us in a tight loop, but ~30 us inside a request, whose other work has the caches. An items
request records three (duration, features returned, pool wait): in-process, items?limit=10,
unsampled, with a reader, 466 us per request with the records and 372 us without. Kept as a value
in a list instead, a record is a dict lookup and an append; every BATCH values, and at the start
of each collection, the values go to the SDK in one tight loop (466 -> 417 us; the A/B over HTTP
is in bench/README.md's table of changes). A value that may become an exemplar is recorded at
once, in its request's context (record_at_once_for): with exemplars off (our default), none.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Mapping

from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Histogram, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.util.types import AttributeValue

FLUSH_INSTRUMENT = "wfs3.deferred_histograms.flush"  # observes nothing: never exported
BATCH = 256  # values held at most before a flush: a ~2 ms flush, never a long one

_all: weakref.WeakSet[DeferredHistogram] = weakref.WeakSet()  # an app's, while it lives
_all_lock = threading.Lock()  # added to by an app's set-up while the reader's thread flushes


def _sampled() -> bool:
    return bool(trace.get_current_span().get_span_context().trace_flags.sampled)


# Which values are recorded at once, in their request's context, where an exemplar can come from
# (OTEL_METRICS_EXEMPLAR_FILTER): none when exemplars are off, every one when they are always on,
# a sampled request's for trace_based (the SDK's own default, so the default here too).
AT_ONCE: dict[str, Callable[[], bool]] = {
    "always_off": lambda: False,
    "always_on": lambda: True,
    "trace_based": _sampled,
}
_at_once = AT_ONCE["trace_based"]


def record_at_once_for(exemplar_filter: str) -> None:
    """Set by telemetry.py from the exemplar filter the MeterProvider is given."""
    global _at_once
    _at_once = AT_ONCE[exemplar_filter]


class DeferredHistogram:
    """`record` as a Histogram's, the values reaching `histogram` at the next flush."""

    def __init__(self, histogram: Histogram) -> None:
        self.histogram = histogram
        self._lock = threading.Lock()  # the reader's thread flushes too
        self._pending: dict[tuple[tuple[str, AttributeValue], ...], list[float]] = {}
        self._held = 0
        with _all_lock:
            _all.add(self)

    def record(self, value: float, attributes: Mapping[str, AttributeValue]) -> None:
        if _at_once():
            self.histogram.record(value, attributes)  # in its context, for an exemplar
            return
        key = tuple(attributes.items())
        with self._lock:
            values = self._pending.get(key)
            if values is None:
                values = self._pending[key] = []
            values.append(value)
            self._held += 1
            full = self._held >= BATCH
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending, self._held = self._pending, {}, 0
        for key, values in pending.items():
            attributes = dict(key)
            for value in values:
                self.histogram.record(value, attributes)


def flush_all() -> None:
    with _all_lock:
        histograms = list(_all)
    for histogram in histograms:
        histogram.flush()


def flush_at_collection(provider: MeterProvider) -> None:
    """Flush the deferred values whenever a reader of `provider` collects.

    The SDK runs observable instruments' callbacks at the start of each collection, before it
    reads the synchronous instruments (and without a lock a record would wait on); `collect`
    itself is final. So the flush is the callback of a gauge that observes nothing: it is never
    exported. That order is the SDK's behaviour, not its promise: tests/test_deferred.py fails if
    a collection misses values held before it.
    """

    def flush(options: CallbackOptions) -> Iterable[Observation]:
        flush_all()
        return ()

    provider.get_meter(__name__).create_observable_gauge(FLUSH_INSTRUMENT, [flush])

"""Sampled spans of the request path recorded without the SDK's Span class.

The SDK's Span takes a lock for every change, cleans every value through a BoundedAttributes,
keeps events and links in bounded lists made up front, and starts through a dozen calls. A server
span with its eleven attributes, given in three calls, renamed and ended: 18.5 us as the SDK's
Span, 6.3 us as a RecordedSpan, ids and sampling included (`python -m bench.spans`). A sampled
item request has two spans (the server span and its SQL span).

A RecordedSpan is an `opentelemetry.trace.Span` with the SDK's rules: the same value checks,
attribute order and count limit, events, links, status rules and exception events; ending it
gives the tracer's span processor the ReadableSpan the SDK would give it. The SDK's documentation
asks users not to make ReadableSpans themselves: tests/test_recorded_spans.py makes the same spans
both ways and compares what the processors get, so an SDK that changes what its spans hand over
fails there.
Only the request path's own spans are made here: root server spans (root_spans.py) and their SQL
spans (sql_spans.py); every other span is the SDK's.

Not done here, so RecordedSpans is not used when they matter (`RecordedSpans.of` returns None):
the value-length limit (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT),
and a tracer that is not the SDK's. Also not done: the SDK's own span metrics (only with
OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED) and the processors' private `_on_ending` hook, which no
processor of ours has.
"""

from __future__ import annotations

import logging
import math
import traceback
from collections.abc import Mapping
from time import time_ns
from types import TracebackType
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, SpanProcessor, Tracer
from opentelemetry.sdk.trace.sampling import Decision, Sampler
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

logger = logging.getLogger(__name__)

SCALARS = frozenset({str, bool, int, float})  # kept as given: the SDK keeps them unchanged too
UNSET = Status(StatusCode.UNSET)
T = TypeVar("T")


class RecordedSpans:
    """What a tracer's spans share: the provider's sampler, ids, processors, resource, limits."""

    def __init__(self, tracer: Tracer, limits: SpanLimits) -> None:
        self.sampler: Sampler = tracer.sampler
        self.ids = tracer.id_generator
        self.processor: SpanProcessor = tracer.span_processor
        self.resource = tracer.resource
        self.limits = limits
        self.attribute_limit = (
            math.inf if limits.max_span_attributes is None else limits.max_span_attributes
        )
        info = tracer.instrumentation_info  # the tracer's name, version and schema (no attributes)
        self.scope = InstrumentationScope(info.name, info.version, info.schema_url)

    @classmethod
    def of(cls, tracer: trace.Tracer) -> RecordedSpans | None:
        """For an SDK tracer, with no value-length limit set; None otherwise."""
        limits = SpanLimits()  # what the provider telemetry.py builds uses: the environment's
        if not isinstance(tracer, Tracer) or limits.max_span_attribute_length is not None:
            return None
        return cls(tracer, limits)

    def frozen(self, count: int | None, attributes: Mapping[str, Any] | None) -> BoundedAttributes:
        """An event's or a link's attributes, as the SDK keeps them: cleaned, at most `count`,
        immutable."""
        return BoundedAttributes(count, attributes, True, self.limits.max_attribute_length)

    def start(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: Mapping[str, AttributeValue] | None,
        parent_context: Context,
        scope: InstrumentationScope | None = None,
    ) -> RecordedSpan:
        """A started span whose ids and sampling the caller has decided; of this tracer's scope,
        or of `scope` (a child span of another module's)."""
        span = RecordedSpan(name, context, parent, kind, self, scope or self.scope)
        if attributes:
            span.set_attributes(attributes)
        self.processor.on_start(span, parent_context=parent_context)  # type: ignore[arg-type]
        return span


def _appended(kept: BoundedList[T] | None, count: int | None, item: T) -> BoundedList[T]:
    """`kept` with `item` appended, made (of at most `count`) on first use: most spans have no
    events or links."""
    if kept is None:
        kept = BoundedList(count)
    kept.append(item)
    return kept


class RecordedSpan(trace.Span):
    """A recording span, as the SDK's Span records (see the module's docstring)."""

    def __init__(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        spans: RecordedSpans,
        scope: InstrumentationScope,
    ) -> None:
        self.name, self.context, self.parent, self.kind = name, context, parent, kind
        self.spans, self.scope = spans, scope
        # A dict while every value is one the SDK keeps as it is given; the SDK's own
        # BoundedAttributes from the first one that is not (`_exact`).
        self.attributes: dict[str, Any] | BoundedAttributes = {}
        self.events: BoundedList[Event] | None = None
        self.links: BoundedList[Link] | None = None
        self.status = UNSET
        self.start_time = time_ns()
        self.end_time: int | None = None

    def get_span_context(self) -> SpanContext:
        return self.context

    def is_recording(self) -> bool:
        return self.end_time is None

    def _ended(self, method: str) -> bool:
        """Whether the span has ended, said as the SDK says it."""
        if self.end_time is None:
            return False
        logger.warning("Tried calling %s on an ended span.", method)
        return True

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        if self.end_time is not None:
            logger.warning("Setting attribute on ended span.")  # the SDK's words
            return
        self._set(key, value)

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        if self.end_time is not None:
            logger.warning("Setting attribute on ended span.")
            return
        for key, value in attributes.items():
            self._set(key, value)

    def _set(self, key: str, value: AttributeValue) -> None:
        kept = self.attributes
        if (
            kept.__class__ is dict
            and value.__class__ in SCALARS
            and key.__class__ is str
            and key
            and (key in kept or len(kept) < self.spans.attribute_limit)
        ):
            kept.pop(key, None)  # a key set again moves to the end, as in the SDK
            kept[key] = value
        else:  # a value to clean, a key to refuse or one attribute too many: the SDK decides
            self._exact()[key] = value

    def _exact(self) -> BoundedAttributes:
        if not isinstance(self.attributes, BoundedAttributes):
            limit = self.spans.limits.max_span_attributes
            self.attributes = BoundedAttributes(limit, self.attributes, immutable=False)
        return self.attributes

    def update_name(self, name: str) -> None:
        if not self._ended("update_name"):
            self.name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        """The SDK's rules: OK is final, UNSET is ignored, a Status takes no description."""
        if self._ended("set_status") or self.status.status_code is StatusCode.OK:
            return
        if isinstance(status, Status):
            if status.status_code is not StatusCode.UNSET:
                if description is not None:
                    logger.warning("Description %s ignored. Use either `Status` or "
                                   "`(StatusCode, Description)`", description)  # fmt: skip
                self.status = status
        elif status is not StatusCode.UNSET:
            self.status = Status(status, description)

    def add_event(
        self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None
    ) -> None:
        if self._ended("_add_event"):
            return
        limits = self.spans.limits
        kept = self.spans.frozen(limits.max_event_attributes, attributes)
        self.events = _appended(self.events, limits.max_events, Event(name, kept, timestamp))

    def add_link(self, context: SpanContext, attributes: Mapping[str, Any] | None = None) -> None:
        if not (context and (context.is_valid or attributes or context.trace_state)):
            return  # what the SDK calls an invalid link
        if self._ended("_add_link"):
            return
        limits = self.spans.limits
        kept = self.spans.frozen(limits.max_link_attributes, attributes)
        self.links = _appended(self.links, limits.max_links, Link(context, kept))

    def record_exception(
        self,
        exception: BaseException,
        attributes: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        """An `exception` event with the attributes the SDK gives it."""
        module, name = type(exception).__module__, type(exception).__qualname__
        recorded: dict[str, Any] = {
            "exception.type": f"{module}.{name}" if module and module != "builtins" else name,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        recorded.update(attributes or {})
        self.add_event("exception", recorded, timestamp)

    def child(
        self,
        name: str,
        kind: SpanKind,
        attributes: Mapping[str, AttributeValue],
        scope: InstrumentationScope,
    ) -> trace.Span:
        """A span whose parent is this one, as the SDK's start_span would make it in this span's
        context: the provider's sampler asked, a new span id, this span's trace."""
        spans, parent = self.spans, self.context
        context = trace.set_span_in_context(self)
        result = spans.sampler.should_sample(context, parent.trace_id, name, kind, attributes)
        flags = trace.TraceFlags.SAMPLED if result.decision is Decision.RECORD_AND_SAMPLE else 0
        flags |= parent.trace_flags & trace.TraceFlags.RANDOM_TRACE_ID
        ids = SpanContext(
            parent.trace_id, spans.ids.generate_span_id(), False, trace.TraceFlags(flags),
            result.trace_state,
        )  # fmt: skip
        if result.decision is Decision.DROP:
            return trace.NonRecordingSpan(ids)
        return spans.start(name, ids, parent, kind, result.attributes, context, scope)

    def end(self, end_time: int | None = None) -> None:
        if self.end_time is not None:
            logger.warning("Calling end() on an ended span.")
            return
        self.end_time = end_time if end_time is not None else time_ns()
        self.spans.processor.on_end(self.readable())

    def readable(self) -> ReadableSpan:
        """What the SDK's Span gives the processors when it ends."""
        return ReadableSpan(
            name=self.name,
            context=self.context,
            parent=self.parent,
            resource=self.spans.resource,
            attributes=self.attributes,
            events=self.events if self.events is not None else (),
            links=self.links if self.links is not None else (),
            kind=self.kind,
            status=self.status,
            start_time=self.start_time,
            end_time=self.end_time,
            instrumentation_scope=self.scope,
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        """As the SDK's span used as a context manager: an escaping exception recorded."""
        if exc_val is not None and self.is_recording():
            self.record_exception(exc_val, escaped=True)
            description = f"{type(exc_val).__name__}: {exc_val}"
            self.set_status(Status(StatusCode.ERROR, description))
        self.end()

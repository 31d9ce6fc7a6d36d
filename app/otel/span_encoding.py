"""Finished spans as an OTLP request for the gRPC span exporter: the SDK encoder's message, for
less of the export thread's time.

The exporter encodes every sampled span in Python, in its export thread, which holds the GIL
while it works, so the server's requests wait for it. The SDK's encoder spent ~90 us on an item
request's two spans (the server span and its SQL span, ~25 attributes), more than the request's
own telemetry on the main thread (`python -m bench.encoding`). Most of it went on a KeyValue and
its AnyValue built anew for every attribute, though most of them repeat from span to span (the
method, the route, the collection, the database's name and address), and on grouping the spans
by their resource, whose hash is a JSON dump of its attributes, once per span. Here a scalar
(key, value)'s KeyValue is built once and reused (protobuf copies it into each span), and spans
are grouped by their resource and scope objects (one per tracer provider, one per tracer).
Everything else (events, links, trace state, flags, every attribute type) is encoded as the SDK
does: tests/test_span_encoding.py compares the two messages for spans that have each of them.

Used by the gRPC exporter only, through its `_translate_data`, a private method of
opentelemetry-exporter-otlp-proto-grpc (guarded by the same tests); the http/protobuf exporter
calls the SDK's encoder directly and keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PB2Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, SpanFlags, Status
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PB2Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope as SdkScope
from opentelemetry.trace import Link, SpanContext, SpanKind, StatusCode
from opentelemetry.trace import Status as SdkStatus

KINDS = {
    SpanKind.INTERNAL: PB2Span.SpanKind.SPAN_KIND_INTERNAL,
    SpanKind.SERVER: PB2Span.SpanKind.SPAN_KIND_SERVER,
    SpanKind.CLIENT: PB2Span.SpanKind.SPAN_KIND_CLIENT,
    SpanKind.PRODUCER: PB2Span.SpanKind.SPAN_KIND_PRODUCER,
    SpanKind.CONSUMER: PB2Span.SpanKind.SPAN_KIND_CONSUMER,
}
HAS_IS_REMOTE = SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
IS_REMOTE = SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
# Only these are kept: their equality is their encoding's (a tuple's is not: (1,) == (True,)).
SCALARS = frozenset({str, bool, int, float})
KEPT_PAIRS = 4096  # KeyValues kept; all dropped when full (unique values, such as paths, churn)

KEPT_OBJECTS = 64  # encoded resources, scopes and statuses kept
T = TypeVar("T")

# A group of spans: the resource, its scopes (by identity), each with its encoded spans.
ByScope = dict[int, tuple[SdkScope | None, list[PB2Span]]]


def any_value(value: Any) -> AnyValue:
    """An attribute value as OTLP's AnyValue, as the SDK's encoder makes it."""
    if value is None:
        return AnyValue()
    if isinstance(value, bool):  # before int: a bool is an int
        return AnyValue(bool_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, Sequence):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, Mapping):
        pairs = [KeyValue(key=str(k), value=any_value(v)) for k, v in value.items()]
        return AnyValue(kvlist_value=KeyValueList(values=pairs))
    raise TypeError(f"no OTLP encoding for a {type(value).__name__}")


def _flags(parent: SpanContext | None) -> int:
    return HAS_IS_REMOTE | IS_REMOTE if parent is not None and parent.is_remote else HAS_IS_REMOTE


class SpanEncoder:
    """Encodes batches of finished spans; used by one export thread at a time."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, type, Any], KeyValue] = {}
        self._resources: dict[int, tuple[object, PB2Resource]] = {}
        self._scopes: dict[int, tuple[object, InstrumentationScope]] = {}
        self._statuses: dict[tuple[StatusCode, str | None], Status] = {}

    def request(self, spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
        groups: dict[int, tuple[Resource, ByScope]] = {}
        for span in spans:
            by_scope = groups.setdefault(id(span.resource), (span.resource, {}))[1]
            scope = span.instrumentation_scope or None
            by_scope.setdefault(id(scope), (scope, []))[1].append(self.span(span))
        return ExportTraceServiceRequest(
            resource_spans=[self._resource_spans(*group) for group in groups.values()]
        )

    def _resource_spans(self, resource: Resource, by_scope: ByScope) -> ResourceSpans:
        scope_spans = [
            ScopeSpans(
                scope=self._scope(scope),
                spans=spans,
                schema_url=scope.schema_url or "" if scope else "",
            )
            for scope, spans in by_scope.values()
        ]
        return ResourceSpans(
            resource=self._resource(resource),
            scope_spans=scope_spans,
            schema_url=resource.schema_url,
        )

    def span(self, span: ReadableSpan) -> PB2Span:
        # Fields at their default ("", b"", 0, none) are left out, as protobuf leaves them out
        # of the wire (the SDK's None): fewer arguments to the constructor, the same message.
        context, parent = span.get_span_context(), span.parent
        assert context is not None  # a finished SDK span always has one
        fields: dict[str, Any] = {
            "trace_id": context.trace_id.to_bytes(16, "big"),
            "span_id": context.span_id.to_bytes(8, "big"),
            "name": span.name,
            "kind": KINDS[span.kind],
            "start_time_unix_nano": span.start_time,
            "end_time_unix_nano": span.end_time,
            "attributes": self.attributes(span.attributes),
            "status": self._status(span.status),
            "flags": _flags(parent),
        }
        if parent is not None:
            fields["parent_span_id"] = parent.span_id.to_bytes(8, "big")
        if context.trace_state:
            fields["trace_state"] = ",".join(f"{k}={v}" for k, v in context.trace_state.items())
        if span.events or span.links:
            fields["events"] = [self._event(event) for event in span.events]
            fields["links"] = [self._link(link) for link in span.links]
        if span.dropped_attributes or span.dropped_events or span.dropped_links:
            fields["dropped_attributes_count"] = span.dropped_attributes
            fields["dropped_events_count"] = span.dropped_events
            fields["dropped_links_count"] = span.dropped_links
        return PB2Span(**fields)

    def _status(self, status: SdkStatus) -> Status:
        key = (status.status_code, status.description)
        encoded = self._statuses.get(key)
        if encoded is None:
            if len(self._statuses) >= KEPT_OBJECTS:  # descriptions may be unique: not counted
                self._statuses.clear()
            code = cast(Status.StatusCode.ValueType, status.status_code.value)
            encoded = Status(code=code, message=status.description or "")
            self._statuses[key] = encoded
        return encoded

    def attributes(self, attributes: Mapping[str, Any] | None) -> list[KeyValue]:
        # The SDK has checked every value's type when it was set.
        return [self._key_value(key, value) for key, value in (attributes or {}).items()]

    def _key_value(self, key: str, value: Any) -> KeyValue:
        if value.__class__ not in SCALARS:
            return KeyValue(key=key, value=any_value(value))
        pair = (key, value.__class__, value)
        encoded = self._pairs.get(pair)
        if encoded is None:
            if len(self._pairs) >= KEPT_PAIRS:
                self._pairs.clear()
            encoded = self._pairs[pair] = KeyValue(key=key, value=any_value(value))
        return encoded

    def _event(self, event: Event) -> PB2Span.Event:
        return PB2Span.Event(
            name=event.name,
            time_unix_nano=event.timestamp,
            attributes=self.attributes(event.attributes),
            dropped_attributes_count=event.dropped_attributes,
        )

    def _link(self, link: Link) -> PB2Span.Link:
        return PB2Span.Link(
            trace_id=link.context.trace_id.to_bytes(16, "big"),
            span_id=link.context.span_id.to_bytes(8, "big"),
            attributes=self.attributes(link.attributes),
            dropped_attributes_count=link.dropped_attributes,
            flags=_flags(link.context),
        )

    def _resource(self, resource: Resource) -> PB2Resource:
        return _kept(
            self._resources,
            resource,
            lambda: PB2Resource(attributes=self.attributes(resource.attributes)),
        )

    def _scope(self, scope: SdkScope | None) -> InstrumentationScope:
        if scope is None:
            return InstrumentationScope()
        return _kept(
            self._scopes,
            scope,
            lambda: InstrumentationScope(
                name=scope.name,
                version=scope.version or "",
                attributes=self.attributes(scope.attributes),
            ),
        )


def _kept(kept: dict[int, tuple[object, T]], thing: object, encode: Callable[[], T]) -> T:
    """`thing`'s encoding, made once while `thing` lives (an id is reused only after its object
    died). Providers and tracers are few, but not counted: all are dropped past KEPT_OBJECTS."""
    entry = kept.get(id(thing))
    if entry is None or entry[0] is not thing:
        if len(kept) >= KEPT_OBJECTS:
            kept.clear()
        entry = kept[id(thing)] = (thing, encode())
    return entry[1]


class OTLPSpanExporter(GrpcSpanExporter):
    """The SDK's gRPC span exporter, encoding with SpanEncoder."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._span_encoder = SpanEncoder()

    def _translate_data(self, data: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
        # Private in opentelemetry-exporter-otlp-proto-grpc: what its export sends.
        return self._span_encoder.request(data)

"""Finished spans as an OTLP request for the gRPC span exporter: the SDK encoder's message, for
less of the export thread's time.

The exporter encodes every sampled span in Python, in its export thread, which holds the GIL
while it works, so the server's requests wait for it. The SDK's encoder builds a protobuf message
for every span, attribute and value, then serializes the lot: ~85 us of an item request's two
spans (the server span and its SQL span, ~25 attributes; `python -m bench.encoding`). Most of the
attributes repeat from span to span (the method, the route, the collection, the database's name
and address), so a message per attribute was mostly rebuilding the same bytes.

Here a span is written as protobuf's wire bytes directly (the fields are few and fixed, listed in
opentelemetry/proto/trace/v1/trace.proto), and each scalar (key, value) is serialized once and its
bytes reused; the resource and the scope are serialized once each. protobuf parses the request
once, in C, for the exporter to send: 47 us -> 18 us per item request, where building messages
with the repeated pairs kept had reached 47. Events, links and non-scalar values, which our spans
rarely carry, are built as messages and serialized. Everything is encoded as the SDK does:
tests/test_span_encoding.py compares the two messages for spans that carry each of these.

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
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PB2Span
from opentelemetry.proto.trace.v1.trace_pb2 import SpanFlags, Status
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
KEPT_PAIRS = 4096  # encoded pairs kept; all dropped when full (unique values, such as paths, churn)
KEPT_OBJECTS = 64  # encoded names, resources, scopes and statuses kept
T = TypeVar("T")

# Field keys (field number << 3 | wire type) of trace.proto's messages, as their bytes.
# Span: 1 trace_id, 2 span_id, 3 trace_state, 4 parent_span_id, 5 name, 6 kind, 7 and 8 the start
# and end (fixed64), 9 attributes, 10 dropped_attributes_count, 11 events, 12 dropped_events_count,
# 13 links, 14 dropped_links_count, 15 status, 16 flags (fixed32).
TRACE_ID, SPAN_ID, TRACE_STATE, PARENT_SPAN_ID = b"\x0a\x10", b"\x12\x08", b"\x1a", b"\x22\x08"
NAME, KIND, START, END, ATTRIBUTE = b"\x2a", b"\x30", b"\x39", b"\x41", b"\x4a"
DROPPED_ATTRIBUTES, EVENT, DROPPED_EVENTS = b"\x50", b"\x5a", b"\x60"
LINK, DROPPED_LINKS, STATUS, FLAGS = b"\x6a", b"\x70", b"\x7a", b"\x85\x01"
# ScopeSpans: 1 scope, 2 spans, 3 schema_url; ResourceSpans: 1 resource, 2 scope_spans,
# 3 schema_url; ExportTraceServiceRequest: 1 resource_spans. Each is length-delimited.
FIRST, SECOND, THIRD = b"\x0a", b"\x12", b"\x1a"

# A group of spans: the resource, its scopes (by identity), each with its encoded spans.
ByScope = dict[int, tuple[SdkScope | None, list[bytes]]]


def varint(number: int) -> bytes:
    """A non-negative integer as protobuf's base-128 varint."""
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def field(key: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its key, the payload's length, the payload."""
    return key + varint(len(payload)) + payload


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


def key_values(attributes: Mapping[str, Any] | None) -> list[KeyValue]:
    """Attributes as KeyValue messages (events, links, resources, scopes)."""
    return [KeyValue(key=key, value=any_value(value)) for key, value in (attributes or {}).items()]


def _flags(parent: SpanContext | None) -> int:
    return HAS_IS_REMOTE | IS_REMOTE if parent is not None and parent.is_remote else HAS_IS_REMOTE


# A span's kind and flags fields, written once.
KIND_FIELDS = {kind: KIND + varint(value) for kind, value in KINDS.items()}
LOCAL_FLAGS = FLAGS + HAS_IS_REMOTE.to_bytes(4, "little")
REMOTE_FLAGS = FLAGS + (HAS_IS_REMOTE | IS_REMOTE).to_bytes(4, "little")


class SpanEncoder:
    """Encodes batches of finished spans; used by one export thread at a time."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, type, Any], bytes] = {}
        self._names: dict[str, bytes] = {}
        self._resources: dict[int, tuple[object, bytes]] = {}
        self._scopes: dict[int, tuple[object, bytes]] = {}
        self._statuses: dict[tuple[StatusCode, str | None], bytes] = {}

    def request(self, spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
        """The request message the exporter sends, parsed from `wire(spans)`."""
        request = ExportTraceServiceRequest()
        request.ParseFromString(self.wire(spans))
        return request

    def wire(self, spans: Sequence[ReadableSpan]) -> bytes:
        """An ExportTraceServiceRequest's bytes: the spans grouped by resource, then scope."""
        groups: dict[int, tuple[Resource, ByScope]] = {}
        for span in spans:
            by_scope = groups.setdefault(id(span.resource), (span.resource, {}))[1]
            scope = span.instrumentation_scope or None
            by_scope.setdefault(id(scope), (scope, []))[1].append(self.span(span))
        return b"".join(field(FIRST, self._resource_spans(*group)) for group in groups.values())

    def _resource_spans(self, resource: Resource, by_scope: ByScope) -> bytes:
        parts = [self._resource(resource)]
        for scope, spans in by_scope.values():
            parts.append(field(SECOND, self._scope(scope) + b"".join(spans)))
        if resource.schema_url:
            parts.append(field(THIRD, resource.schema_url.encode()))
        return b"".join(parts)

    def span(self, span: ReadableSpan) -> bytes:
        """A span as a ScopeSpans' `spans` field. Fields at their default (none, 0) are left
        out, as protobuf leaves them out of the wire."""
        context, parent = span.get_span_context(), span.parent
        assert context is not None  # a finished SDK span always has one
        assert span.start_time is not None and span.end_time is not None
        parts = [TRACE_ID, context.trace_id.to_bytes(16, "big"), SPAN_ID]
        parts.append(context.span_id.to_bytes(8, "big"))
        if context.trace_state:
            state = ",".join(f"{k}={v}" for k, v in context.trace_state.items())
            parts.append(field(TRACE_STATE, state.encode()))
        if parent is not None:
            parts += (PARENT_SPAN_ID, parent.span_id.to_bytes(8, "big"))
        parts += (self._name(span.name), KIND_FIELDS[span.kind])
        parts += (START, span.start_time.to_bytes(8, "little"))
        parts += (END, span.end_time.to_bytes(8, "little"))
        parts += self.attributes(span.attributes)
        if span.events or span.links:  # seldom: our spans carry neither
            parts += self._events_and_links(span)
        if span.dropped_attributes or span.dropped_events or span.dropped_links:
            parts += _dropped(span)
        parts.append(self._status(span.status))
        parts.append(REMOTE_FLAGS if parent is not None and parent.is_remote else LOCAL_FLAGS)
        return field(SECOND, b"".join(parts))

    def _events_and_links(self, span: ReadableSpan) -> list[bytes]:
        parts = [field(EVENT, self._event(event)) for event in span.events]
        return parts + [field(LINK, self._link(link)) for link in span.links]

    def _name(self, name: str) -> bytes:
        encoded = self._names.get(name)
        if encoded is None:
            if len(self._names) >= KEPT_OBJECTS:  # names may be made of paths: not counted
                self._names.clear()
            encoded = self._names[name] = field(NAME, name.encode())
        return encoded

    def _status(self, status: SdkStatus) -> bytes:
        key = (status.status_code, status.description)
        encoded = self._statuses.get(key)
        if encoded is None:
            if len(self._statuses) >= KEPT_OBJECTS:  # descriptions may be unique: not counted
                self._statuses.clear()
            code = cast(Status.StatusCode.ValueType, status.status_code.value)
            message = Status(code=code, message=status.description or "")
            encoded = self._statuses[key] = field(STATUS, message.SerializeToString())
        return encoded

    def attributes(self, attributes: Mapping[str, Any] | None) -> list[bytes]:
        """A span's attributes as its `attributes` fields. The SDK has checked every value's
        type when it was set."""
        return [self._key_value(key, value) for key, value in (attributes or {}).items()]

    def _key_value(self, key: str, value: Any) -> bytes:
        if value.__class__ not in SCALARS:
            return _attribute(key, value)
        pair = (key, value.__class__, value)
        encoded = self._pairs.get(pair)
        if encoded is None:
            if len(self._pairs) >= KEPT_PAIRS:
                self._pairs.clear()
            encoded = self._pairs[pair] = _attribute(key, value)
        return encoded

    def _event(self, event: Event) -> bytes:
        encoded: bytes = PB2Span.Event(
            name=event.name,
            time_unix_nano=event.timestamp,
            attributes=key_values(event.attributes),
            dropped_attributes_count=event.dropped_attributes,
        ).SerializeToString()
        return encoded

    def _link(self, link: Link) -> bytes:
        encoded: bytes = PB2Span.Link(
            trace_id=link.context.trace_id.to_bytes(16, "big"),
            span_id=link.context.span_id.to_bytes(8, "big"),
            attributes=key_values(link.attributes),
            dropped_attributes_count=link.dropped_attributes,
            flags=_flags(link.context),
        ).SerializeToString()
        return encoded

    def _resource(self, resource: Resource) -> bytes:
        return _kept(
            self._resources,
            resource,
            lambda: PB2Resource(attributes=key_values(resource.attributes)),
        )

    def _scope(self, scope: SdkScope | None) -> bytes:
        if scope is None:
            return field(FIRST, b"")
        encoded = _kept(
            self._scopes,
            scope,
            lambda: InstrumentationScope(
                name=scope.name,
                version=scope.version or "",
                attributes=key_values(scope.attributes),
            ),
        )
        return encoded + field(THIRD, scope.schema_url.encode()) if scope.schema_url else encoded


def _dropped(span: ReadableSpan) -> list[bytes]:
    counts = (
        (DROPPED_ATTRIBUTES, span.dropped_attributes),
        (DROPPED_EVENTS, span.dropped_events),
        (DROPPED_LINKS, span.dropped_links),
    )
    return [key + varint(count) for key, count in counts if count]


def _attribute(key: str, value: Any) -> bytes:
    return field(ATTRIBUTE, KeyValue(key=key, value=any_value(value)).SerializeToString())


def _kept(kept: dict[int, tuple[object, bytes]], thing: object, encode: Callable[[], Any]) -> bytes:
    """`thing`'s message, made by `encode`, as its parent's first field; made once while `thing`
    lives (an id is reused only after its object died). Providers and tracers are few, but not
    counted: all are dropped past KEPT_OBJECTS."""
    entry = kept.get(id(thing))
    if entry is None or entry[0] is not thing:
        if len(kept) >= KEPT_OBJECTS:
            kept.clear()
        entry = kept[id(thing)] = (thing, field(FIRST, encode().SerializeToString()))
    return entry[1]


class OTLPSpanExporter(GrpcSpanExporter):
    """The SDK's gRPC span exporter, encoding with SpanEncoder."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._span_encoder = SpanEncoder()

    def _translate_data(self, data: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
        # Private in opentelemetry-exporter-otlp-proto-grpc: what its export sends.
        return self._span_encoder.request(data)

"""RecordedSpan (app/otel/recorded_spans.py) records as the SDK's Span records: the same operations
on one of each must give the span processors the same ReadableSpan (ids and clock times aside)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from app.otel.recorded_spans import RecordedSpan
from app.otel.root_spans import NO_PARENT, RootSpans
from app.otel.sql_spans import SCOPE as SQL_SCOPE

Operations = Callable[[trace.Span], None]
OTHER = SpanContext(0x5759E988BD862E3FE1BE46A994272793, 0x53995C3F42CD8AD8, True, TraceFlags(1))
STARTED = {"http.request.method": "GET", "url.path": "/collections/a/items"}


class Kept(SpanProcessor):
    def __init__(self) -> None:
        self.ended: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


PROVIDERS: dict[int, TracerProvider] = {}


def _tracer() -> tuple[trace.Tracer, Kept]:
    provider = TracerProvider(shutdown_on_exit=False)
    kept = Kept()
    provider.add_span_processor(kept)
    tracer = provider.get_tracer("app.otel.server_span")
    PROVIDERS[id(tracer)] = provider
    return tracer, kept


def tracer_provider_of(tracer: trace.Tracer) -> TracerProvider:
    return PROVIDERS[id(tracer)]


def made_both(operations: Operations) -> tuple[ReadableSpan, ReadableSpan]:
    """The same operations on a RecordedSpan and on the SDK's Span, each then ended."""
    tracer, kept = _tracer()
    roots = RootSpans.of(tracer)
    assert roots is not None
    ours = roots.start("GET", dict(STARTED))
    assert isinstance(ours, RecordedSpan)
    theirs = tracer.start_span("GET", NO_PARENT, SpanKind.SERVER, dict(STARTED))
    for span in (ours, theirs):
        operations(span)
        span.end()
    first, second = kept.ended
    return first, second


def described(span: ReadableSpan) -> dict[str, Any]:
    """A finished span without its ids and clock times."""
    assert span.start_time is not None and span.end_time is not None
    assert span.start_time <= span.end_time
    return {
        "name": span.name,
        "kind": span.kind,
        "parent": span.parent,
        "attributes": list((span.attributes or {}).items()),
        "events": [(e.name, dict(e.attributes or {}), e.timestamp) for e in span.events],
        "links": [(link.context, dict(link.attributes or {})) for link in span.links],
        "status": (span.status.status_code, span.status.description),
        "dropped": (span.dropped_attributes, span.dropped_events, span.dropped_links),
        "scope": span.instrumentation_scope,
        "resource": span.resource,
        "flags": span.context.trace_flags if span.context else None,
    }


def _attributes(span: trace.Span) -> None:
    span.set_attribute("http.request.method", "HEAD")  # a key set again: now the last
    span.set_attributes({"count": 3, "ratio": 0.5, "flag": True, "texts": ["a", "b"]})
    span.set_attribute("nothing", None)  # type: ignore[arg-type]  # dropped, as the SDK drops it
    span.set_attribute("", "no key")
    span.set_attribute("mapping", {"a": 1})  # type: ignore[arg-type]
    span.update_name("GET /collections/{collectionId}/items")


def _statuses(span: trace.Span) -> None:
    span.set_status(StatusCode.UNSET)
    span.set_status(StatusCode.ERROR, "first")
    span.set_status(Status(StatusCode.ERROR, "second"), "ignored")
    span.set_status(StatusCode.OK)
    span.set_status(StatusCode.ERROR, "after OK: ignored")


def _events_and_links(span: trace.Span) -> None:
    span.add_event("page", {"returned": 10, "kinds": ["a"]}, timestamp=1_000)
    try:
        raise TimeoutError("canceling statement")
    except TimeoutError as error:
        span.record_exception(error, {"extra": "yes"}, timestamp=2_000)
    span.add_link(OTHER, {"why": "follows"})
    span.add_link(SpanContext(0, 0, False), None)  # invalid: not kept


def _after_the_end(span: trace.Span) -> None:
    span.end()
    span.set_attribute("late", 1)
    span.update_name("late")
    span.set_status(StatusCode.ERROR)
    span.add_event("late", timestamp=3_000)


@pytest.mark.parametrize(
    "operations",
    [_attributes, _statuses, _events_and_links, _after_the_end],
    ids=["attributes", "statuses", "events and links", "after the end"],
)
def test_the_processors_get_what_the_sdk_gives_them(operations: Operations) -> None:
    ours, theirs = made_both(operations)
    assert described(ours) == described(theirs)


def test_the_span_limits_of_the_environment_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3")
    monkeypatch.setenv("OTEL_SPAN_EVENT_COUNT_LIMIT", "1")
    monkeypatch.setenv("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "1")

    def crowded(span: trace.Span) -> None:
        span.set_attributes({"a": 1, "b": 2, "c": 3})
        span.add_event("one", {"x": 1, "y": 2}, timestamp=1)
        span.add_event("two", timestamp=2)

    ours, theirs = made_both(crowded)
    assert described(ours) == described(theirs)
    assert ours.dropped_attributes == 2 and ours.dropped_events == 1


def test_an_escaping_exception_is_recorded_as_the_sdk_records_it() -> None:
    def failing(span: trace.Span) -> None:
        with pytest.raises(KeyError), span:
            raise KeyError("boom")

    tracer, kept = _tracer()
    roots = RootSpans.of(tracer)
    assert roots is not None
    for span in (roots.start("GET", {}), tracer.start_span("GET", NO_PARENT, SpanKind.SERVER)):
        failing(span)
    ours, theirs = kept.ended
    assert described(ours) | {"events": None} == described(theirs) | {"events": None}
    (event,), (expected,) = ours.events, theirs.events
    assert event.name == expected.name == "exception"
    assert dict(event.attributes or {}) == dict(expected.attributes or {})


def test_a_child_span_is_the_one_start_span_makes_in_its_parents_context() -> None:
    tracer, kept = _tracer()
    roots = RootSpans.of(tracer)
    assert roots is not None
    ours_parent = roots.start("GET", {})
    assert isinstance(ours_parent, RecordedSpan)
    sdk_parent = tracer.start_span("GET", NO_PARENT, SpanKind.SERVER)
    attributes = {"db.system": "postgresql", "db.statement": "SELECT 1"}
    child = ours_parent.child("SELECT", SpanKind.CLIENT, attributes, SQL_SCOPE)
    with trace.use_span(child, end_on_exit=True):
        pass
    # The SDK's tracer of the SQL spans' scope, on the same provider.
    sql_tracer = trace.get_tracer(SQL_SCOPE.name, tracer_provider=tracer_provider_of(tracer))
    context = trace.set_span_in_context(sdk_parent)
    with sql_tracer.start_as_current_span("SELECT", context, SpanKind.CLIENT, attributes):
        pass
    ours, theirs = kept.ended
    assert described(ours) | {"parent": None} == described(theirs) | {"parent": None}
    assert ours.parent == ours_parent.get_span_context()
    assert theirs.parent == sdk_parent.get_span_context()
    assert ours.context is not None and ours.context.trace_id == ours_parent.context.trace_id

"""RootSpans (app/otel/root_spans.py) makes an unsampled root span itself and leaves a sampled
one to the SDK: either way the span must be what the SDK's start_span would make, and the
sampler asked exactly once per span."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    StaticSampler,
)
from opentelemetry.trace import Link, NonRecordingSpan, SpanKind, TraceFlags
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from app.otel import xray
from app.otel.root_spans import NO_PARENT, DecidedOnce, RootSpans, _decided, deciding_once
from app.otel.xray import AdoptingXRayIdGenerator

ATTRIBUTES = {"http.request.method": "GET", "url.path": "/collections", "server.address": "h"}


class Counting(Sampler):
    """A root sampler that answers `decision` and writes down the trace ids it was asked about."""

    def __init__(self, decision: Decision) -> None:
        self.inner = StaticSampler(decision)
        self.asked: list[int] = []

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        self.asked.append(trace_id)
        return self.inner.should_sample(parent_context, trace_id, name, kind, attributes)

    def get_description(self) -> str:
        return "Counting"


def _roots(decision: Decision) -> tuple[RootSpans, Counting, InMemorySpanExporter, TracerProvider]:
    counting = Counting(decision)
    provider = TracerProvider(
        sampler=deciding_once(ParentBased(counting)),
        id_generator=AdoptingXRayIdGenerator(),
        shutdown_on_exit=False,
    )
    exported = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    return RootSpans(provider.get_tracer("test"), provider), counting, exported, provider


def test_an_unsampled_root_span_is_the_sdks_without_the_sdk() -> None:
    roots, counting, exported, provider = _roots(Decision.DROP)
    span = roots.start("GET", ATTRIBUTES)
    sdk = provider.get_tracer("test").start_span("GET", NO_PARENT, SpanKind.SERVER, ATTRIBUTES)
    ours, theirs = span.get_span_context(), sdk.get_span_context()
    assert type(span) is type(sdk) is NonRecordingSpan
    assert ours.is_valid and not ours.is_remote
    assert (ours.trace_flags, ours.trace_state) == (theirs.trace_flags, theirs.trace_state)
    assert ours.trace_flags == TraceFlags(TraceFlags.DEFAULT)
    # An X-Ray id: its first 32 bits are the epoch second it was made.
    assert abs((ours.trace_id >> 96) - time.time()) < 600
    assert counting.asked == [ours.trace_id, theirs.trace_id]
    span.end()
    assert exported.get_finished_spans() == ()


def test_a_sampled_root_span_is_made_by_the_sdk_with_the_id_and_decision_made_once() -> None:
    roots, counting, exported, _ = _roots(Decision.RECORD_AND_SAMPLE)
    span = roots.start("GET", ATTRIBUTES)
    assert span.is_recording()
    span.end()
    (finished,) = exported.get_finished_spans()
    assert isinstance(finished, ReadableSpan)
    assert counting.asked == [finished.context.trace_id], "asked once, about the span's own id"
    assert finished.parent is None and finished.kind is SpanKind.SERVER
    assert finished.context.trace_flags.sampled
    assert dict(finished.attributes or {}) == ATTRIBUTES
    assert _decided.get() is None and xray._adopted_root.get() is None, "nothing left behind"


def test_a_decision_is_given_back_only_for_its_own_trace_id() -> None:
    counting = Counting(Decision.DROP)
    sampler = DecidedOnce(counting)
    kept = SamplingResult(Decision.RECORD_AND_SAMPLE)
    token = _decided.set((7, kept))
    try:
        assert sampler.should_sample(None, 8, "GET").decision is Decision.DROP
        assert sampler.should_sample(None, 7, "GET") is kept
        assert sampler.should_sample(None, 7, "GET").decision is Decision.DROP, "given once"
    finally:
        _decided.reset(token)
    assert counting.asked == [8, 7]


def test_the_provider_telemetry_builds_is_the_one_roots_are_made_for() -> None:
    """RootSpans.of takes only a provider with DecidedOnce and our id generator: with another
    sampler or id generator, the SDK makes every span."""
    ours = TracerProvider(
        sampler=deciding_once(None), id_generator=AdoptingXRayIdGenerator(), shutdown_on_exit=False
    )
    others: list[dict[str, Any]] = [
        {"id_generator": AdoptingXRayIdGenerator()},
        {"sampler": deciding_once(None)},
    ]
    assert _of(ours) is not None
    for kwargs in others:
        assert _of(TracerProvider(shutdown_on_exit=False, **kwargs)) is None


def _of(provider: TracerProvider) -> RootSpans | None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("opentelemetry.trace.get_tracer_provider", lambda: provider)
        return RootSpans.of(provider.get_tracer("test"))


def test_the_sampler_from_the_environment_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    described = deciding_once(None).get_description()
    assert "TraceIdRatioBased{0.25}" in described

"""What recording one sampled server span costs: the SDK's Span against RecordedSpan
(app/otel/recorded_spans.py), each started, given a server span's eleven attributes in three
calls (as server_span.py gives them), renamed and ended, with a span processor that keeps nothing.

    .venv/bin/python -m bench.spans          # SPANS=50000

Prints microseconds per span, the two interleaved, three times. No database, no export.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import SpanKind

from app.otel.root_spans import NO_PARENT, RootSpans

SPANS = int(os.environ.get("SPANS", "50000"))
STARTED = {
    "http.request.method": "GET",
    "url.path": "/collections/a/items/2",
    "server.address": "h",
}
RECORDED = {
    "url.scheme": "http",
    "client.address": "127.0.0.1",
    "user_agent.original": "wrk",
    "network.protocol.version": "1.1",
}
FINISHED = {
    "http.response.status_code": 200,
    "http.response.body.size": 1234,
    "ogc.collection.id": "public.fire_perimeters",
    "http.route": "/collections/{collectionId}/items/{itemId}",
}


class Discarding(SpanProcessor):
    def on_end(self, span: ReadableSpan) -> None:
        pass


def recorded_like_a_request(start: Callable[[], trace.Span]) -> None:
    span = start()
    span.set_attributes(RECORDED)
    span.update_name("GET /collections/{collectionId}/items/{itemId}")
    span.set_attributes(FINISHED)
    span.end()


def per_span(start: Callable[[], trace.Span]) -> float:
    began = time.perf_counter()
    for _ in range(SPANS):
        recorded_like_a_request(start)
    return (time.perf_counter() - began) / SPANS * 1e6


def main() -> None:
    provider = TracerProvider(shutdown_on_exit=False)  # sampling every span: always on
    provider.add_span_processor(Discarding())
    tracer = provider.get_tracer("app.otel.server_span")
    roots = RootSpans.of(tracer)
    assert roots is not None
    for _ in range(3):
        sdk = per_span(lambda: tracer.start_span("GET", NO_PARENT, SpanKind.SERVER, STARTED))
        ours = per_span(lambda: roots.start("GET", STARTED))
        ratio = ours / sdk
        print(f"  SDK Span {sdk:5.1f} us   RecordedSpan {ours:5.1f} us   ours / SDK {ratio:.2f}")


if __name__ == "__main__":
    main()

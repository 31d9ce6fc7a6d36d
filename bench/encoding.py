"""What encoding a sampled request's spans costs the export thread: the SDK's OTLP encoder
against ours (app/otel/span_encoding.py), on the spans of real requests served in-process.

    DATABASE_URL=... .venv/bin/python -m bench.encoding [PATH]     # REQUESTS=2000

Every request is sampled; its finished spans are kept in memory, then encoded and serialized in
batches of 512 (the batch span processor's default), each encoder in turn, three times. Prints
microseconds per request. Runs against `wfs3_bench`.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import uvloop
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.otel.span_encoding import SpanEncoder
from bench.inprocess import build, call

REQUESTS = int(os.environ.get("REQUESTS", "2000"))
BATCH = 512
PATH = "/collections/public.fire_perimeters/items/2"


async def served_spans(target: str) -> Sequence[ReadableSpan]:
    os.environ["OTEL_TRACES_SAMPLER"] = "always_on"
    app = build("on")
    kept = InMemorySpanExporter()
    provider: Any = trace.get_tracer_provider()  # the SDK's, set up by create_app
    provider.add_span_processor(SimpleSpanProcessor(kept))
    async with app.router.lifespan_context(app):
        for _ in range(REQUESTS):
            await call(app, target)
    return kept.get_finished_spans()


def per_request(encode: Callable[[Sequence[ReadableSpan]], Any], spans: Sequence[Any]) -> float:
    start = time.perf_counter()
    for first in range(0, len(spans), BATCH):
        encode(spans[first : first + BATCH]).SerializeToString()
    return (time.perf_counter() - start) / REQUESTS * 1e6


def main(target: str) -> None:
    spans = uvloop.run(served_spans(target))
    print(f"{target}: {len(spans) / REQUESTS:.1f} spans per request, {REQUESTS} requests")
    ours = SpanEncoder()
    for _ in range(3):
        sdk, encoded = per_request(encode_spans, spans), per_request(ours.request, spans)
        ratio = encoded / sdk
        print(f"  SDK encoder {sdk:6.1f} us   ours {encoded:6.1f} us   ours / SDK {ratio:.2f}")


if __name__ == "__main__":
    logging.disable(logging.INFO)
    main(sys.argv[1] if len(sys.argv) > 1 else PATH)

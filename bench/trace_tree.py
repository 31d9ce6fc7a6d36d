"""Print the span tree of one items request, as a collector would receive it.

Starts a loopback OTLP receiver and the service (startup.sh) exporting to it, sends one request,
and prints every span of that trace with its duration and OGC attributes.

    DATABASE_URL=$(make -s db | tail -n 1) .venv/bin/python -m bench.trace_tree [path?query]
"""

from __future__ import annotations

import os
import sys
import time

import httpx2 as httpx

from harness.otlp_receiver import OtlpReceiver, ReceivedSpan
from harness.server_process import running_server

DEFAULT = "/collections/public.fire_perimeters/items?limit=10&bbox=-125,30,-110,45"


def depth(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> int:
    level = 0
    while span.parent_span_id in by_id:
        level, span = level + 1, by_id[span.parent_span_id]
    return level


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    receiver = OtlpReceiver()
    receiver.start()
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    with running_server(os.environ["DATABASE_URL"], **env) as server:
        httpx.get(server.base + path)  # the first request warms the pool; show the second
        response = httpx.get(server.base + path)
        trace_hex = response.headers["x-amzn-trace-id"].removeprefix("Root=1-").replace("-", "")
        time.sleep(1)
    receiver.stop()
    spans = sorted((s for s in receiver.spans if s.trace_id == trace_hex), key=lambda s: s.start_ns)
    by_id = {s.span_id: s for s in spans}
    print(f"GET {path} -> {response.status_code}, {response.headers['x-amzn-trace-id']}")
    for span in spans:
        ms = (span.end_ns - span.start_ns) / 1e6
        shown = (
            span.attributes
            if os.environ.get("ALL_ATTRIBUTES")
            else {k: v for k, v in span.attributes.items() if k.startswith(("ogc.", "http.r"))}
        )
        statement = str(span.attributes.get("db.statement", ""))[:60]
        print(f"{'  ' * depth(span, by_id)}{span.name}  {ms:.2f} ms  {statement or shown}")
        if statement and os.environ.get("ALL_ATTRIBUTES"):
            print(f"    {shown}")


if __name__ == "__main__":
    main()

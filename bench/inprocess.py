"""Time (and optionally profile) one request served in-process, with no HTTP and no load
generator: the app called as an ASGI coroutine in a loop, so cProfile sees every frame.

    DATABASE_URL=... .venv/bin/python -m bench.inprocess PATH MODE [SORT]

MODE: `off` (OTEL_SDK_DISABLED) or `on` (telemetry on: traces and logs not exported; metrics with
the service's own reader, aimed at a loopback port nothing listens on and never due within a run,
because without a reader the SDK skips most of a histogram record's work, which then goes unseen;
the one export at exit fails, as it should). OTEL_TRACES_SAMPLER / _ARG choose the sampling, as
for the service. It prints the wall time and the process's CPU time per request (the CPU is what
bounds one worker's throughput). With SORT (`tottime`, `cumtime`) it also prints a cProfile of
500 requests. Runs against `wfs3_bench`.
"""

from __future__ import annotations

import cProfile
import logging
import os
import pstats
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import uvloop

from app.factory import create_app
from app.settings import TelemetrySettings
from bench.data import BENCH_DB
from harness.database import make_settings

REQUESTS = int(os.environ.get("REQUESTS", "2000"))
UNANSWERED_ENDPOINT = "http://127.0.0.1:9"  # discard: no export is ever due within a run


def build(mode: str) -> Any:
    url = urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{BENCH_DB}").geturl()
    settings = make_settings(url)
    os.environ.setdefault("OTEL_METRIC_EXPORT_INTERVAL", str(24 * 3600 * 1000))
    os.environ.setdefault("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "0.2")  # the exit's one export
    settings.telemetry = TelemetrySettings(
        otel_sdk_disabled=mode == "off",
        otel_traces_exporter="none",
        otel_exporter_otlp_metrics_endpoint=UNANSWERED_ENDPOINT,
        otel_logs_exporter="none",
    )
    return create_app(settings)


async def call(app: Any, target: str) -> None:
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    assert statuses == [200], statuses


async def main(target: str, mode: str, sort: str | None) -> None:
    app = build(mode)
    async with app.router.lifespan_context(app):
        for _ in range(100):
            await call(app, target)
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(REQUESTS):
            await call(app, target)
        wall = (time.perf_counter() - start) / REQUESTS * 1000
        used = (time.process_time() - cpu) / REQUESTS * 1000
        # CPU is what limits one worker's throughput; wall time also holds the database's.
        print(f"{mode}: {wall:.3f} ms per request, {used:.3f} ms of this process's CPU")
        if sort:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(500):
                await call(app, target)
            profile.disable()
            pstats.Stats(profile).sort_stats(sort).print_stats(40)


if __name__ == "__main__":
    logging.disable(logging.INFO)
    # On uvloop, as uvicorn runs the service: asyncio's own loop spends its time elsewhere.
    uvloop.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))

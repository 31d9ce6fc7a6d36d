"""What CPython's cyclic garbage collector costs a request: passes by generation, the time they
take, and the longest, counted by gc.callbacks while requests are served in-process (as
bench/inprocess.py serves them).

    DATABASE_URL=... .venv/bin/python -m bench.heap [PATH]     # REQUESTS=30000

Telemetry on, sampling as OTEL_TRACES_SAMPLER / _ARG say (default here: the deployed 10 %); the
app serves 300 requests first. Runs against `wfs3_bench`.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import time
from typing import Any

import uvloop

from bench.inprocess import build, call

REQUESTS = int(os.environ.get("REQUESTS", "30000"))
PATH = "/collections/public.fire_perimeters/items/2"


class PassClock:
    """gc.callbacks' view: passes by generation, and the seconds they took."""

    def __init__(self) -> None:
        self.passes = [0, 0, 0]
        self.seconds = 0.0
        self.longest = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        self.passes[info["generation"]] += 1
        self.seconds += took
        self.longest = max(self.longest, took)


async def measured(target: str) -> PassClock:
    app = build("on")
    async with app.router.lifespan_context(app):
        for _ in range(300):
            await call(app, target)
        clock = PassClock()
        gc.callbacks.append(clock)
        try:
            for _ in range(REQUESTS):
                await call(app, target)
        finally:
            gc.callbacks.remove(clock)
    return clock


def main(target: str) -> None:
    clock = uvloop.run(measured(target))
    per_thousand = ", ".join(f"{n * 1000 / REQUESTS:.2f}" for n in clock.passes)
    print(f"{target}: {REQUESTS} requests, telemetry on, {os.environ['OTEL_TRACES_SAMPLER']}")
    print(
        f"  passes per 1000 requests by generation [{per_thousand}]; "
        f"{clock.seconds / REQUESTS * 1e6:.2f} us a request; "
        f"longest {clock.longest * 1000:.1f} ms; "
        f"objects tracked {len(gc.get_objects())}"
    )


if __name__ == "__main__":
    logging.disable(logging.INFO)
    os.environ.setdefault("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    os.environ.setdefault("OTEL_TRACES_SAMPLER_ARG", "0.1")
    main(sys.argv[1] if len(sys.argv) > 1 else PATH)

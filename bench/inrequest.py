"""What named functions cost inside real requests, in-process: each wrapped to add up its own
wall time, the app called as bench/inprocess.py calls it.

A function timed in a tight loop has the CPU's caches to itself; inside a request, between the
event loop, asyncpg and the rest of the app, the same code costs several times more on this
machine (start_server_span: ~5 us alone, ~22 us in an item request). This says what cutting a
function would save a request.

    DATABASE_URL=... .venv/bin/python -m bench.inrequest PATH MODE module:Class.function,...

MODE as for bench.inprocess (`off`, `on`; OTEL_TRACES_SAMPLER/_ARG choose the sampling). A
function called by another timed one counts in both, and a coroutine's time includes what it
awaited (the database). A function is timed where it is looked up: one imported by name into
another module is named there (`app.ogc.items:find_collection`), and one the app holds by
reference from its build (a bound method kept in an attribute) is not seen. Runs against
`wfs3_bench`.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import uvloop

from bench.inprocess import build, call
from bench.layers import _logging_to_nowhere

REQUESTS = int(os.environ.get("REQUESTS", "3000"))
WARM_UP = 500


class Timed:
    """Total seconds and calls of each wrapped function."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, spec: str) -> None:
        """Replace `module:Owner.name` (or `module:name`) by a wrapper that adds up its time."""
        module, _, dotted = spec.partition(":")
        *owners, name = dotted.split(".")
        owner: Any = importlib.import_module(module)
        for part in owners:
            owner = getattr(owner, part)
        setattr(owner, name, self._wrapper(spec, getattr(owner, name)))
        self.seconds[spec], self.calls[spec] = 0.0, 0

    def _wrapper(self, spec: str, function: Callable[..., Any]) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(function):

            @functools.wraps(function)
            async def timed_coroutine(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return await function(*args, **kwargs)
                finally:
                    self._add(spec, time.perf_counter() - start)

            return timed_coroutine

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._add(spec, time.perf_counter() - start)

        return timed

    def _add(self, spec: str, seconds: float) -> None:
        self.seconds[spec] += seconds
        self.calls[spec] += 1

    def reset(self) -> None:
        self.seconds = dict.fromkeys(self.seconds, 0.0)
        self.calls = dict.fromkeys(self.calls, 0)


async def main(target: str, mode: str, specs: list[str]) -> None:
    served = build(mode)
    timed = Timed()
    for spec in specs:
        timed.wrap(spec)
    async with served.router.lifespan_context(served):
        for _ in range(WARM_UP):
            await call(served, target)
        timed.reset()
        start = time.process_time()
        for _ in range(REQUESTS):
            await call(served, target)
        cpu = (time.process_time() - start) / REQUESTS * 1e6
    print(f"{target} ({mode}): {cpu:.0f} us of CPU per request, {REQUESTS} requests")
    for spec in specs:
        per_request = timed.seconds[spec] / REQUESTS * 1e6
        print(f"  {spec:60s} {per_request:7.1f} us  ({timed.calls[spec] / REQUESTS:.1f} calls)")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    _logging_to_nowhere()
    uvloop.run(main(sys.argv[1], sys.argv[2], sys.argv[3].split(",")))

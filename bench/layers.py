"""Where one request's CPU goes, layer by layer: the app as served, then its items or item route
alone (no edge: app/edge.py), then our endpoint's function alone (no response sent), then the
bare page statement, in-process and interleaved.

    DATABASE_URL=... .venv/bin/python -m bench.layers [PATH]     # default: items/5 of perimeters

Untraced (OTEL_SDK_DISABLED), on `wfs3_bench` (make bench's data), logging as the service does
(to /dev/null). PATH is an items or item path whose statement has no filter (the floor replays
the statement our endpoint built). Each line is this process's CPU
per request (the minimum over ROUNDS of REQUESTS), so the differences between lines are what a
layer costs one uvicorn worker: FastAPI's and Starlette's entry and the edge (proxy headers,
observation, access line, Cache-Control), the response sent, our endpoint's Python, and the floor
(the page statement through the app's own pool, app/db/pool.py, whose release skips a Task that
bench/floor.py's plain asyncpg pool still makes). No HTTP: uvicorn's own parsing is the same for
every server. On uvloop, as uvicorn runs the service.
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop
from starlette.routing import Match

from bench.inprocess import build, call
from harness.server_process import ROOT

ROUNDS = int(os.environ.get("ROUNDS", "5"))
REQUESTS = int(os.environ.get("REQUESTS", "1000"))
ITEM = "/collections/public.fire_perimeters/items/5"
Step = Callable[[], Awaitable[Any]]


def _scope(app: Any, target: str) -> dict[str, Any]:
    """What routing leaves in the scope for `target`: our route, its endpoint and its path
    parameters."""
    path, _, query = target.partition("?")
    scope: dict[str, Any] = {
        "type": "http", "method": "GET", "scheme": "http", "path": path, "root_path": "",
        "query_string": query.encode(), "headers": [(b"host", b"127.0.0.1")],
        "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "app": app,
    }  # fmt: skip
    for route in app.router.routes[:2]:  # items.py puts the items and item routes first
        match, child = route.matches(scope)
        if match is Match.FULL:
            return {**scope, **child, "route": route}
    raise SystemExit(f"{target} is not an items or item path")


async def _nothing_received() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _sent_nowhere(message: dict[str, Any]) -> None:
    pass


def _steps(served: Any, target: str) -> dict[str, Step]:
    scope = _scope(served, target)
    route, endpoint, params = scope["route"], scope["endpoint"], scope["path_params"]
    pool = served.state.pool
    collection = served.state.collection_catalog["collections"][params["collectionId"]]
    key = [int(params["itemId"])] if "itemId" in params else []

    async def floor() -> None:
        # The statement the warm-up built (catalog.shaped_statement's private memo).
        sql = next(iter(collection._statements.values()))
        async with pool.acquire() as conn:
            await conn.fetchrow(sql, *key)

    return {
        "the app as served": lambda: call(served, target),
        "its route alone": lambda: route.handle(dict(scope), _nothing_received, _sent_nowhere),
        "the endpoint alone": lambda: endpoint(dict(scope), _nothing_received, _sent_nowhere),
        "floor: pool + page statement": floor,
    }


async def _cpu(step: Step) -> float:
    start = time.process_time()
    for _ in range(REQUESTS):
        await step()
    return (time.process_time() - start) / REQUESTS * 1e6


async def main(target: str) -> None:
    served = build("off")
    async with served.router.lifespan_context(served):
        steps = _steps(served, target)
        for step in steps.values():
            for _ in range(200):  # warm-up: pools, statement memos, PostgreSQL's caches
                await step()
        spent: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(ROUNDS):
            for name, step in steps.items():
                spent[name].append(await _cpu(step))
    print(f"{target}: CPU per request, min of {ROUNDS} x {REQUESTS}, untraced")
    for name, values in spent.items():
        print(f"  {name:30s} {min(values):7.0f} us")


def _logging_to_nowhere() -> None:
    """The service's JSON log configuration (access lines included), written to /dev/null."""
    config = json.loads(Path(ROOT / "app/logging.json").read_text())
    config["handlers"]["stdout"]["stream"] = open(os.devnull, "w")  # noqa: SIM115
    logging.config.dictConfig(config)


if __name__ == "__main__":
    _logging_to_nowhere()
    uvloop.run(main(sys.argv[1] if len(sys.argv) > 1 else ITEM))  # as uvicorn runs the service

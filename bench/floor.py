"""The floor: how fast any Python ASGI server on this machine can answer items/{id} and a small
items page, measured beside our service and (when BENCH_PG_FEATURESERV gives its address)
pg_featureserv.

The floor is a bare ASGI app on the same uvicorn (uvloop, httptools) and asyncpg: no framework,
middleware, checks, links, logging or telemetry. For each path it runs our own page statement,
captured as case (g) captures it (bench/dbonly.py), and sends the features it returns inside a bare
envelope. Its connections have our sessions' settings and release (app/db/lifespan.py), so
PostgreSQL's work per request is the same for both; asyncpg's pool is otherwise its own (its
release still makes the Task ours skips, app/db/pool.py). What separates our service from it is our
own Python around that statement; what separates it from pg_featureserv is Python's web serving
itself, which no change inside the service removes.

    make bench-floor        # ROUNDS=3 SECONDS=4 CONNECTIONS=8; make bench's database (loaded once)
    FLOOR_KINDS=item make bench-floor     # some of item, items_10, items_100

Beside them, `lean item` (bench/lean.py): our app behind the least Python a plain item answer
needs; how much of the gap to the floor our layers are.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
from tipg.database import connection_factory

from app.db.lifespan import keep_session, session_settings
from app.settings import PoolSettings
from bench import dbonly, servers, wrk
from bench.data import bench_database, sizes_from_env
from bench.workload import PG_FEATURESERV, TIPG, paths
from harness.server_process import ROOT, running_server

ROUNDS = int(os.environ.get("ROUNDS", "3"))
SECONDS = int(os.environ.get("SECONDS", "4"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "8"))
KINDS = tuple(os.environ.get("FLOOR_KINDS", "item,items_10,items_100").split(","))
# bench/lean.py: our app behind the least Python a plain item answer needs (its other requests,
# items_10 and items_100 here, are our app's own).
LEAN = [
    *servers.uvicorn(ROOT / ".venv/bin", "bench.lean:app"),
    *("--no-server-header", "--log-config", "app/logging.json"),  # as startup.sh serves ours
]

_pool: Any = None
_statements: dict[str, tuple[str, list[Any]]] = {}  # path -> our page statement, its arguments


async def _lifespan(receive: Any, send: Any) -> None:
    global _pool
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _statements.update(json.loads(Path(os.environ["FLOOR_STATEMENTS"]).read_text()))
            init = connection_factory(["public"], "pg_temp", None)  # tipg's, as case (g)
            url = os.environ["FLOOR_DATABASE_URL"]
            # The service's session settings and release (no reset query): the database does
            # for the floor exactly what it does for our service.
            _pool = await asyncpg.create_pool(
                url,
                min_size=10,
                max_size=10,
                init=init,
                reset=keep_session,
                server_settings=session_settings(PoolSettings().statement_timeout_ms),
            )
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await _pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _answer(path: str, query: bytes) -> bytes:
    if path == "/readyz":
        return b"{}"
    sql, args = _statements[path + (f"?{query.decode()}" if query else "")]
    async with _pool.acquire() as conn:
        row = await conn.fetchrow(sql, *args)
    features: bytes = row[1]  # geojson_sql.read_page's second column: the features' JSON
    if not path.endswith("/items"):
        return features
    return b'{"type":"FeatureCollection","features":[' + features + b"]}"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The floor server (uvicorn bench.floor:app)."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    body = await _answer(scope["path"], scope["query_string"])
    headers = [(b"content-type", b"application/geo+json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _bench_url() -> str:
    """make bench's database, loaded first when this is the first benchmark run here."""
    return bench_database(os.environ["DATABASE_URL"], sizes_from_env())


def _capture(url: str, listing: Path) -> None:
    """Our page statement for every path of every kind, as case (g) replays it."""
    every = [path for kind in KINDS for path in paths(kind, TIPG, sizes_from_env())]
    statements = dbonly.best(dbonly.capture(url, every))
    captured = {path: [s[1], list(s[2])] for path, (s,) in zip(every, statements, strict=True)}
    listing.write_text(json.dumps(captured))


def floor_case(url: str, folder: Path) -> servers.Case:
    """The floor as a case of make bench (bench/run.py): our statements captured into `folder`,
    answering the KINDS only."""
    listing = folder / "statements.json"
    _capture(url, listing)
    return servers.Case(
        "floor",
        "(i) the Python floor: bare ASGI + asyncpg, our statement",
        env={"FLOOR_DATABASE_URL": url, "FLOOR_STATEMENTS": str(listing)},
        command=servers.uvicorn(ROOT / ".venv/bin", "bench.floor:app"),
        kinds=frozenset(KINDS),
    )


def _servers(stack: ExitStack) -> dict[str, tuple[str, Any]]:
    """name -> (base URL, dialect) of every server measured."""
    url = _bench_url()
    floor = floor_case(url, Path(stack.enter_context(tempfile.TemporaryDirectory())))
    started = {
        "floor": servers.start(floor, url),
        "ours untraced": running_server(url, OTEL_SDK_DISABLED="true", WEB_CONCURRENCY="1"),
        "lean item": running_server(url, LEAN, OTEL_SDK_DISABLED="true", WEB_CONCURRENCY="1"),
    }
    found = {name: (stack.enter_context(s).base, TIPG) for name, s in started.items()}
    if pgfs := os.environ.get(servers.PG_FEATURESERV_VARIABLE, "").rstrip("/"):
        found["pg_featureserv"] = (pgfs, PG_FEATURESERV)
    return found


def _measure(kind: str, running: dict[str, tuple[str, Any]]) -> dict[str, float]:
    sizes = sizes_from_env()
    listed = {name: paths(kind, dialect, sizes) for name, (_, dialect) in running.items()}
    runs: dict[str, list[float]] = {name: [] for name in running}
    for name, (base, _) in running.items():
        wrk.run(base, listed[name], 1, CONNECTIONS)  # warm-up
    for _ in range(ROUNDS):
        for name, (base, _) in running.items():
            result = wrk.run(base, listed[name], SECONDS, CONNECTIONS)
            runs[name].append(result.requests_per_second)
    return {name: statistics.median(values) for name, values in runs.items()}


def main() -> None:
    with ExitStack() as stack:
        running = _servers(stack)
        for kind in KINDS:
            medians = _measure(kind, running)
            print(f"{kind} ({ROUNDS} x {SECONDS} s, {CONNECTIONS} connections, medians)")
            for name, rate in medians.items():
                print(f"  {name:15s} {rate:8.1f} req/s")
            if "pg_featureserv" in medians:
                for name in ("floor", "ours untraced"):
                    ratio = medians[name] / medians["pg_featureserv"]
                    print(f"  {name} / pg_featureserv = {ratio:.2f}")
            for name in ("ours untraced", "lean item"):
                print(f"  {name} / floor = {medians[name] / medians['floor']:.2f}")


if __name__ == "__main__":
    main()

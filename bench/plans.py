"""What two session settings (app/db/lifespan.py) buy, on `wfs3_bench`:

    DATABASE_URL=... .venv/bin/python -m bench.plans

- `jit`: a bbox count over the million detections, EXPLAIN ANALYZE with jit on and off,
  interleaved, five times each: execution time and the time spent compiling.
- `max_parallel_workers_per_gather`: the same count with two parallel workers and with none.
- `plan_cache_mode`: the same filter as a prepared statement with the box as parameters (as a
  client library or a parameterised query would have it), executed six times; the sixth
  execution's plan is generic (it still names `$1`) under `auto` and custom under
  `force_custom_plan`, with its execution time. Then what the service's own parameterised
  statement, an item read by its key, costs the server under each mode: the backend's CPU per
  read (from /proc: run it on the database's machine), READS reads of each, interleaved.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from bench.data import BENCH_DB

BOX = "ST_MakeEnvelope({}, {}, {}, {}, 4326)"
COUNT = "SELECT count(*) FROM public.fire_detections WHERE ST_Intersects(geom, {})"
LITERAL_BOX = BOX.format(-118, 36, -116, 38)
ROUNDS = 5


async def _explain(conn: asyncpg.Connection, sql: str, *args: Any) -> dict[str, Any]:
    raw = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args)
    plan: dict[str, Any] = json.loads(raw)[0]
    return plan


async def parallel(conn: asyncpg.Connection) -> dict[str, float]:
    times: dict[str, list[float]] = {"2": [], "0": []}
    await conn.execute("SET jit = off")
    for _ in range(ROUNDS):
        for workers in times:
            await conn.execute(f"SET max_parallel_workers_per_gather = {workers}")
            plan = await _explain(conn, COUNT.format(LITERAL_BOX))
            times[workers].append(plan["Execution Time"])
    return {f"{workers} workers, ms": statistics.median(t) for workers, t in times.items()}


async def jit(conn: asyncpg.Connection) -> dict[str, dict[str, float]]:
    times: dict[str, list[float]] = {"on": [], "off": []}
    compiling: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(ROUNDS):
        for setting in times:
            await conn.execute(f"SET jit = {setting}")
            plan = await _explain(conn, COUNT.format(LITERAL_BOX))
            times[setting].append(plan["Execution Time"])
            compiling[setting].append(plan.get("JIT", {}).get("Timing", {}).get("Total", 0.0))
    return {
        s: {"execution_ms": statistics.median(times[s]), "jit_ms": statistics.median(compiling[s])}
        for s in times
    }


async def sixth_plan(conn: asyncpg.Connection, mode: str) -> dict[str, Any]:
    await conn.execute(f"SET plan_cache_mode = {mode}")
    prepared = COUNT.format(BOX.format("$1", "$2", "$3", "$4"))
    await conn.execute(f"PREPARE box_count(float8, float8, float8, float8) AS {prepared}")
    try:
        for _ in range(5):
            await conn.execute("EXECUTE box_count(-118, 36, -116, 38)")
        plan = await _explain(conn, "EXECUTE box_count(-118, 36, -116, 38)")
    finally:
        await conn.execute("DEALLOCATE box_count")
    return {"generic": "$1" in json.dumps(plan["Plan"]), "execution_ms": plan["Execution Time"]}


READS = 2000
ITEM = "/collections/public.fire_perimeters/items/5"


async def _item_statement() -> str:
    """The statement the service reads an item by its key with (catalog.shaped_statement)."""
    from bench.inprocess import build, call  # the app itself: its statement, not a copy

    app = build("off")
    async with app.router.lifespan_context(app):
        await call(app, ITEM)
        collection = app.state.collection_catalog["collections"]["public.fire_perimeters"]
        return str(next(iter(collection._statements.values())))


async def item_reads(url: str, sql: str, mode: str) -> dict[str, float]:
    """READS reads of items 1..900 by key on one connection under `mode`: wall time and the
    backend's CPU (utime + stime of its process) per read, in us."""
    conn = await asyncpg.connect(url, server_settings={"plan_cache_mode": mode, "jit": "off"})
    try:
        stat = Path(f"/proc/{conn.get_server_pid()}/stat")
        for key in range(1, 51):  # past the five custom plans `auto` starts with
            await conn.fetchrow(sql, key)
        start, cpu = time.perf_counter(), _ticks(stat)
        for n in range(READS):
            await conn.fetchrow(sql, n % 900 + 1)
        wall, used = time.perf_counter() - start, (_ticks(stat) - cpu) / os.sysconf("SC_CLK_TCK")
    finally:
        await conn.close()
    return {"wall_us": round(wall / READS * 1e6), "server_cpu_us": round(used / READS * 1e6)}


def _ticks(stat: Path) -> int:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))


async def main() -> None:
    url = urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{BENCH_DB}").geturl()
    conn = await asyncpg.connect(url)
    try:
        print("parallel workers (jit off):", json.dumps(await parallel(conn)))
        # The rest as the service runs: no parallel workers.
        await conn.execute("SET max_parallel_workers_per_gather = 0")
        print("jit:", json.dumps(await jit(conn)))
        await conn.execute("SET jit = off")
        for mode in ("auto", "force_custom_plan", "auto", "force_custom_plan"):
            sixth = json.dumps(await sixth_plan(conn, mode))
            print(f"sixth execution, plan_cache_mode={mode}: {sixth}")
    finally:
        await conn.close()
    sql = await _item_statement()
    for mode in ("auto", "force_custom_plan", "auto", "force_custom_plan"):
        reads = await item_reads(url, sql, mode)
        print(f"item by key, plan_cache_mode={mode}: {json.dumps(reads)}")


if __name__ == "__main__":
    asyncio.run(main())

"""What two session settings (app/db/lifespan.py) buy, on `wfs3_bench`:

    DATABASE_URL=... .venv/bin/python -m bench.plans

- `jit`: a bbox count over the million detections, EXPLAIN ANALYZE with jit on and off,
  interleaved, five times each: execution time and the time spent compiling.
- `max_parallel_workers_per_gather`: the same count with two parallel workers and with none.
- `plan_cache_mode`: the same filter as a prepared statement with the box as parameters (as a
  client library or a parameterised query would have it), executed six times; the sixth
  execution's plan is generic (it still names `$1`) under `auto` and custom under
  `force_custom_plan`, with its execution time.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
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


if __name__ == "__main__":
    asyncio.run(main())

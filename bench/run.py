"""make bench / make bench-quick: every case against every request kind, interleaved rounds.

Each round runs every kind against every case in turn (A B C ... A B C ...), so drift in this
machine's speed falls on all cases alike; the median of the rounds is reported. Results go to
bench/results/<date>-<commit>.json, BENCHMARKS.md and bench/results/latest.png (quick: quick.md
and quick.png in bench/results/).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx2 as httpx

from bench import answers, dbonly, floor, report, servers, wrk
from bench.data import bench_database, sizes_from_env
from bench.workload import KINDS, TIPG, paths
from harness.server_process import ROOT, Server

FULL = {"kinds": list(KINDS), "rounds": 3, "seconds": 4}
QUICK = {"kinds": ["items_10", "bbox", "item", "tile"], "rounds": 3, "seconds": 2}
CONNECTIONS = 8
SCALING_KIND = "items_100"
CONDITIONAL_KIND = "items_100"
BIG_PAGE = "/collections/public.fire_detections/items?limit=10000"
Running = Server | servers.ExternalServer


def big_pages(server: Running, seconds: float) -> dict[str, float]:
    """One worker's resident memory idle, then while serving limit=10000 pages of detections."""
    idle = rss_mb(server) or 0.0
    wrk.run(server.base, [BIG_PAGE], seconds, CONNECTIONS)
    after = rss_mb(server) or 0.0
    return {"idle_mb": idle, "after_mb": after, "grown_mb": round(after - idle, 1)}


def conditional(server: Running, rounds: int, seconds: int) -> dict[str, list[float]]:
    """An items page answered 200, and 304 to a client that sends its ETag: interleaved rounds
    on one server (the 304 reads the snapshot only, app/ogc/etags.py)."""
    path = paths(CONDITIONAL_KIND, TIPG, SIZES)[0]
    wrk.run(server.base, [path], 1, CONNECTIONS)  # the pool filled (see _run_304)
    out: dict[str, list[float]] = {"200": [], "304": []}
    for _ in range(rounds):
        out["200"].append(wrk.run(server.base, [path], seconds, CONNECTIONS).requests_per_second)
        out["304"].append(_run_304(server, path, seconds))
    return out


def _run_304(server: Running, path: str, seconds: int, attempts: int = 5) -> float:
    """One run of 304s. The ETag holds the cluster's snapshot, which any transaction id taken
    anywhere changes (autovacuum's ANALYZE; tipg's set-up of each new pool connection and the
    clean-up of a closed one): a run during which it changed served 200s, and is run again."""
    for _ in range(attempts):
        etag = httpx.get(server.base + path, timeout=60).headers["etag"]
        condition = {"If-None-Match": etag}
        result = wrk.run(server.base, [path], seconds, CONNECTIONS, headers=condition)
        if httpx.get(server.base + path, headers=condition, timeout=60).status_code == 304:
            return result.requests_per_second
        print("bench: the snapshot changed during a run of 304s; running it again", flush=True)
    raise SystemExit(f"bench: the snapshot changed during {attempts} runs of 304s in a row")


def rss_mb(server: Server | servers.ExternalServer) -> float | None:
    """Resident memory of the server process (one uvicorn worker: the process itself)."""
    if server.process is None:
        return None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return round(kb / 1024, 1)


def run_rounds(
    plan: dict[str, Any],
    running: dict[str, tuple[servers.Case, Running]],
    sql: dict[str, list[list[dbonly.Statement]]],
    database_url: str,
) -> dict[str, Any]:
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    rss: dict[str, list[float]] = {name: [] for name in running}
    for round_number in range(1, plan["rounds"] + 1):
        for kind in plan["kinds"]:
            for name, (case, server) in running.items():
                if not case.serves(kind):
                    continue
                result = wrk.run(
                    server.base, paths(kind, case.dialect, SIZES), plan["seconds"], CONNECTIONS
                )
                runs.setdefault(name, {}).setdefault(kind, []).append(asdict(result))
                if (resident := rss_mb(server)) is not None:
                    rss[name].append(resident)
            for case, requests in (("database", sql[kind]), ("best_sql", dbonly.best(sql[kind]))):
                if all(requests):  # requests that run no such SQL (/collections) have none
                    result = dbonly.run(database_url, requests, plan["seconds"], CONNECTIONS)
                    runs.setdefault(case, {}).setdefault(kind, []).append(asdict(result))
            print(f"round {round_number} {kind}: {_latest(runs, kind)}", flush=True)
    return {"runs": runs, "rss_mb": rss}


def _latest(runs: dict[str, dict[str, list[dict[str, Any]]]], kind: str) -> str:
    rates = {
        case: by_kind[kind][-1]["requests_per_second"]
        for case, by_kind in runs.items()
        if kind in by_kind
    }
    return "  ".join(f"{case} {rate:.0f}" for case, rate in rates.items())


def check_answers(
    plan: dict[str, Any], running: dict[str, tuple[servers.Case, Running]]
) -> dict[str, list[str]]:
    """case -> the kinds it answers differently from ours (so its figures are not comparable)."""
    _, ours = running["untraced"]
    differs: dict[str, list[str]] = {}
    for kind in plan["kinds"]:
        if kind == "collections":  # catalogs differ by design (stock tipg lists functions too)
            continue
        expected = answers.fetch_summary(ours.base, paths(kind, TIPG, SIZES)[0])
        for name, (case, server) in running.items():
            if name == "floor" or not case.serves(kind):
                continue  # the floor sends our own statement's features in a bare envelope
            got = answers.fetch_summary(server.base, paths(kind, case.dialect, SIZES)[0])
            if not answers.same_answer(expected, got):
                differs.setdefault(name, []).append(kind)
                print(f"bench: {name} answers {kind} differently: {got} vs {expected}", flush=True)
    return differs


def scaling(database_url: str, collector: str, plan: dict[str, Any]) -> dict[str, list[float]]:
    """Our service traced at 100 %, 1 worker against 2, interleaved."""
    out: dict[str, list[float]] = {"1": [], "2": []}
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector}
    with ExitStack() as stack:
        started = {
            workers: stack.enter_context(
                servers.start(
                    servers.Case(f"w{workers}", "", env={**env, "WEB_CONCURRENCY": workers}),
                    database_url,
                )
            )
            for workers in out
        }
        for _ in range(plan["rounds"]):
            for workers, server in started.items():
                result = wrk.run(
                    server.base, paths(SCALING_KIND, TIPG, SIZES), plan["seconds"], CONNECTIONS
                )
                out[workers].append(result.requests_per_second)
    return out


def main() -> None:
    plan = QUICK if "--quick" in sys.argv else FULL
    started_at = time.time()
    database_url = bench_database(os.environ["DATABASE_URL"], SIZES)
    sql = {k: dbonly.capture(database_url, paths(k, TIPG, SIZES)) for k in plan["kinds"]}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        pygeoapi_env = servers.pygeoapi_setup(database_url, Path(tmp))
        collector = stack.enter_context(servers.collector(Path(tmp) / "collector.log"))
        measured_cases = [
            *servers.cases(collector, pygeoapi_env),
            floor.floor_case(database_url, Path(tmp)),
        ]
        running = {
            case.name: (case, stack.enter_context(servers.start(case, database_url)))
            for case in measured_cases
        }
        measured_answers = check_answers(plan, running)
        # Memory first, while the untraced worker has served only the answer checks.
        measured: dict[str, Any] = {"big_pages": big_pages(running["untraced"][1], 4)}
        for case, server in running.values():  # warm-up: pools, caches
            kind = next(k for k in plan["kinds"] if case.serves(k))
            wrk.run(server.base, paths(kind, case.dialect, SIZES), 1, CONNECTIONS)
        measured |= run_rounds(plan, running, sql, database_url)
        labels = {name: case.label for name, (case, _) in running.items()}
        measured["scaling"] = scaling(database_url, collector, plan)
        measured["conditional"] = conditional(
            running["untraced"][1], plan["rounds"], plan["seconds"]
        )
        measured["differs"] = measured_answers
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "commit": commit,
        "quick": plan is QUICK,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "sizes": SIZES,
        "connections": CONNECTIONS,
        "rounds": plan["rounds"],
        "seconds": plan["seconds"],
        "kinds": {k: KINDS[k][0] for k in plan["kinds"]},
        "labels": {
            **labels,
            "database": "(f) database only (asyncpg, same SQL)",
            "best_sql": "(g) database only, best SQL (the page as one JSON text, no count)",
        },
        **measured,
        "wall_seconds": round(time.time() - started_at),
    }
    out = (
        ROOT
        / "bench/results"
        / f"{results['date']}-{commit}{'-quick' if plan is QUICK else ''}.json"
    )
    out.write_text(json.dumps(results, indent=1))
    report.write(results)
    print(f"bench: {out.relative_to(ROOT)} and its report ({results['wall_seconds']} s)")


SIZES = sizes_from_env()

if __name__ == "__main__":
    main()

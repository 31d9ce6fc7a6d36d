"""What tracing costs, measured side by side: the same request against the service traced (100 %
sampling, exporting over OTLP/gRPC to a sink on loopback) and with OTEL_SDK_DISABLED=true.

Both servers run at once (one uvicorn worker each, startup.sh); wrk loads one at a time, in
interleaved rounds A B A B ..., and the medians are compared, because this machine's throughput
drifts by 10-20 % between runs. The sink discards what it receives, in this process: on a 2-core
machine it competes for CPU with the server, as a sidecar collector would.

    make bench-overhead                     # ROUNDS=5 SECONDS=10 CONNECTIONS=8 PATH_QUERY=...
    VARIANTS=traced,sampled10,unsampled,nologs,nometrics,noexport,disabled make bench-overhead
    KIND=filter VARIANTS=disabled,sampled10 make bench-overhead   # a make bench kind, its data

With KIND, the requests are that kind's of `make bench` (bench/workload.py: random boxes, days,
filters), against make bench's database (loaded once); else PATH_QUERY against the sample data.

VARIANTS picks the servers (default `traced,disabled`); the extra ones are traced with one signal
switched off, to say where the cost of tracing lies.

With disabled, unsampled and traced among them, it also prints the budget of tracing at 10 %:
the unsampled path's and a sampled request's worker CPU, what they add up to at 10 %, and the
ratio a free unsampled path would leave (`print_budget`).

Each variant's CPU per request is printed too, by process (bench/cpu.py): the worker (all its
threads: the exporters' too), the PostgreSQL backends, the sink (this process) and wrk, and how
many of the machine's cores they kept busy. A database-bound kind on this 2-core machine is
bound by the cores it shares: what tracing adds to the worker and the sink is taken from
PostgreSQL.
"""

from __future__ import annotations

import os
import statistics
from contextlib import ExitStack

from bench import wrk
from bench.cpu import CpuSnapshot
from bench.data import bench_database, sizes_from_env
from bench.workload import TIPG, paths
from harness.otlp_receiver import OtlpReceiver
from harness.server_process import running_server

ROUNDS = int(os.environ.get("ROUNDS", "5"))
SECONDS = int(os.environ.get("SECONDS", "10"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "8"))
PATH_QUERY = os.environ.get("PATH_QUERY", "/collections/public.fire_perimeters/items?limit=50")
VARIANTS = os.environ.get("VARIANTS", "traced,disabled").split(",")


def variant_env(name: str, endpoint: str) -> dict[str, str]:
    """Server environment of one variant: traced, minus whatever its name switches off."""
    if name == "disabled":
        return {"OTEL_SDK_DISABLED": "true"}
    traced = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_TRACES_SAMPLER": "always_on"}
    switched_off = {
        "traced": {},
        "nologs": {"OTEL_LOGS_EXPORTER": "none"},
        "nometrics": {"OTEL_METRICS_EXPORTER": "none"},
        "noexport": {"OTEL_TRACES_EXPORTER": "none"},
        "unsampled": {"OTEL_TRACES_SAMPLER": "always_off"},
        # Unsampled, and nothing exported: what the request path itself pays.
        "unexported": {
            "OTEL_TRACES_SAMPLER": "always_off",
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
        },
        # The deployed sampling: a tenth of the traces, the rest unsampled.
        "sampled10": {
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.1",
        },
    }
    if name not in switched_off:
        raise SystemExit(f"unknown variant {name!r}: one of {sorted(switched_off)} or disabled")
    return traced | switched_off[name]


KIND = os.environ.get("KIND")


def _requests() -> tuple[str, list[str]]:
    """The database and the paths the servers are loaded with."""
    if KIND is None:
        return os.environ["DATABASE_URL"], [PATH_QUERY]
    sizes = sizes_from_env()
    return bench_database(os.environ["DATABASE_URL"], sizes), paths(KIND, TIPG, sizes)


CPU_BY = ("worker", "postgres", "sink", "wrk")


def rate(base: str, requests: list[str]) -> float:
    return wrk.rate_over(base, requests, SECONDS, CONNECTIONS)


def measured(base: str, requests: list[str], pid: int, cpu: dict[str, float]) -> float:
    """rate(), adding the CPU seconds it took to `cpu` by process (CPU_BY) and the requests
    served to cpu["requests"]."""
    before, times_before = CpuSnapshot.take(pid, "postgres"), os.times()
    per_second = rate(base, requests)
    after, times_after = CpuSnapshot.take(pid, "postgres"), os.times()
    worker, postgres = after.since(before)
    cpu["worker"] += worker
    cpu["postgres"] += postgres
    cpu["sink"] += times_after.user + times_after.system - times_before.user - times_before.system
    cpu["wrk"] += (
        times_after.children_user + times_after.children_system
        - times_before.children_user - times_before.children_system
    )  # fmt: skip
    cpu["requests"] += per_second * SECONDS
    cpu["seconds"] += SECONDS
    return per_second


def print_cpu(cpu: dict[str, dict[str, float]]) -> None:
    print("  CPU per request, ms (cores kept busy):")
    for name, spent in cpu.items():
        shares = "  ".join(f"{by} {spent[by] / spent['requests'] * 1000:.3f}" for by in CPU_BY)
        busy = sum(spent[by] for by in CPU_BY) / spent["seconds"]
        print(f"  {name:9s} {shares}  ({busy:.2f} of {os.cpu_count()})")


def worker_cpu(spent: dict[str, float]) -> float:
    """The worker's CPU per request, in microseconds."""
    return spent["worker"] / spent["requests"] * 1e6


def print_budget(cpu: dict[str, dict[str, float]]) -> None:
    """Where traced-at-10 % / untraced can get to, from the worker's CPU per request (one worker's
    throughput is bounded by it): a sampled request costs `traced - unsampled` more than an
    unsampled one, so at a tenth sampled the estimate is disabled / (unsampled + 0.1 x that),
    and even a free unsampled path leaves disabled / (disabled + 0.1 x that)."""
    if not {"disabled", "unsampled", "traced"} <= cpu.keys():
        return
    disabled, unsampled, traced = (worker_cpu(cpu[n]) for n in ("disabled", "unsampled", "traced"))
    sampled_share = 0.1 * (traced - unsampled)
    print(
        f"  worker CPU per request: unsampled path +{unsampled - disabled:.1f} us, a sampled "
        f"request +{traced - unsampled:.1f} us more; at 10 %: estimate "
        f"{disabled / (unsampled + sampled_share):.3f} / disabled, and "
        f"{disabled / (disabled + sampled_share):.3f} with a free unsampled path"
    )


def main() -> None:
    database_url, requests = _requests()
    sink = OtlpReceiver(discard=True)
    sink.start()
    cases = {name: variant_env(name, sink.endpoint) for name in VARIANTS}
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(running_server(database_url, **env))
            for name, env in cases.items()
        }
        for server in servers.values():
            rate(server.base, requests)  # warm-up: pool connections, PostgreSQL caches
        results: dict[str, list[float]] = {name: [] for name in servers}
        cpu = {name: dict.fromkeys((*CPU_BY, "requests", "seconds"), 0.0) for name in servers}
        for round_number in range(1, ROUNDS + 1):
            for name, server in servers.items():
                pid = server.process.pid
                results[name].append(measured(server.base, requests, pid, cpu[name]))
            print(
                f"round {round_number}: "
                + "  ".join(f"{n} {r[-1]:.1f}" for n, r in results.items())
            )
    sink.stop()
    medians = {name: statistics.median(values) for name, values in results.items()}
    load = f"{CONNECTIONS} connections, {SECONDS}s x {ROUNDS} rounds, interleaved"
    print(f"\n{KIND or PATH_QUERY}, {load}")
    for name, median in medians.items():
        print(f"  {name:9s} median {median:8.1f} req/s  runs {results[name]}")
    if "disabled" in medians:
        for name in (n for n in VARIANTS if n != "disabled"):
            print(f"  {name} / disabled = {medians[name] / medians['disabled']:.3f}")
    print(f"  spans received by the sink: {sink.received}")
    print_cpu(cpu)
    print_budget(cpu)


if __name__ == "__main__":
    main()

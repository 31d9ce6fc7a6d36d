"""What tracing costs, measured side by side: the same request against the service traced (100 %
sampling, exporting over OTLP/gRPC to a sink on loopback) and with OTEL_SDK_DISABLED=true.

Both servers run at once (one uvicorn worker each, startup.sh); wrk loads one at a time, in
interleaved rounds A B A B ..., and the medians are compared, because this machine's throughput
drifts by 10-20 % between runs. The sink discards what it receives, in this process: on a 2-core
machine it competes for CPU with the server, as a sidecar collector would.

    make bench-overhead                     # ROUNDS=5 SECONDS=10 CONNECTIONS=8 PATH_QUERY=...
"""

from __future__ import annotations

import os
import statistics
from contextlib import ExitStack

from bench import wrk
from tests.otlp_receiver import OtlpReceiver
from tests.server_process import running_server

ROUNDS = int(os.environ.get("ROUNDS", "5"))
SECONDS = int(os.environ.get("SECONDS", "10"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "8"))
PATH_QUERY = os.environ.get("PATH_QUERY", "/collections/public.fire_perimeters/items?limit=50")


def rate(base: str) -> float:
    """Requests per second of one wrk run (bench/wrk.py); fails on any non-2xx or socket error."""
    result = wrk.run(base, [PATH_QUERY], SECONDS, CONNECTIONS)
    if result.errors:
        raise SystemExit(f"wrk saw {result.errors} errors against {base}{PATH_QUERY}")
    return result.requests_per_second


def main() -> None:
    database_url = os.environ["DATABASE_URL"]
    sink = OtlpReceiver(discard=True)
    sink.start()
    cases = {
        "traced": {
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint,
            "OTEL_TRACES_SAMPLER": "always_on",
        },
        "disabled": {"OTEL_SDK_DISABLED": "true"},
    }
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(running_server(database_url, **env))
            for name, env in cases.items()
        }
        for server in servers.values():
            rate(server.base)  # warm-up: pool connections, PostgreSQL caches
        results: dict[str, list[float]] = {name: [] for name in servers}
        for round_number in range(1, ROUNDS + 1):
            for name, server in servers.items():
                results[name].append(rate(server.base))
            print(
                f"round {round_number}: "
                + "  ".join(f"{n} {r[-1]:.1f}" for n, r in results.items())
            )
    sink.stop()
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(f"\n{PATH_QUERY}, {CONNECTIONS} connections, {SECONDS}s x {ROUNDS} rounds, interleaved")
    for name, median in medians.items():
        print(f"  {name:9s} median {median:8.1f} req/s  runs {results[name]}")
    print(f"  traced / disabled = {medians['traced'] / medians['disabled']:.3f}")
    print(f"  spans received by the sink: {sink.received}")


if __name__ == "__main__":
    main()

"""Where the traced service spends its CPU under load: py-spy samples one uvicorn worker (all its
threads, idle frames dropped) while wrk drives it, with the real collector receiving.

    make bench-profile                      # PATH_QUERY=... SECONDS=20 CONNECTIONS=8 OTEL_*=...

Prints the share of samples per thread, per top-level package, and the functions with the most
samples of their own; the raw collapsed stacks are left in .cache/bench/profile.txt for a flame
graph. Extra OTEL_* variables in the environment reach the server, to profile a variant.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import threading
from collections.abc import Iterator

from bench import servers, wrk
from harness.server_process import ROOT, running_server

PATH_QUERY = os.environ.get("PATH_QUERY", "/collections/public.fire_perimeters/items/2")
SECONDS = int(os.environ.get("SECONDS", "20"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "8"))
OUT = ROOT / ".cache/bench/profile.txt"


def record(pid: int) -> None:
    subprocess.run(
        [
            str(ROOT / ".venv/bin/py-spy"),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(SECONDS),
            "--rate",
            "500",
        ]
        + ["--format", "raw", "--threads", "--nonblocking", "--output", str(OUT)],
        check=True,
        capture_output=True,
    )


def package(frame: str) -> str:
    """`function (package/module.py:12)`, as py-spy shortens it -> `package`."""
    path = frame.rpartition("(")[2]
    return path.split("/")[0] if "/" in path else path.partition(":")[0].removesuffix(".py")


def stacks() -> Iterator[str]:
    """py-spy's collapsed lines, rejoined where a frame name (a class docstring) held newlines."""
    pending = ""
    for line in OUT.read_text(errors="replace").splitlines():
        pending += line
        if re.search(r" \d+$", pending):
            yield pending
            pending = ""


def summarise() -> None:
    threads: collections.Counter[str] = collections.Counter()
    packages: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    otel_inclusive = 0
    for line in stacks():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        threads[frames[0].partition(": ")[2]] += count
        packages[package(frames[-1])] += count
        own[frames[-1]] += count
        if any("opentelemetry" in f for f in frames[1:]):
            otel_inclusive += count
    total = sum(threads.values())
    print(f"{total} samples of a busy thread, {PATH_QUERY}")
    print(f"  with an opentelemetry frame on the stack: {otel_inclusive / total:.1%}")
    for title, counter, n in (("thread", threads, 6), ("package", packages, 12), ("own", own, 25)):
        print(f"by {title}:")
        for key, count in counter.most_common(n):
            print(f"  {count / total:6.1%}  {key}")


def main() -> None:
    database_url = os.environ["DATABASE_URL"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with servers.collector(ROOT / ".cache/bench/otelcol-profile.log") as endpoint:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "WEB_CONCURRENCY": "1"}
        with running_server(database_url, **env) as server:
            wrk.run(server.base, [PATH_QUERY], 3, CONNECTIONS)  # warm-up
            sampler = threading.Thread(target=record, args=(server.process.pid,))
            sampler.start()
            result = wrk.run(server.base, [PATH_QUERY], SECONDS, CONNECTIONS)
            sampler.join()
    print(f"wrk: {result.requests_per_second:.1f} req/s, {result.errors} errors")
    summarise()


if __name__ == "__main__":
    main()

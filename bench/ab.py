"""Before/after, side by side: the working tree against a git revision, both served at once (one
worker each, startup.sh, traced to the real collector), loaded in interleaved rounds per path.

    make bench-ab BASE=HEAD                 # PATHS=p1,p2 ROUNDS=5 SECONDS=5 CONNECTIONS=8
    make bench-ab BASE=HEAD OTEL_SDK_DISABLED=true     # both untraced
    make bench-ab BASE=HEAD PATHS=kind:bbox,kind:filter  # make bench's requests of a kind

A `kind:NAME` entry loads make bench's requests of that kind (bench/workload.py, e.g. bbox,
datetime, filter: a new query on every request, as a map client panning makes), over the
sample data in DATABASE_URL, one after another; a plain path is loaded alone.

The revision is checked out as a git worktree in .cache/bench/base with a venv synced from its
own uv.lock, so only the code and its locked dependencies differ. Prints per path the medians
and after/before; this is the figure a performance commit quotes.
"""

from __future__ import annotations

import os
import statistics
import subprocess
from contextlib import ExitStack

from bench import data, servers, workload, wrk
from harness.server_process import ROOT, Server, running_server

BASE = os.environ.get("BASE", "HEAD")
ROUNDS = int(os.environ.get("ROUNDS", "5"))
SECONDS = int(os.environ.get("SECONDS", "5"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "8"))
PATHS = os.environ.get(
    "PATHS",
    "/collections/public.fire_perimeters/items/2,"
    "/collections/public.fire_perimeters/items?limit=10,/collections",
).split(",")
WORKTREE = ROOT / ".cache/bench/base"


def checkout(revision: str) -> str:
    """The revision in WORKTREE (detached), with this checkout's .venv; returns its short hash."""
    # Resolved here: inside the worktree, HEAD would name the worktree's own checkout.
    revision = subprocess.run(
        ["git", "rev-parse", "--short", revision], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not WORKTREE.exists():
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(WORKTREE)], check=True)
    subprocess.run(["git", "-C", str(WORKTREE), "checkout", "-q", "--detach", revision], check=True)
    # Its own venv from its own uv.lock (dependencies may differ between the two), from uv's cache.
    venv = WORKTREE / ".venv"
    if venv.is_symlink():
        venv.unlink()
    env = {
        **os.environ,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_CACHE_DIR": str(ROOT / ".cache/uv-cache"),
    }
    subprocess.run(
        [str(ROOT / ".cache/uv/bin/uv"), "sync", "--frozen", "--no-dev", "--quiet"],
        cwd=WORKTREE,
        env=env,
        check=True,
    )
    return revision


def requests_of(entry: str, database_url: str) -> list[str]:
    """The paths a PATHS entry stands for: itself, or a workload kind's requests."""
    kind = entry.removeprefix("kind:")
    if kind == entry:
        return [entry]
    if kind not in workload.KINDS:
        raise SystemExit(f"bench-ab: no kind {kind!r}; the kinds: {', '.join(workload.KINDS)}")
    return workload.paths(kind, workload.TIPG, data.row_counts(database_url))


def measure(base: str, paths: list[str]) -> wrk.Result:
    return wrk.checked_run(base, paths, SECONDS, CONNECTIONS)


def compare(path: str, requests: list[str], running: dict[str, Server]) -> None:
    """ROUNDS interleaved runs of each server; prints the medians of rate and p99, and the ratio."""
    runs: dict[str, list[wrk.Result]] = {label: [] for label in running}
    for server in running.values():
        measure(server.base, requests)  # warm-up
    for _ in range(ROUNDS):
        for label, server in running.items():
            runs[label].append(measure(server.base, requests))
    print(f"{path}  ({ROUNDS} x {SECONDS} s interleaved, {CONNECTIONS} connections)")
    medians = []
    for label, results in runs.items():
        rates = [r.requests_per_second for r in results]
        medians.append(statistics.median(rates))
        p99 = statistics.median(r.p99_ms for r in results)
        print(f"  {label:24s} median {medians[-1]:8.1f}  p99 {p99:6.2f} ms  runs {rates}")
    print(f"  after / before = {medians[1] / medians[0]:.3f}")


def main() -> None:
    database_url = os.environ["DATABASE_URL"]
    before_label = f"before ({checkout(BASE)})"
    with ExitStack() as stack:
        endpoint = stack.enter_context(servers.collector(ROOT / ".cache/bench/otelcol-ab.log"))
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "WEB_CONCURRENCY": "1"}
        commands = {before_label: [str(WORKTREE / "startup.sh")], "after (working tree)": None}
        running = {
            label: stack.enter_context(running_server(database_url, command, **env))
            for label, command in commands.items()
        }
        for path in PATHS:
            compare(path, requests_of(path, database_url), running)


if __name__ == "__main__":
    main()

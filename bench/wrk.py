"""One load run with wrk: the paths cycled by paths.lua, loopback only, fixed duration."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

LUA = Path(__file__).with_name("paths.lua")
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
# wrk's socket error kinds, as a reader of a failure table would name them.
SOCKET_ERRORS = {
    "connect": "refused",
    "read": "reset/closed",
    "write": "write error",
    "timeout": "timeout",
}


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers plus socket errors (connect, read, write, timeout)
    non_2xx: int = 0
    # What the errors were: "HTTP 503", "timeout", "reset/closed", ... → how many.
    failures: dict[str, int] = field(default_factory=dict)


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match.group(1)) * UNITS[match.group(2)]


def _failures(output: str) -> dict[str, int]:
    failures: dict[str, int] = {}
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket:
        for kind, count in zip(SOCKET_ERRORS.values(), socket.groups(), strict=True):
            if int(count):
                failures[kind] = int(count)
    statuses = re.search(r"^statuses: (.*)$", output, re.M)
    for pair in statuses.group(1).split() if statuses else []:
        status, count = pair.split("=")
        if int(status) >= 400:
            failures[f"HTTP {status}"] = int(count)
    return failures


def parse(output: str) -> Result:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    assert rate and total and p50 and p99, output
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    bad_status = int(non_2xx.group(1)) if non_2xx else 0
    failures = _failures(output)
    socket_errors = sum(n for kind, n in failures.items() if not kind.startswith("HTTP"))
    return Result(
        float(rate.group(1)),
        _ms(p50.group(1)),
        _ms(p99.group(1)),
        int(total.group(1)),
        bad_status + socket_errors,
        bad_status,
        failures,
    )


def run(
    base: str,
    paths: list[str],
    seconds: int,
    connections: int,
    timeout_s: int = 2,
    count_statuses: bool = False,
    headers: dict[str, str] | None = None,
) -> Result:
    """timeout_s: wrk's own per-request timeout (its default, 2 s, unless said otherwise).
    count_statuses: classify failed answers by status code (a Lua call per response, so the
    benchmarks leave it off). headers: sent with every request."""
    assert base.startswith("http://127.0.0.1:"), "loopback only"
    env = {**os.environ, "WRK_COUNT_STATUSES": "1"} if count_statuses else None
    with tempfile.NamedTemporaryFile("w", suffix=".paths") as listing:
        listing.write("\n".join(paths) + "\n")
        listing.flush()
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout_s}s"]
        argv += ["--latency", "-s", str(LUA)]
        argv += [f"-H{name}: {value}" for name, value in (headers or {}).items()]
        out = subprocess.run(
            [*argv, base, "--", listing.name], capture_output=True, text=True, check=True, env=env
        ).stdout
    return parse(out)


def rate(base: str, path: str, seconds: int, connections: int) -> float:
    """Requests per second of one run against one path; exits on any failed request."""
    return rate_over(base, [path], seconds, connections)


def rate_over(base: str, paths: list[str], seconds: int, connections: int) -> float:
    """Requests per second of one run through `paths` in turn; exits on any failed request."""
    return checked_run(base, paths, seconds, connections).requests_per_second


def checked_run(base: str, paths: list[str], seconds: int, connections: int) -> Result:
    """One run through `paths` in turn; exits on any failed request."""
    result = run(base, paths, seconds, connections)
    if result.errors:
        raise SystemExit(f"wrk saw {result.errors} errors against {base}{paths[0]}")
    return result

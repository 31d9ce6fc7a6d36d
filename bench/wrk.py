"""One load run with wrk: the paths cycled by paths.lua, loopback only, fixed duration."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).with_name("paths.lua")
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers plus socket errors (connect, read, write, timeout)
    non_2xx: int = 0


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match.group(1)) * UNITS[match.group(2)]


def parse(output: str) -> Result:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    assert rate and total and p50 and p99, output
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    bad_status = int(non_2xx.group(1)) if non_2xx else 0
    errors = bad_status + (sum(int(n) for n in socket.groups()) if socket else 0)
    return Result(
        float(rate.group(1)),
        _ms(p50.group(1)),
        _ms(p99.group(1)),
        int(total.group(1)),
        errors,
        bad_status,
    )


def run(base: str, paths: list[str], seconds: int, connections: int, timeout_s: int = 2) -> Result:
    """timeout_s: wrk's own per-request timeout (its default, 2 s, unless said otherwise)."""
    assert base.startswith("http://127.0.0.1:"), "loopback only"
    with tempfile.NamedTemporaryFile("w", suffix=".paths") as listing:
        listing.write("\n".join(paths) + "\n")
        listing.flush()
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout_s}s"]
        argv += ["--latency", "-s", str(LUA)]
        out = subprocess.run(
            [*argv, base, "--", listing.name], capture_output=True, text=True, check=True
        ).stdout
    return parse(out)

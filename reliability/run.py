"""make reliability: the long forms of the fault, shutdown-free soak and collector scenarios,
against real server processes (startup.sh, one worker, traced at 100 %) and the sample database.
The short forms run in `make test` (tests/test_db_faults.py, test_shutdown.py,
test_collector_faults.py, test_injection.py, test_least_privilege.py).

Each scenario loads the server with wrk (loopback, fixed duration) in three phases: before,
during and after the fault. Collector scenarios run a second, healthy server side by side and
load the two in turn, so "within 10 %" compares runs made minutes apart at most.

    make reliability        # PHASE_SECONDS=10 SOAK_SECONDS=600 SOAK_CONNECTIONS=64
                            # SCENARIOS=database,control,collector,soak

Prints a table (scenario, requests, failed, p99 before/during/after, memory, verdict) and writes
it to reliability/results/<date>-<commit>.md.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bench import wrk
from tests.faults import BlackHole, closed_port, port_below_ephemeral_range
from tests.otlp_receiver import OtlpReceiver
from tests.server_process import ROOT, Server, running_server
from tests.tcp_proxy import TcpProxy

PHASE = int(os.environ.get("PHASE_SECONDS", "10"))
SCENARIOS = os.environ.get("SCENARIOS", "database,control,collector,soak").split(",")
SOAK = int(os.environ.get("SOAK_SECONDS", "600"))
SOAK_CONNECTIONS = int(os.environ.get("SOAK_CONNECTIONS", "64"))
CONNECTIONS = 16
ITEMS = ["/collections/public.fire_perimeters/items?limit=10"]
MIX = [
    "/collections/public.fire_perimeters/items?limit=10",
    "/collections/public.fire_perimeters/items/7",
    "/collections/public.fire_detections/items?bbox=-120,35,-118,37&limit=50",
    "/collections/public.fire_perimeters/items?datetime=2020-01-01T00:00:00Z/2021-01-01T00:00:00Z",
    "/collections/public.fire_perimeters/items?filter=acres%20%3E%201000&limit=20",
    "/collections",
    "/collections/public.fire_lines",
    "/conformance",
]
EXPORTER_WARNING = b"Failed to export"


@dataclass
class Row:
    scenario: str
    runs: list[wrk.Result] = field(default_factory=list)  # before, during, after
    rss_mb: tuple[float, float] = (0.0, 0.0)
    verdict: str = "?"
    # Runs of the faulty server that the table's phases do not show (the other "during" rounds).
    requests_extra: int = 0
    failed_extra: int = 0

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.runs) + self.requests_extra

    @property
    def failed(self) -> int:
        return sum(r.errors for r in self.runs) + self.failed_extra

    def cells(self) -> list[str]:
        p99 = " / ".join(f"{r.p99_ms:.0f}" for r in self.runs)
        rss = f"{self.rss_mb[0]:.0f} → {self.rss_mb[1]:.0f}"
        return [self.scenario, f"{self.requests:,}", str(self.failed), p99, rss, self.verdict]


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def three_phases(
    server: Server, fault: Callable[[], contextlib.AbstractContextManager[None]], paths: list[str]
) -> list[wrk.Result]:
    before = wrk.run(server.base, paths, PHASE, CONNECTIONS)
    with fault():
        during = wrk.run(server.base, paths, PHASE, CONNECTIONS)
    return [before, during, wrk.run(server.base, paths, PHASE, CONNECTIONS)]


Fault = Callable[[str], contextlib.AbstractContextManager[None]]  # phase name -> fault or not


def no_fault(phase: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


# Faulty/healthy pairs in the "during" phase, in ABBA order (so a drift of the machine over the
# minute favours neither); their medians are compared.
ROUNDS = 4


def side_by_side(name: str, database_url: str, endpoint: str, fault: Fault) -> Row:
    """The faulty server (exporting to `endpoint`) and a healthy one; in the fault's phase the
    two are loaded in turn, ROUNDS times, and their medians compared."""
    healthy_sink = OtlpReceiver(discard=True)
    healthy_sink.start()
    traced = {"OTEL_TRACES_SAMPLER": "always_on", "WEB_CONCURRENCY": "1"}
    with (
        running_server(database_url, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, **traced) as faulty,
        running_server(
            database_url, OTEL_EXPORTER_OTLP_ENDPOINT=healthy_sink.endpoint, **traced
        ) as healthy,
    ):
        wrk.run(faulty.base, ITEMS, 3, CONNECTIONS)
        wrk.run(healthy.base, ITEMS, 3, CONNECTIONS)
        row = Row(name)
        start_rss = rss_mb(faulty.process.pid)
        pairs: list[tuple[wrk.Result, wrk.Result]] = []
        for phase in ("before", "during", "after"):
            with fault(phase):
                for round_ in range(ROUNDS if phase == "during" else 1):
                    ours, twin = _load_pair(faulty, healthy, twin_first=round_ % 2 == 1)
                    if phase == "during":
                        pairs.append((ours, twin))
            row.runs.append(ours if phase != "during" else median_run([p[0] for p in pairs]))
        row.rss_mb = (start_rss, rss_mb(faulty.process.pid))
        warnings = faulty.output.count(EXPORTER_WARNING)
    healthy_sink.stop()
    shown = row.runs[1]
    row.requests_extra = sum(o.requests for o, _ in pairs if o is not shown)
    row.failed_extra = sum(o.errors for o, _ in pairs if o is not shown)
    rate = statistics.median(o.requests_per_second for o, _ in pairs) / statistics.median(
        t.requests_per_second for _, t in pairs
    )
    p99 = statistics.median(o.p99_ms for o, _ in pairs) / statistics.median(
        t.p99_ms for _, t in pairs
    )
    ok = row.failed == 0 and rate >= 0.9 and p99 <= 1.1 and warnings <= 4
    ok = ok and row.rss_mb[1] <= row.rss_mb[0] * 1.1
    row.verdict = (
        f"{'pass' if ok else 'FAIL'}: median of {ROUNDS} vs healthy twin: rate {rate:.2f}, "
        f"p99 {p99:.2f}; {warnings} exporter warning lines"
    )
    return row


def _load_pair(faulty: Server, healthy: Server, twin_first: bool) -> tuple[wrk.Result, wrk.Result]:
    """One load run of each server, one after the other; (faulty's, healthy's)."""
    if twin_first:
        twin = wrk.run(healthy.base, ITEMS, PHASE, CONNECTIONS)
        return wrk.run(faulty.base, ITEMS, PHASE, CONNECTIONS), twin
    ours = wrk.run(faulty.base, ITEMS, PHASE, CONNECTIONS)
    return ours, wrk.run(healthy.base, ITEMS, PHASE, CONNECTIONS)


def median_run(runs: list[wrk.Result]) -> wrk.Result:
    """The run with the median rate (its p99 is what the table shows for the phase)."""
    return sorted(runs, key=lambda r: r.requests_per_second)[len(runs) // 2]


def control(database_url: str) -> Row:
    """Both servers healthy: how far apart two identical servers measure on this machine (the
    noise floor under the collector verdicts)."""
    sink = OtlpReceiver(discard=True)
    sink.start()
    row = side_by_side("control: collector up (no fault)", database_url, sink.endpoint, no_fault)
    sink.stop()
    return row


def collector_scenarios(database_url: str) -> list[Row]:
    rows = []
    with closed_port() as endpoint:
        rows.append(side_by_side("collector absent", database_url, endpoint, no_fault))
    with BlackHole() as hole:
        rows.append(side_by_side("collector black hole", database_url, hole.endpoint, no_fault))
    rows.append(killed_and_restarted(database_url))
    return rows


def killed_and_restarted(database_url: str) -> Row:
    sink = OtlpReceiver(port=port_below_ephemeral_range(), discard=True)
    sink.start()
    port = sink.port
    restarted: list[OtlpReceiver] = []
    first_span_after: list[float] = []  # seconds from the restart to the first span received

    @contextlib.contextmanager
    def down(phase: str) -> Iterator[None]:
        if phase != "during":
            yield
            return
        sink.stop()
        yield
        again = OtlpReceiver(port=port, discard=True)
        again.start()
        restarted.append(again)
        threading.Thread(target=_time_first_span, args=(again, first_span_after)).start()

    row = side_by_side("collector killed, restarted", database_url, sink.endpoint, down)
    time.sleep(6)  # one batch interval after the last request
    flowed = restarted[0].received
    restarted[0].stop()
    when = f", the first {first_span_after[0]:.1f} s after it" if first_span_after else ""
    row.verdict += f"; {flowed} spans after the restart{when}"
    if flowed == 0:
        row.verdict = "FAIL" + row.verdict.removeprefix("pass").removeprefix("FAIL")
    return row


def _time_first_span(receiver: OtlpReceiver, first: list[float], seconds: float = 60) -> None:
    start = time.monotonic()
    with contextlib.suppress(AssertionError):  # none within `seconds`: the verdict says so
        receiver.wait_until(lambda: receiver.received, seconds)
        first.append(time.monotonic() - start)


def database_outage(database_url: str) -> Row:
    proxy = TcpProxy.to_database(database_url)
    proxy.start()

    @contextlib.contextmanager
    def outage() -> Iterator[None]:
        timer = threading.Timer(PHASE / 2, proxy.stop)
        back = threading.Timer(PHASE / 2 + 2, proxy.start)
        timer.start()
        back.start()
        yield
        back.join()

    env = {"OTEL_TRACES_SAMPLER": "always_on", "OTEL_TRACES_EXPORTER": "none"}
    with running_server(proxy.database_url(database_url), **env) as server:
        start = rss_mb(server.process.pid)
        row = Row("database down 2 s", three_phases(server, outage, ITEMS))
        row.rss_mb = (start, rss_mb(server.process.pid))
    proxy.stop()
    before, during, after = row.runs
    ok = before.errors == 0 and after.errors == 0 and during.p99_ms < 5000
    row.verdict = f"{'pass' if ok else 'FAIL'}: {during.errors} answered 503 during, none after"
    return row


def soak(database_url: str) -> Row:
    sink = OtlpReceiver(discard=True)
    sink.start()
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "OTEL_TRACES_SAMPLER": "always_on"}
    samples: list[tuple[float, float, int, int]] = []
    with running_server(database_url, **env) as server:
        pid = server.process.pid
        done = threading.Event()

        def sample() -> None:
            while not done.wait(10):
                connections = _pool_connections(database_url)
                samples.append((time.monotonic(), rss_mb(pid), open_fds(pid), connections))

        sampler = threading.Thread(target=sample)
        sampler.start()
        # A 10 s client timeout: wrk's default 2 s would count a slow answer as a failure.
        result = wrk.run(server.base, MIX, SOAK, SOAK_CONNECTIONS, timeout_s=10)
        done.set()
        sampler.join()
    sink.stop()
    # After the first tenth: caches and pool warm (the first sample, on a very short soak).
    warm = samples[min(len(samples) - 1, max(1, len(samples) // 10))]
    last = samples[-1]
    growth = last[1] / warm[1] - 1
    ok = result.errors == 0 and growth < 0.10 and last[2] <= warm[2] and last[3] <= warm[3]
    row = Row(f"soak {SOAK} s × {SOAK_CONNECTIONS} connections", [result], (warm[1], last[1]))
    row.verdict = (
        f"{'pass' if ok else 'FAIL'}: {result.non_2xx} non-2xx, "
        f"{result.errors - result.non_2xx} socket errors; RSS {growth:+.1%} after warm-up, "
        f"fds {warm[2]} → {last[2]}, db connections {warm[3]} → {last[3]}"
    )
    return row


def _pool_connections(database_url: str) -> int:
    from tests.conftest import run_sql

    count: int = run_sql(
        database_url,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'veda-wfs3'",
    )
    return count


def table(rows: list[Row]) -> str:
    header = [
        "scenario",
        "requests",
        "failed",
        "p99 ms before / during / after",
        "RSS MB",
        "verdict",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    database_url = os.environ["DATABASE_URL"]
    started = time.monotonic()
    rows = []
    if "database" in SCENARIOS:
        rows.append(database_outage(database_url))
    if "control" in SCENARIOS:
        rows.append(control(database_url))
    if "collector" in SCENARIOS:
        rows += collector_scenarios(database_url)
    if "soak" in SCENARIOS:
        rows.append(soak(database_url))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    text = (
        f"make reliability at {commit}, {datetime.date.today()}: phases of {PHASE} s at "
        f"{CONNECTIONS} connections, wrk on loopback; {time.monotonic() - started:.0f} s\n\n"
        + table(rows)
    )
    print(text)
    out = ROOT / "reliability/results" / f"{datetime.date.today()}-{commit}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    if any(not row.verdict.startswith("pass") for row in rows):
        raise SystemExit("reliability: some scenario failed")


if __name__ == "__main__":
    main()

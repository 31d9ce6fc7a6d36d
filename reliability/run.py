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
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bench import wrk
from harness.faults import BlackHole, closed_port, port_below_ephemeral_range
from harness.otlp_receiver import OtlpReceiver
from harness.server_process import ROOT, Server, running_server
from harness.tcp_proxy import TcpProxy

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
RESULTS_HEADER = """# The latest full `make reliability` run

Written by `make reliability` (reliability/run.py) after a run of every scenario; every run,
partial ones too, is also in `results/`. What each row tests and how a verdict is reached:
[README.md](README.md).

"""


def describe(failures: Counter[str]) -> str:
    """`16: timeout 12, HTTP 503 4`, or `0`."""
    total = sum(failures.values())
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(failures.items()) if count)
    return f"{total}: {kinds}" if total else "0"


@dataclass
class Row:
    scenario: str
    runs: list[wrk.Result] = field(default_factory=list)  # before, during, after
    rss_mb: tuple[float, float] = (0.0, 0.0)
    verdict: str = "?"
    # Runs of the faulty server that the table's phases do not show (the other "during" rounds).
    requests_extra: int = 0
    # Every failed request of the row's server, by kind (status code, timeout, reset, ...).
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.runs) + self.requests_extra

    def cells(self) -> list[str]:
        p99 = " / ".join(f"{r.p99_ms:.0f}" for r in self.runs)
        rss = f"{self.rss_mb[0]:.0f} → {self.rss_mb[1]:.0f}"
        return [
            self.scenario,
            f"{self.requests:,}",
            describe(self.failures),
            p99,
            rss,
            self.verdict,
        ]


def failures_of(runs: list[wrk.Result]) -> Counter[str]:
    total: Counter[str] = Counter()
    for run in runs:
        total.update(run.failures)
    return total


@dataclass(frozen=True)
class Noise:
    """How far apart two identical healthy servers measured in this run (the control row): the
    lowest rate ratio and the highest p99 ratio among its pairs. A faulty row passes if it stays
    within 10 % of its twin, or within this spread when the machine is noisier than that."""

    rate_low: float = 1.0
    p99_high: float = 1.0
    measured: bool = False

    @property
    def rate_floor(self) -> float:
        return min(0.9, self.rate_low)

    @property
    def p99_ceiling(self) -> float:
        return max(1.1, self.p99_high)

    def bounds(self) -> str:
        source = "control spread" if self.measured else "no control row run"
        return f"bounds rate ≥ {self.rate_floor:.2f}, p99 ≤ {self.p99_ceiling:.2f} ({source})"


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def load(server: Server, paths: list[str], seconds: int, connections: int = 16) -> wrk.Result:
    """One wrk run whose failed requests are classified (status code, timeout, reset, ...)."""
    return wrk.run(server.base, paths, seconds, connections, count_statuses=True)


def three_phases(
    server: Server, fault: Callable[[], contextlib.AbstractContextManager[None]], paths: list[str]
) -> list[wrk.Result]:
    before = load(server, paths, PHASE, CONNECTIONS)
    with fault():
        during = load(server, paths, PHASE, CONNECTIONS)
    return [before, during, load(server, paths, PHASE, CONNECTIONS)]


Fault = Callable[[str], contextlib.AbstractContextManager[None]]  # phase name -> fault or not


def no_fault(phase: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


# Faulty/healthy pairs in the "during" phase, in ABBA order (so a drift of the machine over the
# minute favours neither); their medians are compared.
ROUNDS = 4


@dataclass
class Pairs:
    """The faulty server's and its healthy twin's runs: every phase, and the fault's rounds."""

    ours: list[wrk.Result] = field(default_factory=list)
    twin: list[wrk.Result] = field(default_factory=list)
    during: list[tuple[wrk.Result, wrk.Result]] = field(default_factory=list)
    warnings: int = 0  # the faulty server's exporter warning lines

    def rate_ratios(self) -> list[float]:
        return [o.requests_per_second / t.requests_per_second for o, t in self.during]

    def p99_ratios(self) -> list[float]:
        return [o.p99_ms / t.p99_ms for o, t in self.during]

    def extra_failures(self) -> Counter[str]:
        """Failures of ours beyond what the twin had of the same kind: the fault's, not the
        machine's (a timeout both servers see under load is the machine)."""
        return failures_of(self.ours) - failures_of(self.twin)


def side_by_side(name: str, database_url: str, endpoint: str, fault: Fault) -> tuple[Row, Pairs]:
    """The faulty server (exporting to `endpoint`) and a healthy one; in the fault's phase the
    two are loaded in turn, ROUNDS times."""
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
        row, pairs = Row(name), Pairs()
        start_rss = rss_mb(faulty.process.pid)
        for phase in ("before", "during", "after"):
            with fault(phase):
                for round_ in range(ROUNDS if phase == "during" else 1):
                    ours, twin = _load_pair(faulty, healthy, twin_first=round_ % 2 == 1)
                    pairs.ours.append(ours)
                    pairs.twin.append(twin)
                    if phase == "during":
                        pairs.during.append((ours, twin))
            row.runs.append(ours if phase != "during" else median_run([o for o, _ in pairs.during]))
        row.rss_mb = (start_rss, rss_mb(faulty.process.pid))
        pairs.warnings = faulty.output.count(EXPORTER_WARNING)
    healthy_sink.stop()
    row.requests_extra = sum(o.requests for o in pairs.ours) - sum(r.requests for r in row.runs)
    row.failures = failures_of(pairs.ours)
    return row, pairs


def judge(row: Row, pairs: Pairs, noise: Noise) -> None:
    """The verdict of a faulty row: rate and p99 within the bounds `noise` sets, no failures
    beyond its twin's, few exporter warnings, no memory growth."""
    rate = statistics.median(pairs.rate_ratios())
    p99 = statistics.median(pairs.p99_ratios())
    extra = pairs.extra_failures()
    ok = rate >= noise.rate_floor and p99 <= noise.p99_ceiling and not extra
    ok = ok and pairs.warnings <= 4
    ok = ok and row.rss_mb[1] <= row.rss_mb[0] * 1.1
    row.verdict = (
        f"{'pass' if ok else 'FAIL'}: median of {ROUNDS} vs healthy twin: rate {rate:.2f}, "
        f"p99 {p99:.2f} ({noise.bounds()}); failures beyond the twin's: {describe(extra)} "
        f"(twin: {describe(failures_of(pairs.twin))}); {pairs.warnings} exporter warning lines"
    )


def _load_pair(faulty: Server, healthy: Server, twin_first: bool) -> tuple[wrk.Result, wrk.Result]:
    """One load run of each server, one after the other; (faulty's, healthy's)."""
    if twin_first:
        twin = load(healthy, ITEMS, PHASE, CONNECTIONS)
        return load(faulty, ITEMS, PHASE, CONNECTIONS), twin
    ours = load(faulty, ITEMS, PHASE, CONNECTIONS)
    return ours, load(healthy, ITEMS, PHASE, CONNECTIONS)


def median_run(runs: list[wrk.Result]) -> wrk.Result:
    """The run with the median rate (its p99 is what the table shows for the phase)."""
    return sorted(runs, key=lambda r: r.requests_per_second)[len(runs) // 2]


def control(database_url: str) -> tuple[Row, Noise]:
    """Both servers healthy: how far apart two identical servers measure on this machine, now
    (the noise the collector rows are judged against). It fails only on failures beyond the
    twin's."""
    sink = OtlpReceiver(discard=True)
    sink.start()
    row, pairs = side_by_side(
        "control: collector up (no fault)", database_url, sink.endpoint, no_fault
    )
    sink.stop()
    rates, p99s = pairs.rate_ratios(), pairs.p99_ratios()
    noise = Noise(min(rates), max(p99s), measured=True)
    extra = pairs.extra_failures()
    row.verdict = (
        f"{'pass' if not extra else 'FAIL'}: spread of {ROUNDS} pairs of identical servers: rate "
        f"{min(rates):.2f}–{max(rates):.2f}, p99 {min(p99s):.2f}–{max(p99s):.2f}; failures beyond "
        f"the twin's: {describe(extra)} (twin: {describe(failures_of(pairs.twin))}); "
        f"{pairs.warnings} exporter warning lines"
    )
    return row, noise


def judged(name: str, database_url: str, endpoint: str, noise: Noise) -> Row:
    """A faulty row whose fault is its endpoint alone (absent, black hole), judged."""
    row, pairs = side_by_side(name, database_url, endpoint, no_fault)
    judge(row, pairs, noise)
    return row


def collector_scenarios(database_url: str, noise: Noise) -> list[Row]:
    rows = []
    with closed_port() as endpoint:
        rows.append(judged("collector absent", database_url, endpoint, noise))
    with BlackHole() as hole:
        rows.append(judged("collector black hole", database_url, hole.endpoint, noise))
    rows.append(killed_and_restarted(database_url, noise))
    return rows


def killed_and_restarted(database_url: str, noise: Noise) -> Row:
    sink = OtlpReceiver(port=port_below_ephemeral_range(), discard=True)
    sink.start()
    port = sink.port
    restarted: list[OtlpReceiver] = []
    first_span_after: list[float] = []  # seconds from the restart to the first span received
    timers: list[threading.Thread] = []

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
        timers.append(threading.Thread(target=_time_first_span, args=(again, first_span_after)))
        timers[0].start()

    row, pairs = side_by_side("collector killed, restarted", database_url, sink.endpoint, down)
    judge(row, pairs, noise)
    timers[0].join()  # the first span came, or none within its minute
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
        row.failures = failures_of(row.runs)
    causes = server_side_causes(server)
    proxy.stop()
    before, during, after = row.runs
    only_503 = set(during.failures) <= {"HTTP 503"}
    ok = before.errors == 0 and after.errors == 0 and only_503 and during.p99_ms < 5000
    row.verdict = (
        f"{'pass' if ok else 'FAIL'}: during {describe(Counter(during.failures))} (503 expected; "
        f"server log: {describe(causes)}), before {before.errors}, after {after.errors}"
    )
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
        result = wrk.run(
            server.base, MIX, SOAK, SOAK_CONNECTIONS, timeout_s=10, count_statuses=True
        )
        done.set()
        sampler.join()
    causes = server_side_causes(server)
    sink.stop()
    # After the first tenth: caches and pool warm (the first sample, on a very short soak).
    warm = samples[min(len(samples) - 1, max(1, len(samples) // 10))]
    last = samples[-1]
    growth = last[1] / warm[1] - 1
    row = Row(f"soak {SOAK} s × {SOAK_CONNECTIONS} connections", [result], (warm[1], last[1]))
    row.failures = Counter(result.failures)
    # A 503 the server logged as "pool exhausted" is load shed by design (no connection free within
    # WFS3_DB_POOL_ACQUIRE_TIMEOUT_MS): more connections than this machine serves, not a fault of
    # the long run. Every other failure, and any growth, fails the soak.
    shed = min(row.failures["HTTP 503"], causes["pool exhausted"])
    faults = result.errors - shed
    ok = faults == 0 and growth < 0.10 and last[2] <= warm[2] and last[3] <= warm[3]
    row.verdict = (
        f"{'pass' if ok else 'FAIL'}: {faults} failures beyond load shed by the pool ({shed} × "
        f"503 'pool exhausted' in the server log); RSS {growth:+.1%} after warm-up, "
        f"fds {warm[2]} → {last[2]}, db connections {warm[3]} → {last[3]}"
    )
    return row


# What the server logs when it answers 5xx (app/errors.py), to tell 503s apart by cause.
SERVER_SIDE_CAUSES = {
    "No database connection became free": "pool exhausted",
    "database unavailable on": "database unreachable",
    "The query took longer": "statement timeout",
    "unhandled error on": "unhandled error",
    "database error on": "database error",
}


def server_side_causes(server: Server) -> Counter[str]:
    """The causes of the server's 5xx answers, counted from its own log lines."""
    causes: Counter[str] = Counter()
    for line in server.json_lines():
        for marker, cause in SERVER_SIDE_CAUSES.items():
            if marker in str(line.get("message", "")):
                causes[cause] += 1
    return causes


def _pool_connections(database_url: str) -> int:
    from harness.database import run_sql

    count: int = run_sql(
        database_url,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'veda-wfs3'",
    )
    return count


def table(rows: list[Row]) -> str:
    header = [
        "scenario",
        "requests",
        "failed (by kind)",
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
    noise = Noise()
    if "control" in SCENARIOS:
        row, noise = control(database_url)
        rows.append(row)
    if "collector" in SCENARIOS:
        rows += collector_scenarios(database_url, noise)
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
    if set(SCENARIOS) >= {"database", "control", "collector", "soak"}:
        (ROOT / "reliability/RESULTS.md").write_text(RESULTS_HEADER + text + "\n")
    if any(not row.verdict.startswith("pass") for row in rows):
        raise SystemExit("reliability: some scenario failed")


if __name__ == "__main__":
    main()

"""X-Ray's sampling rule governs the service, end to end: the service (OTEL_TRACES_SAMPLER=xray)
→ the real collector's awsproxy → a fake X-Ray API that serves one rule, and receives the
statistics the service reports and the segments the collector's awsxray exporter sends.

The rule is changed while everything runs; the fraction of exported traces follows it from the
first SamplingTargets call after the change. Counts, not clocks: each phase waits for the
service's own report of how many requests it saw, and for the traces it sampled to arrive.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from harness.collector import built_collector, running_collector
from harness.fake_xray import FakeXRay, rule, running_fake_xray
from harness.polling import eventually
from harness.server_process import Server, running_server

pytestmark = pytest.mark.server  # a real server process: left out of make test-fast

SEEN_WITHIN = 60  # seconds: a generous deadline for events that take about a second


@pytest.fixture(scope="module")
def fake_xray() -> Iterator[FakeXRay]:
    with running_fake_xray(rule(FixedRate=0.0, ReservoirSize=0), interval=1) as fake:
        yield fake


@pytest.fixture(scope="module")
def collector(fake_xray: FakeXRay, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    env = {"AWS_XRAY_ENDPOINT": fake_xray.url, "AWS_LOCAL_MODE": "true"}
    log = tmp_path_factory.mktemp("otelcol") / "collector.log"
    with running_collector(built_collector(), env, log) as ports:
        yield ports


@pytest.fixture(scope="module")
def server(database_url: str, collector: dict[str, int], fake_xray: FakeXRay) -> Iterator[Server]:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector['grpc']}",
        "OTEL_TRACES_SAMPLER": "xray",
        # The fallback would sample every trace: none sampled means the rule decided.
        "OTEL_TRACES_SAMPLER_ARG": "1.0",
        "WFS3_XRAY_SAMPLING_ENDPOINT": f"http://127.0.0.1:{collector['proxy']}",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "WEB_CONCURRENCY": "1",
    }
    with running_server(database_url, **env) as server:
        # Targets are asked for only once the rules are in force.
        eventually(lambda: fake_xray.served_rates, SEEN_WITHIN, "the rules in force")
        yield server


def sampled_fraction(server: Server, fake: FakeXRay, requests: int) -> tuple[int, set[str]]:
    """Send `requests` new traces; once the service has reported them all, the number it
    sampled and the trace ids exported (waited for until they number as many)."""
    before_stats, before_traces = len(fake.statistics), fake.root_traces()
    with httpx.Client(base_url=server.base) as client:
        for _ in range(requests):
            assert client.get("/collections").status_code == 200
    eventually(lambda: fake.counted(before_stats)[0] >= requests, SEEN_WITHIN, "all reported")
    seen, sampled = fake.counted(before_stats)
    assert seen == requests

    def exported() -> set[str] | None:
        new = fake.root_traces() - before_traces
        return new if len(new) >= sampled else None

    return sampled, eventually(exported, SEEN_WITHIN, f"{sampled} traces") if sampled else set()


def new_rate_in_force(fake: FakeXRay, rate: float) -> None:
    """Change the rule; return once the poller has surely applied the first answer that carried
    the new rate (it handles one answer before it makes the next call)."""
    calls = len(fake.served_rates)
    fake.change_rule(FixedRate=rate)
    eventually(lambda: len(fake.served_rates) >= calls + 2, SEEN_WITHIN, "two targets calls")
    assert fake.served_rates[calls] == rate  # the first call after the change brought it


def test_changing_the_rules_rate_changes_the_share_of_exported_traces(
    server: Server, fake_xray: FakeXRay
) -> None:
    sampled_at_0, _ = sampled_fraction(server, fake_xray, 40)
    new_rate_in_force(fake_xray, 1.0)
    sampled_at_1, exported = sampled_fraction(server, fake_xray, 40)
    new_rate_in_force(fake_xray, 0.25)
    sampled_at_quarter, exported_quarter = sampled_fraction(server, fake_xray, 200)
    print(  # noqa: T201 (the figures the closing note quotes, with pytest -s)
        f"sampled: rate 0.0 {sampled_at_0}/40, rate 1.0 {sampled_at_1}/40 "
        f"({len(exported)} exported), rate 0.25 {sampled_at_quarter}/200"
    )
    assert (sampled_at_0, sampled_at_1, len(exported)) == (0, 40, 40)
    # Binomial(200, 0.25): 50 ± 6; outside 20..80 is about one run in a million.
    assert 20 <= sampled_at_quarter <= 80
    assert len(exported_quarter) == sampled_at_quarter


def test_a_callers_sampled_header_is_kept_whatever_the_rule(
    server: Server, fake_xray: FakeXRay
) -> None:
    new_rate_in_force(fake_xray, 0.0)
    trace_id = f"{os.urandom(4).hex()}{os.urandom(12).hex()}"
    header = f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent=53995c3f42cd8ad8;Sampled=1"
    response = httpx.get(f"{server.base}/collections", headers={"X-Amzn-Trace-Id": header})
    assert response.status_code == 200
    xray_id = f"1-{trace_id[:8]}-{trace_id[8:]}"
    eventually(lambda: xray_id in fake_xray.traces(), SEEN_WITHIN, "the caller's trace exported")

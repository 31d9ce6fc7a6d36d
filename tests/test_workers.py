"""WEB_CONCURRENCY > 1: each uvicorn worker is its own process with its own providers, export
threads and resource (pid, service.instance.id), and each exports its own spans and metrics."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import pytest

from harness.otlp_receiver import OtlpReceiver
from harness.server_process import running_server
from harness.traces import SERVER_KIND, otlp_env

pytestmark = pytest.mark.server  # a real server process: left out of make test-fast

ITEMS = "/collections/public.fire_lines/items?limit=3"


def test_two_workers_each_export_spans_and_metrics(database_url: str) -> None:
    receiver = OtlpReceiver()
    receiver.start()
    try:
        with running_server(database_url, WEB_CONCURRENCY="2", **otlp_env(receiver)) as server:
            pids = _spread_requests_until_two_workers_answered(server.base, receiver)
            metric_instances = receiver.wait_until(lambda: _instances_with_metrics(receiver))
    finally:
        receiver.stop()
    assert len(pids) == 2
    assert len(metric_instances) == 2


def _instances_with_metrics(receiver: OtlpReceiver) -> set[str] | None:
    durations = [p for p in receiver.points if p.metric == "http.server.request.duration"]
    instances = {p.resource["service.instance.id"] for p in durations}
    return instances if len(instances) >= 2 else None


def _spread_requests_until_two_workers_answered(base: str, receiver: OtlpReceiver) -> set[int]:
    """Concurrent requests, batch after batch: the kernel picks which worker accepts each."""
    deadline = time.monotonic() + 30
    with ThreadPoolExecutor(8) as pool:
        while time.monotonic() < deadline:
            list(pool.map(lambda _: httpx.get(base + ITEMS).status_code, range(16)))
            time.sleep(0.3)
            pids = {s.resource["process.pid"] for s in receiver.spans if s.kind == SERVER_KIND}
            if len(pids) >= 2:
                return pids
    raise AssertionError("spans from only one worker arrived")

"""Telemetry never hurts serving: the collector absent, or accepting connections and never
answering. Requests keep their status, the exporters' warnings are rate-limited, and SIGTERM
still ends the process within the 5 s flush budget (plus uvicorn's own shutdown)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2 as httpx
import pytest

from tests.faults import BlackHole, closed_port
from tests.server_process import running_server

ITEMS = "/collections/public.fire_perimeters/items"
REQUESTS = 200
EXIT_SECONDS = 7.0  # 5 s telemetry flush budget + uvicorn's shutdown + process exit


@pytest.fixture
def absent_collector() -> Iterator[str]:
    with closed_port() as endpoint:
        yield endpoint


@pytest.fixture
def black_hole_collector() -> Iterator[str]:
    with BlackHole() as hole:
        yield hole.endpoint


@pytest.mark.parametrize("collector", ["absent_collector", "black_hole_collector"])
def test_serving_is_unaffected_and_shutdown_is_bounded(
    collector: str, request: pytest.FixtureRequest, database_url: str
) -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": request.getfixturevalue(collector),
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
        "OTEL_METRIC_EXPORT_INTERVAL": "200",
    }
    with running_server(database_url, **env) as server, httpx.Client() as client:
        statuses = [
            client.get(f"{server.base}{ITEMS}?limit=5").status_code for _ in range(REQUESTS)
        ]
        statuses.append(client.get(f"{server.base}/collections/public.nope").status_code)
        assert server.process.poll() is None
    assert statuses == [200] * REQUESTS + [404]
    assert server.exit_seconds is not None and server.exit_seconds < EXIT_SECONDS
    lines = server.json_lines()
    exporter_lines = [r for r in lines if r["logger"].startswith(("opentelemetry", "grpc"))]
    # Three exporters, each with at most a "transient error" and a "failed" message per minute.
    assert len(exporter_lines) <= 6, exporter_lines
    assert len([r for r in lines if r["logger"] == "app.access"]) >= REQUESTS + 1

"""startup.sh serves the real thing over HTTP, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal

import httpx2 as httpx
import pytest

from data.load import SAMPLE_COLLECTIONS
from harness.server_process import running_server

pytestmark = pytest.mark.server  # a real server process: left out of make test-fast


def test_startup_script_serves_and_exits_on_sigterm(database_url: str) -> None:
    with running_server(database_url, OTEL_SDK_DISABLED="true") as server:
        body = httpx.get(f"{server.base}/collections").json()
        assert body["numberMatched"] == len(SAMPLE_COLLECTIONS)
        assert all(c["links"][0]["href"].startswith(server.base) for c in body["collections"])
        # uvicorn's own proxy handling is off: a forwarded header from loopback (trusted by
        # default) is applied by our middleware, exactly once.
        spoofed = httpx.get(f"{server.base}/", headers={"X-Forwarded-Proto": "https"}).json()
        assert spoofed["links"][0]["href"].startswith(server.base.replace("http:", "https:"))
    # uvicorn re-raises the signal after a graceful shutdown, so the exit status says SIGTERM.
    assert server.process.returncode in (0, -signal.SIGTERM), server.output.decode()
    assert b"Application shutdown complete" in server.output


def test_with_the_sdk_disabled_nothing_is_traced_but_access_is_logged(database_url: str) -> None:
    with running_server(database_url, OTEL_SDK_DISABLED="true") as server:
        response = httpx.get(f"{server.base}/collections")
        assert "x-amzn-trace-id" not in response.headers
        error = httpx.get(f"{server.base}/collections/public.nope").json()
        assert "traceId" not in error
    lines = server.json_lines()
    assert not [r for r in lines if r["message"].startswith("telemetry on")]
    assert not [r for r in lines if "trace_id" in r]
    access = [r for r in lines if r["logger"] == "app.access"]
    assert [r["http.response.status_code"] for r in access][-2:] == [200, 404]

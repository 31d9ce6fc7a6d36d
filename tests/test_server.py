"""startup.sh serves the real thing over HTTP, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_startup_script_serves_and_exits_on_sigterm(database_url: str) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "HOST": "127.0.0.1", "PORT": str(port)}
    server = subprocess.Popen(
        [str(ROOT / "startup.sh")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready in 30 s"
            assert server.poll() is None, "server exited"
            time.sleep(0.2)
        body = httpx.get(f"{base}/collections").json()
        assert body["numberMatched"] == 3
        assert all(c["links"][0]["href"].startswith(base) for c in body["collections"])
        # uvicorn's own proxy handling is off: a spoofed header from loopback (trusted by
        # default) is applied by our middleware, exactly once.
        spoofed = httpx.get(f"{base}/", headers={"X-Forwarded-Proto": "https"}).json()
        assert spoofed["links"][0]["href"].startswith(f"https://127.0.0.1:{port}/")
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=15)
    # uvicorn re-raises the signal after a graceful shutdown, so the exit status says SIGTERM.
    assert server.returncode in (0, -signal.SIGTERM), output.decode()
    assert b"Application shutdown complete" in output

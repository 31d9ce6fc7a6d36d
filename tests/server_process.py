"""Run the service the way production does (startup.sh, real uvicorn) for a test."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    output: bytes = b""


def _wait_ready(server: Server, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{server.base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"server not ready in {seconds}s"
        assert server.process.poll() is None, "server exited"
        time.sleep(0.2)


@contextlib.contextmanager
def running_server(database_url: str, **env: str) -> Iterator[Server]:
    """startup.sh on a free loopback port; SIGTERM on exit, its output kept on the Server."""
    port = free_port()
    full_env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **env,
    }
    process = subprocess.Popen(
        [str(ROOT / "startup.sh")], env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    server = Server(base=f"http://127.0.0.1:{port}", process=process)
    try:
        _wait_ready(server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        server.output, _ = process.communicate(timeout=20)

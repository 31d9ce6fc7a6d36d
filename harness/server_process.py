"""Run the service the way production does (startup.sh, real uvicorn) for a test."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx

from harness import secrets_audit

ROOT = Path(__file__).resolve().parents[1]
STARTUP = [str(ROOT / "startup.sh")]
# What startup.sh runs, without opentelemetry-instrument in front: the other launch mode.
PLAIN_UVICORN = [
    str(ROOT / ".venv/bin/uvicorn"),
    "app.main:app",
    "--log-config",
    "app/logging.json",
    "--no-access-log",
    "--no-proxy-headers",
    "--no-server-header",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log_path: Path
    exit_seconds: float | None = None
    final_output: bytes | None = None

    @property
    def output(self) -> bytes:
        """Everything the server wrote to stdout and stderr (so far, or in all once stopped)."""
        if self.final_output is not None:
            return self.final_output
        return self.log_path.read_bytes()

    def json_lines(self) -> list[dict[str, Any]]:
        """stdout as the JSON log records it must consist of (fails on any other line); while
        the server runs, a last line still being written is left out."""
        complete = self.output.decode().rsplit("\n", 1)[0]
        return [json.loads(line) for line in complete.splitlines() if line]

    def stop(self) -> None:
        """SIGTERM, and how long the process took to exit."""
        if self.process.poll() is None:
            start = time.monotonic()
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
            self.exit_seconds = time.monotonic() - start


def wait_ready(server: Server, seconds: float = 30, path: str = "/readyz") -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{server.base}{path}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"server not ready in {seconds}s"
        assert server.process.poll() is None, "server exited:\n" + server.output.decode()[-3000:]
        time.sleep(0.2)


@contextlib.contextmanager
def running_server(
    database_url: str,
    command: list[str] | None = None,
    ready: bool = True,
    ready_path: str = "/readyz",
    **env: str,
) -> Iterator[Server]:
    """startup.sh (or `command`) on a free loopback port; SIGTERM on exit."""
    # make test-fast promises no server processes: a test that starts one must say so.
    assert not os.environ.get("WFS3_TEST_FAST"), "this test starts a server: mark it `server`"
    port = free_port()
    full_env = {**os.environ, "DATABASE_URL": database_url, "HOST": "127.0.0.1", **env}
    full_env["PORT"] = str(port)
    argv = [*(command or STARTUP)]
    if command is not None:
        argv += ["--host", "127.0.0.1", "--port", str(port)]
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "server.log"
        with log_path.open("wb") as log:
            # A file, not a pipe: a full pipe would block the server's logging mid-test.
            process = subprocess.Popen(argv, env=full_env, cwd=ROOT, stdout=log, stderr=log)
        server = Server(base=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
        try:
            if ready:
                wait_ready(server, 60, ready_path)
            yield server
        finally:
            server.stop()
            server.final_output = log_path.read_bytes()
            secrets_audit.record("server outputs", server.final_output)

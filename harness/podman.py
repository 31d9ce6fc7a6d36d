"""Containers on this machine: podman (there is no Docker daemon), its Docker API socket for the
docker CLI and Compose, and a stand-in for the health-check scheduler that podman lacks here.

`make images` (scripts/images.sh) has put the base images docker-compose.yml and the Dockerfile
name into podman's store; nothing here pulls.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.polling import eventually

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_PLUGIN = ROOT / ".venv/bin/docker-compose"


def engine_env() -> dict[str, str]:
    """podman's settings for this machine (docker/podman/containers.conf, see its comments)."""
    return {**os.environ, "CONTAINERS_CONF": str(ROOT / "docker/podman/containers.conf")}


def podman(*args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        ["podman", *args], env=engine_env(), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"podman {' '.join(args)}: {result.stderr}"
    return result.stdout


def logs(container: str) -> str:
    """What the container wrote, stdout and stderr interleaved."""
    result = subprocess.run(
        ["podman", "logs", container], env=engine_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=60,
    )  # fmt: skip
    return result.stdout


def inspect(container: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = json.loads(podman("container", "inspect", container))
    return found[0]


def _health_status(state: dict[str, Any]) -> str:
    """'starting', 'healthy' or 'unhealthy'; '' for a container without a health check."""
    return str((state.get("Health") or state.get("Healthcheck") or {}).get("Status", ""))


def settled_health(container: str, seconds: float) -> str:
    """The health check's verdict once it has one: 'healthy', 'unhealthy', 'exited (N)' when the
    container stopped first, 'no health check'. Fails after `seconds` still 'starting'."""

    def verdict() -> str:
        state = inspect(container)["State"]
        if not state["Running"]:
            return f"exited ({state['ExitCode']})"
        status = _health_status(state)
        return "" if status == "starting" else status or "no health check"

    return eventually(verdict, seconds=seconds, what=f"{container}'s health check verdict")


class HealthTicker:
    """Runs each running container's health check at its own interval, as Docker's scheduler.

    Podman 4.3 schedules health checks with systemd timers; there is no systemd here, so without
    this every container with a HEALTHCHECK stays 'starting' and Compose's `service_healthy`
    waits forever. `podman healthcheck run` executes the container's own check and applies its
    retries and start period; the interval is applied here (Docker's default, 30 s, when unset).
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._intervals: dict[str, float] = {}
        self._last_run: dict[str, float] = {}

    def __enter__(self) -> HealthTicker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for container in self._running_with_checks():
                due = self._last_run.get(container, 0.0) + self._intervals[container]
                if time.monotonic() >= due:
                    self._last_run[container] = time.monotonic()
                    subprocess.run(
                        ["podman", "healthcheck", "run", container],
                        env=engine_env(),
                        capture_output=True,
                    )

    def _running_with_checks(self) -> list[str]:
        running = subprocess.run(
            ["podman", "ps", "-q", "--no-trunc"], env=engine_env(), capture_output=True, text=True
        ).stdout.split()
        for container in set(running) - set(self._intervals):
            check = inspect(container)["Config"].get("Healthcheck") or {}
            interval = check.get("Interval") or 30_000_000_000
            self._intervals[container] = interval / 1e9 if check.get("Test") else float("inf")
        return [c for c in running if self._intervals[c] != float("inf")]


@contextmanager
def docker_api() -> Iterator[dict[str, str]]:
    """`podman system service` on a private socket; yields the environment under which the
    docker CLI, with our Compose binary as its plugin, drives it. On exit the service process
    is stopped and waited for: nothing is left running."""
    assert shutil.which("docker"), "the docker CLI is needed (only the client; podman serves it)"
    workdir = Path(tempfile.mkdtemp(prefix="wfs3-podman-"))
    socket = workdir / "podman.sock"
    plugins = workdir / "docker-config/cli-plugins"
    plugins.mkdir(parents=True)
    (plugins / "docker-compose").symlink_to(COMPOSE_PLUGIN)
    service = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{socket}"],
        env=engine_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        eventually(socket.exists, seconds=30, what="podman's API socket")
        yield {
            **engine_env(),
            "DOCKER_HOST": f"unix://{socket}",
            "DOCKER_CONFIG": str(workdir / "docker-config"),
            # No buildx plugin here: without this Compose would start a BuildKit container from
            # a registry. The classic builder goes through podman's build API.
            "DOCKER_BUILDKIT": "0",
        }
    finally:
        service.terminate()
        service.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)

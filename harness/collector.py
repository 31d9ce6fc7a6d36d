"""The locally built collector (scripts/collector.sh) as a test runs it: built or found up to
date, started on free loopback ports with otel-config.yaml, stopped at the end."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx

from harness.polling import eventually
from harness.server_process import ROOT, free_port

AWS = {
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}
PORTS = {
    "grpc": "OTELCOL_OTLP_GRPC_PORT",
    "http": "OTELCOL_OTLP_HTTP_PORT",
    "statsd": "OTELCOL_STATSD_PORT",
    "health": "OTELCOL_HEALTH_PORT",
    "proxy": "OTELCOL_XRAY_PROXY_PORT",
}


@contextlib.contextmanager
def process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=out, cwd=ROOT)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def http_ok(url: str) -> bool | None:
    try:
        return httpx.get(url, timeout=1).status_code == 200 or None
    except httpx.TransportError:
        return None


def built_collector() -> str:
    """The binary's path, built (or found up to date) by the same script as `make collector`."""
    built = subprocess.run(
        [str(ROOT / "scripts/collector.sh")], capture_output=True, text=True, check=True
    )
    return built.stdout.strip().splitlines()[-1]


def aws_emulated_env(emulator: str, metrics_log_group: str) -> dict[str, str]:
    """The collector's environment for AWS played by moto at `emulator`: X-Ray and CloudWatch
    Logs there, EMF to `metrics_log_group`, metric batches sent each second."""
    return {
        "AWS_XRAY_ENDPOINT": emulator,
        "AWS_CLOUDWATCH_LOGS_ENDPOINT": emulator,
        "AWS_LOCAL_MODE": "true",
        "WFS3_METRICS_LOG_GROUP": metrics_log_group,
        "OTELCOL_METRICS_BATCH_TIMEOUT": "1s",
    }


@contextlib.contextmanager
def running_collector(
    binary: str, env: dict[str, str], log: Path, configs: tuple[str, ...] = ("otel-config.yaml",)
) -> Iterator[dict[str, int]]:
    """The collector with `configs` (merged in order) on free loopback ports, healthy; yields
    the ports by name (grpc, http, statsd, health, proxy). Fails the test if it panicked."""
    ports = {name: free_port() for name in PORTS}
    env = {**AWS, "OTELCOL_LISTEN": "127.0.0.1", **env}
    env |= {PORTS[name]: str(port) for name, port in ports.items()}
    argv = [binary, *(arg for c in configs for arg in ("--config", str(ROOT / c)))]
    with process(argv, env, log):
        eventually(lambda: http_ok(f"http://127.0.0.1:{ports['health']}/"), 30, "collector up")
        yield ports
    assert "panic" not in log.read_text()


@contextlib.contextmanager
def running_moto(log: Path) -> Iterator[str]:
    """moto's AWS emulator on a free loopback port; yields its URL."""
    port = free_port()
    moto = [str(ROOT / ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    with process(moto, {}, log):
        url = f"http://127.0.0.1:{port}"
        eventually(lambda: http_ok(f"{url}/moto-api/"), 30, "moto_server up")
        yield url

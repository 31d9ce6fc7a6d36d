"""The image ECS runs and `docker compose up`, run for real: podman behind the docker CLI.

The base images are the stand-ins `make images` builds (scripts/test.sh and `make compose-test`
build them first); the Dockerfile and docker-compose.yml are used unchanged, and docs/telemetry.md's
"Local tracing with Docker" commands are run exactly as written. What a closing note quotes (the
image's size, `docker compose ps`, the trace read back from Jaeger) is written to REPORT.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2 as httpx
import pytest

from data.load import DEFAULT_SIZES
from deploy.terraform_files import collector_config_as_deployed
from harness import secrets_audit
from harness.otlp_receiver import OtlpReceiver
from harness.podman import HealthTicker, docker_api, inspect, logs, podman, settled_health
from harness.polling import eventually
from harness.server_process import ROOT, free_port
from harness.tcp_proxy import TcpProxy
from harness.traces import SERVER_KIND, spans_of

pytestmark = [pytest.mark.server, pytest.mark.containers]

IMAGE = "veda-wfs3:test"
PROJECT = "veda-wfs3"  # docker-compose.yml's name
REPORT = ROOT / ".cache/compose-test/report.md"
DOCS = ROOT / "docs/telemetry.md"
DOCS_SECTION = "## Local tracing with Docker"
TABLES = {"perimeters": "fire_perimeters", "detections": "fire_detections", "lines": "fire_lines"}
Docker = Callable[..., str]


def report(title: str, text: str) -> None:
    with REPORT.open("a") as out:
        out.write(f"## {title}\n\n```\n{text.rstrip()}\n```\n\n")


def xray_trace_id() -> tuple[str, str]:
    """A fresh X-Ray trace id and the same id as OpenTelemetry's 32 hex digits."""
    epoch, unique = f"{int(time.time()):08x}", secrets.token_hex(12)
    return f"1-{epoch}-{unique}", epoch + unique


@pytest.fixture(scope="module")
def docker_env() -> Iterator[dict[str, str]]:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("# make compose-test\n\n")
    with docker_api() as env, HealthTicker():
        yield env


@pytest.fixture(scope="module")
def docker(docker_env: dict[str, str]) -> Docker:
    def run(*args: str, timeout: float = 900) -> str:
        result = subprocess.run(
            ["docker", *args], env=docker_env, cwd=ROOT, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        assert result.returncode == 0, f"docker {' '.join(args)}:\n{result.stderr[-3000:]}"
        return result.stdout

    return run


# --- the image, as ECS runs it ----------------------------------------------------------------


class Container:
    """Our image started with host networking and a read-only root filesystem against the test
    database, reached through a proxy that is not listening yet, exporting to a receiver on
    loopback. Spans wait ten
    minutes in the batch processor: only the shutdown flush can deliver them in this test."""

    def __init__(self, docker: Docker, reader_url: str) -> None:
        self.docker = docker
        self.receiver = OtlpReceiver()
        self.proxy = TcpProxy.to_database(reader_url)
        self.port = free_port()
        self.name = f"wfs3-image-test-{self.port}"
        self.environment = {
            "DATABASE_URL": self.proxy.database_url(reader_url),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DB_WAIT_SECONDS": "300",
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.receiver.endpoint,
            "OTEL_SERVICE_NAME": "veda-wfs3-image-test",
            "OTEL_BSP_SCHEDULE_DELAY": "600000",
        }

    def start(self) -> None:
        self.receiver.start()
        variables = [arg for k, v in self.environment.items() for arg in ("-e", f"{k}={v}")]
        # As the task definition runs it: a read-only root filesystem (app-container.json.tftpl).
        self.docker(
            "run", "-d", "--name", self.name, "--network=host", "--read-only", *variables, IMAGE
        )  # fmt: skip

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def logs(self) -> str:
        return logs(self.name)

    def remove(self) -> None:
        secrets_audit.record("container logs", self.logs())
        podman("rm", "-f", self.name)
        self.proxy.stop()
        self.receiver.stop()


@pytest.fixture(scope="module")
def container(docker: Docker, reader_url: str) -> Iterator[Container]:
    docker("build", "-t", IMAGE, str(ROOT))
    size = podman("image", "inspect", IMAGE, "--format", "{{.Size}}")
    base = podman("image", "inspect", "python:3.11-slim", "--format", "{{.Size}}")
    sizes = (
        f"{IMAGE}: {int(size) / 1e6:.0f} MB, of which the stand-in base {int(base) / 1e6:.0f} MB"
    )
    report("Image size", sizes)
    running = Container(docker, reader_url)
    running.start()
    try:
        yield running
    finally:
        running.remove()


def test_startup_waits_for_the_database_then_serves(container: Container) -> None:
    eventually(lambda: inspect(container.name)["State"]["Running"], what="container running")
    # The database becomes reachable only now; startup.sh's wait must hold the server back.
    container.proxy.start()
    verdict = settled_health(container.name, seconds=180)
    assert verdict == "healthy", container.logs()[-3000:]
    logs = container.logs()
    assert "database not reachable" not in logs
    catalog = [line for line in logs.splitlines() if "collection catalog" in line]
    assert catalog and re.search(r"collection catalog loaded: \d+ collections", catalog[0]), logs


def test_server_is_pid_1_as_the_non_root_user(container: Container, docker: Docker) -> None:
    command = docker("exec", container.name, "cat", "/proc/1/cmdline").replace("\0", " ")
    assert "uvicorn app.main:app" in command, "startup.sh exec'd the server: it gets SIGTERM"
    status = docker("exec", container.name, "cat", "/proc/1/status")
    assert re.search(r"^Uid:\s+10001\s", status, re.MULTILINE), status


def test_sigterm_stops_it_gracefully_with_spans_flushed(
    container: Container, docker: Docker
) -> None:
    xray_id, trace_id = xray_trace_id()
    url = container.url("/collections/public.fire_perimeters/items?limit=2")
    response = httpx.get(url, headers={"X-Amzn-Trace-Id": f"Root={xray_id};Sampled=1"})
    assert response.status_code == 200
    assert not [s for s in container.receiver.spans if s.trace_id == trace_id]
    docker("stop", "-t", "10", container.name)
    assert inspect(container.name)["State"]["ExitCode"] == 0, "exited on SIGTERM, not killed"
    spans = spans_of(container.receiver, trace_id)
    assert any(s.kind == SERVER_KIND for s in spans)


def test_collector_image_runs_the_deployed_config_as_ecs_hands_it_over(docker: Docker) -> None:
    """deploy/terraform gives the sidecar otel-config.yaml (with the task-metrics overlay) as
    AOT_CONFIG_CONTENT, which takes the place of the image's --config (here one naming a file
    that does not exist). ECS also sets the task metadata endpoint the receiver reads."""
    name = f"wfs3-collector-test-{free_port()}"
    sidecar = {
        "AOT_CONFIG_CONTENT": collector_config_as_deployed(),
        "AWS_REGION": "us-east-1",
        "AWS_LOCAL_MODE": "true",
        "OTELCOL_LISTEN": "127.0.0.1",
        "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/task-metrics-test",
    }
    variables = [arg for k, v in sidecar.items() for arg in ("-e", f"{k}={v}")]
    image = "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"
    # As the task definition runs it (templates/collector-container.json.tftpl): its health
    # check, and a read-only root filesystem.
    check = {"cmd": "/healthcheck", "interval": "10s", "timeout": "5s", "retries": "3"}
    options = [f"--health-{k}={v}" for k, v in check.items()] + ["--health-start-period=10s"]
    docker("run", "-d", "--name", name, "--read-only", *variables, *options, image,
           "--config=/etc/absent.yaml")  # fmt: skip
    try:
        verdict = settled_health(name, seconds=120)
        assert verdict == "healthy", logs(name)[-3000:]
    finally:
        podman("rm", "-f", name)


# --- docker compose up, as docs/telemetry.md says ---------------------------------------------


def documented_commands() -> tuple[list[str], list[str]]:
    """The section's shell block, split into what brings the stack up and `down`."""
    section = DOCS.read_text().split(DOCS_SECTION, 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.strip()]
    down = next(i for i, line in enumerate(lines) if line.startswith("docker compose down"))
    return lines[:down], lines[down:]


def shell(env: dict[str, str], command: str) -> str:
    result = subprocess.run(
        ["bash", "-c", command], env=env, cwd=ROOT, capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def project_leftovers() -> dict[str, list[str]]:
    label = f"label=com.docker.compose.project={PROJECT}"
    return {
        kind: podman(*command, "--filter", label).split()
        for kind, command in {
            "containers": ("ps", "-a", "-q"),
            "networks": ("network", "ls", "-q"),
            "volumes": ("volume", "ls", "-q"),
        }.items()
    }


@pytest.fixture(scope="module")
def stack(docker_env: dict[str, str]) -> Iterator[dict[str, str]]:
    up, down = documented_commands()
    shell(docker_env, "docker compose down -v")  # what an interrupted earlier run left
    for command in up:
        shell(docker_env, command)
    try:
        yield docker_env
    finally:
        if any(project_leftovers().values()):
            shell(docker_env, "docker compose down -v")


def test_every_service_is_up_and_healthy(stack: dict[str, str], docker: Docker) -> None:
    services = {
        entry["Service"]: entry
        for line in docker("compose", "ps", "--format", "json").splitlines()
        for entry in [json.loads(line)]
    }
    assert set(services) == {"db", "collector", "jaeger", "app"}
    assert {name: s["Health"] for name, s in services.items() if name != "jaeger"} == {
        "db": "healthy", "collector": "healthy", "app": "healthy",
    }  # fmt: skip
    assert services["jaeger"]["State"] == "running"
    rows = [f"{'SERVICE':10} {'STATE':8} {'HEALTH':8} {'IMAGE':60} PORTS"] + [
        f"{name:10} {s['State']:8} {s['Health'] or '-':8} {s['Image']:60} {s['Ports']}"
        for name, s in sorted(services.items())
    ]
    report("docker compose ps --format json, tabulated", "\n".join(rows))


def test_sample_data_is_loaded_by_the_seed_script(stack: dict[str, str]) -> None:
    for size_name, table in TABLES.items():
        url = f"http://127.0.0.1:8080/collections/public.{table}/items?limit=1"
        assert httpx.get(url).json()["numberMatched"] == DEFAULT_SIZES[size_name], table


def jaeger_trace(trace_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"http://127.0.0.1:16686/api/traces/{trace_id}")
    if response.status_code != 200:
        return []
    spans: list[dict[str, Any]] = response.json()["data"][0]["spans"]
    roots = [s for s in spans if not s["references"]]
    return spans if len(roots) == 1 and roots[0]["operationName"].startswith("GET ") else []


def ancestors(span: dict[str, Any], spans: list[dict[str, Any]]) -> list[str]:
    parent_of = {s["spanID"]: s["references"][0]["spanID"] for s in spans if s["references"]}
    chain, current = [], span["spanID"]
    while current in parent_of:
        current = parent_of[current]
        chain.append(current)
    return chain


def test_a_request_trace_reaches_jaeger_with_its_sql_spans(stack: dict[str, str]) -> None:
    xray_id, trace_id = xray_trace_id()
    url = "http://127.0.0.1:8080/collections/public.fire_perimeters/items?limit=3"
    response = httpx.get(url, headers={"X-Amzn-Trace-Id": f"Root={xray_id};Sampled=1"})
    assert response.status_code == 200
    assert response.headers["x-amzn-trace-id"].startswith(f"Root={xray_id}")
    spans = eventually(lambda: jaeger_trace(trace_id), seconds=60, what="the trace in Jaeger")
    [root] = [s for s in spans if not s["references"]]
    assert root["operationName"] == "GET /collections/{collectionId}/items"
    sql = [s for s in spans if s["operationName"].startswith("SELECT")]
    assert sql and all(root["spanID"] in ancestors(s, spans) for s in sql)
    lines = [f"{s['operationName']:45} {s['duration'] / 1000:8.2f} ms" for s in spans]
    report(f"Trace {xray_id} from Jaeger's /api/traces", "\n".join(lines))


def collector_metric_batches(docker: Docker) -> list[str]:
    logs = docker("compose", "logs", "collector")
    return [line for line in logs.splitlines() if "\tMetrics\t" in line and '"debug"' in line]


def test_metrics_reach_the_collector(stack: dict[str, str], docker: Docker) -> None:
    # The app exports every 10 s (compose's OTEL_METRIC_EXPORT_INTERVAL); the collector batches
    # metrics for 60 s, as ADOT does, before its debug exporter prints them.
    batches = eventually(lambda: collector_metric_batches(docker), seconds=240, what="metrics")
    report("Metrics in the collector (debug exporter)", batches[0])


def test_down_leaves_nothing_behind(stack: dict[str, str]) -> None:
    assert all(project_leftovers().values()), "the stack was up"
    for command in documented_commands()[1]:
        shell(stack, command)
    assert project_leftovers() == {"containers": [], "networks": [], "volumes": []}

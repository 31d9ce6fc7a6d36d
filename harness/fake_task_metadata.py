"""A fake ECS task metadata endpoint v4 on loopback: `/task` and `/task/stats` of one Fargate task
with two containers, the app and the collector sidecar, as deploy/terraform defines them.

Each container's memory and CPU figures are chosen so that what the awsecscontainermetrics
receiver derives from them is known exactly: memory utilized = (usage - cache) / MiB, CPU
utilized from the CPU time used between two reads a second apart. Field names are those of
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate.html.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from harness.json_http import JsonHandler, serving

MIB = 1024 * 1024
CLUSTER = "wfs3-test"
FAMILY = "veda-wfs3"
SERVICE = "veda-wfs3"
TASK_ID = "0123456789abcdef0123456789abcdef"
TASK_ARN = f"arn:aws:ecs:us-east-1:123456789012:task/{CLUSTER}/{TASK_ID}"


@dataclass(frozen=True)
class Container:
    name: str
    docker_id: str
    memory_limit_mib: int
    cpu_units: int
    memory_utilized_mib: int  # what the receiver should report
    cpu_seconds_per_second: float  # vCPU in use between the two reads


CONTAINERS = (
    Container("app", "a" * 64, 1536, 768, 300, 0.5),
    Container("aws-otel-collector", "c" * 64, 512, 256, 60, 0.1),
)


def task_metadata() -> dict[str, Any]:
    return {
        "Cluster": f"arn:aws:ecs:us-east-1:123456789012:cluster/{CLUSTER}",
        "TaskARN": TASK_ARN,
        "Family": FAMILY,
        "Revision": "7",
        "ServiceName": SERVICE,
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "LaunchType": "FARGATE",
        "AvailabilityZone": "us-east-1a",
        "Limits": {"CPU": 1, "Memory": 2048},
        "Containers": [_container_metadata(c) for c in CONTAINERS],
    }


def _container_metadata(container: Container) -> dict[str, Any]:
    return {
        "DockerId": container.docker_id,
        "Name": container.name,
        "DockerName": f"ecs-{FAMILY}-7-{container.name}",
        "Image": f"{container.name}:test",
        "ImageID": "sha256:" + "0" * 64,
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Limits": {"CPU": container.cpu_units, "Memory": container.memory_limit_mib},
        "Type": "NORMAL",
        "Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": ["10.0.1.23"]}],
    }


def task_stats() -> dict[str, Any]:
    return {c.docker_id: _container_stats(c) for c in CONTAINERS}


def _container_stats(container: Container) -> dict[str, Any]:
    cache = 40 * MIB
    used_ns = int(container.cpu_seconds_per_second * 1e9)  # over the one second between reads
    return {
        "name": container.name,
        "id": container.docker_id,
        "read": "2026-12-01T12:00:01.000000000Z",
        "preread": "2026-12-01T12:00:00.000000000Z",
        "memory_stats": {
            "usage": container.memory_utilized_mib * MIB + cache,
            "max_usage": (container.memory_utilized_mib + 100) * MIB,
            "limit": container.memory_limit_mib * MIB,
            "stats": {"cache": cache},
        },
        "cpu_stats": _cpu(10_000_000_000 + used_ns),
        "precpu_stats": _cpu(10_000_000_000),
        "networks": {"eth1": {"rx_bytes": 1000, "tx_bytes": 2000}},
        "blkio_stats": {
            "io_service_bytes_recursive": [
                {"major": 202, "minor": 26368, "op": "Read", "value": 4096},
                {"major": 202, "minor": 26368, "op": "Write", "value": 8192},
            ]
        },
        "network_rate_stats": {"rx_bytes_per_sec": 100.0, "tx_bytes_per_sec": 200.0},
    }


def _cpu(total_ns: int) -> dict[str, Any]:
    return {
        "cpu_usage": {
            "total_usage": total_ns,
            "usage_in_kernelmode": total_ns // 4,
            "usage_in_usermode": total_ns // 2,
            "percpu_usage": [total_ns // 2, total_ns // 2],
        },
        "system_cpu_usage": 5 * total_ns,
        "online_cpus": 2,
    }


class _Handler(JsonHandler):
    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        answers = {"/v4/test/task": task_metadata, "/v4/test/task/stats": task_stats}
        if (answer := answers.get(self.path)) is None:
            self.send_error(404)
            return
        self.send_json(200, answer())


@contextmanager
def running_task_metadata() -> Iterator[str]:
    """Yields the value ECS would give ECS_CONTAINER_METADATA_URI_V4."""
    with serving(_Handler) as url:
        yield f"{url}/v4/test"

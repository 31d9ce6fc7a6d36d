"""ECS task and container metrics, end to end: a fake task metadata endpoint v4 → the real
collector running the configuration ECS gets (otel-config.yaml with collector/ecs-task-metrics.yaml
merged in, exactly as deploy/terraform renders it) → its awsemf exporter → CloudWatch Logs played
by moto. The EMF events are read back as CloudWatch would read them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from deploy.terraform_files import collector_config_as_deployed
from harness.collector import AWS, built_collector, running_collector, running_moto
from harness.fake_task_metadata import CLUSTER, CONTAINERS, FAMILY, SERVICE, TASK_ID
from harness.fake_task_metadata import running_task_metadata as task_metadata
from harness.polling import eventually

pytestmark = pytest.mark.server  # real processes: left out of make test-fast

LOG_GROUP = "/veda-wfs3/task-metrics-e2e"
TASK_METRICS = {
    "CpuUtilized",
    "CpuReserved",
    "MemoryUtilized",
    "MemoryReserved",
    "NetworkRxBytes",
    "NetworkTxBytes",
    "StorageReadBytes",
    "StorageWriteBytes",
}
CONTAINER_METRICS = {
    "container.cpu.usage.vcpu",
    "container.cpu.reserved",
    "container.memory.utilized",
    "container.memory.reserved",
}


def declared(event: dict[str, Any]) -> set[str]:
    return {m["Name"] for d in event["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


def task_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if "ContainerName" not in e]


def complete(events: list[dict[str, Any]]) -> bool:
    """Every task metric (the storage counters come in events of their own, once the exporter
    has a previous value to take a difference from), and each container with all of its."""
    task_names = set().union(*(declared(e) for e in task_events(events)))
    names = {e["ContainerName"] for e in events if declared(e) >= CONTAINER_METRICS}
    return task_names >= TASK_METRICS and names >= {c.name for c in CONTAINERS}


@pytest.fixture(scope="module")
def emf_events(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    where = tmp_path_factory.mktemp("task-metrics")
    deployed = where / "deployed-config.json"
    deployed.write_text(collector_config_as_deployed())
    with task_metadata() as metadata_uri, running_moto(where / "moto.log") as moto:
        env = {
            "ECS_CONTAINER_METADATA_URI_V4": metadata_uri,
            "AWS_CLOUDWATCH_LOGS_ENDPOINT": moto,
            "AWS_XRAY_ENDPOINT": moto,
            "AWS_LOCAL_MODE": "true",
            "WFS3_METRICS_LOG_GROUP": LOG_GROUP,
            "OTELCOL_METRICS_BATCH_TIMEOUT": "1s",
            "OTELCOL_TASK_METRICS_INTERVAL": "1s",
        }
        with running_collector(built_collector(), env, where / "otelcol.log", (str(deployed),)):
            logs = boto3.client(
                "logs",
                endpoint_url=moto,
                region_name=AWS["AWS_REGION"],
                aws_access_key_id=AWS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=AWS["AWS_SECRET_ACCESS_KEY"],
            )
            yield eventually(lambda: read_events(logs), 60, "task and container EMF events")


def read_events(logs: Any) -> list[dict[str, Any]] | None:
    try:
        found = logs.filter_log_events(logGroupName=LOG_GROUP)["events"]
    except logs.exceptions.ResourceNotFoundException:
        return None
    events = [json.loads(e["message"]) | {"stream": e["logStreamName"]} for e in found]
    return events if complete(events) else None


def test_task_metrics_carry_container_insights_dimensions(emf_events: list[dict[str, Any]]) -> None:
    for event in task_events(emf_events):
        (directive,) = event["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "veda-wfs3"
        assert sorted(map(sorted, directive["Dimensions"])) == [
            ["ClusterName"],
            ["ClusterName", "ServiceName"],
            ["ClusterName", "TaskDefinitionFamily"],
        ]
    task = next(e for e in task_events(emf_events) if "MemoryUtilized" in e)
    print(json.dumps(task, sort_keys=True))  # noqa: T201 (the closing note quotes one event)
    assert (task["ClusterName"], task["ServiceName"], task["TaskDefinitionFamily"]) == (
        CLUSTER,
        SERVICE,
        FAMILY,
    )
    assert task["stream"] == TASK_ID  # log_stream_name {TaskId}
    # The task's figures are the sum of the containers' (memory) and its limits (reserved).
    assert task["MemoryUtilized"] == sum(c.memory_utilized_mib for c in CONTAINERS)
    assert task["MemoryReserved"] == 2048
    assert task["CpuReserved"] == 1024  # CPU units: one vCPU
    assert task["CpuUtilized"] == pytest.approx(
        1024 * sum(c.cpu_seconds_per_second for c in CONTAINERS)
    )


def test_each_container_is_measured_on_its_own(emf_events: list[dict[str, Any]]) -> None:
    for container in CONTAINERS:
        event = next(
            e
            for e in emf_events
            if e.get("ContainerName") == container.name and declared(e) >= CONTAINER_METRICS
        )
        (directive,) = event["_aws"]["CloudWatchMetrics"]
        assert list(map(sorted, directive["Dimensions"])) == [
            ["ClusterName", "ContainerName", "TaskDefinitionFamily"]
        ]
        assert event["container.memory.utilized"] == container.memory_utilized_mib
        assert event["container.memory.reserved"] == container.memory_limit_mib
        assert event["container.cpu.reserved"] == container.cpu_units
        assert event["container.cpu.usage.vcpu"] == pytest.approx(container.cpu_seconds_per_second)


def test_only_the_declared_task_metrics_become_cloudwatch_metrics(
    emf_events: list[dict[str, Any]],
) -> None:
    names = set().union(*(declared(e) for e in emf_events))
    assert names == TASK_METRICS | CONTAINER_METRICS

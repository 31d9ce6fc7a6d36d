"""The resource on ECS: the stock detector's attributes plus the cluster name and task id that
the collector's {ClusterName} / {TaskId} templates need, from a local server that answers in the
documented task metadata v4 format."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2 as httpx
import pytest
from opentelemetry.sdk.resources import Resource

from app.otel.resource import StableResource, build_resource, ecs_names
from harness.json_http import JsonHandler, serving
from harness.otlp_receiver import OtlpReceiver
from harness.server_process import running_server
from harness.traces import SERVER_KIND, otlp_env, spans_of, trace_id_of

pytestmark = pytest.mark.server  # a real server process: left out of make test-fast

ACCOUNT, REGION, TASK_ID = "111122223333", "us-west-2", "158d1c8083dd49d6b527399fd6414f5c"
CONTAINER_ID = "0206b271-b33f-47ab-86c6-a0ba208a70a9"
CONTAINER = {
    "DockerId": "cd189a933e5849daa93386466019ab50-2495160603",
    "Name": "app",
    "ContainerARN": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container/{CONTAINER_ID}",
    "LogDriver": "awslogs",
    "LogOptions": {
        "awslogs-group": "/ecs/veda-wfs3",
        "awslogs-region": REGION,
        "awslogs-stream": f"ecs/app/{TASK_ID}",
    },
}
TASK = {
    "Cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/veda-prod",
    "TaskARN": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/veda-prod/{TASK_ID}",
    "Family": "veda-wfs3",
    "Revision": "7",
    "LaunchType": "FARGATE",
    "AvailabilityZone": f"{REGION}a",
}


@pytest.fixture
def metadata_server() -> Iterator[str]:
    class Metadata(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = {"/v4/abc": CONTAINER, "/v4/abc/task": TASK}.get(self.path)
            self.send_json(200 if body else 404, body or {})

    with serving(Metadata) as url:
        yield f"{url}/v4/abc"


def test_ecs_task_resource_reaches_the_collector(database_url: str, metadata_server: str) -> None:
    receiver = OtlpReceiver()
    receiver.start()
    env = {**otlp_env(receiver), "ECS_CONTAINER_METADATA_URI_V4": metadata_server}
    try:
        with running_server(database_url, **env) as server:
            response = httpx.get(f"{server.base}/conformance")
            [span] = [s for s in spans_of(receiver, trace_id_of(response)) if s.kind == SERVER_KIND]
    finally:
        receiver.stop()
    resource = span.resource
    assert resource["cloud.provider"] == "aws"
    assert resource["cloud.platform"] == "aws_ecs"
    assert resource["aws.ecs.cluster.arn"] == TASK["Cluster"]
    assert resource["aws.ecs.task.arn"] == TASK["TaskARN"]
    assert resource["aws.ecs.launchtype"] == "fargate"
    assert resource["aws.ecs.cluster.name"] == "veda-prod"
    assert resource["aws.ecs.task.id"] == TASK_ID
    assert resource["cloud.region"] == REGION
    assert resource["cloud.account.id"] == ACCOUNT
    assert resource["aws.log.group.names"] == ["/ecs/veda-wfs3"]


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (
            {
                "aws.ecs.cluster.arn": "arn:aws:ecs:eu-west-1:123:cluster/c1",
                "aws.ecs.task.arn": "arn:aws:ecs:eu-west-1:123:task/c1/abc",
            },
            {
                "aws.ecs.cluster.name": "c1",
                "aws.ecs.task.id": "abc",
                "cloud.region": "eu-west-1",
                "cloud.account.id": "123",
            },
        ),
        (  # the task ARN format from before 2018, without the cluster in it
            {"aws.ecs.task.arn": "arn:aws:ecs:eu-west-1:123:task/abc"},
            {"aws.ecs.task.id": "abc", "cloud.region": "eu-west-1", "cloud.account.id": "123"},
        ),
        ({}, {}),
    ],
)
def test_names_from_arns(attributes: dict[str, str], expected: dict[str, str]) -> None:
    assert ecs_names(attributes) == expected


def test_the_resource_hashes_once_and_as_the_sdk_would() -> None:
    """The OTLP encoders hash the resource of every span: ours keeps its hash, which is the
    hash (and the equality) the SDK's own Resource with the same attributes has."""
    resource = build_resource(on_ecs=False)
    assert isinstance(resource, StableResource)
    plain = Resource(resource.attributes, resource.schema_url)
    assert resource == plain and hash(resource) == hash(plain)
    assert resource._hash == hash(plain), "kept after the first hash"
    assert {resource: "spans"}[plain] == "spans", "the encoders' grouping finds it"

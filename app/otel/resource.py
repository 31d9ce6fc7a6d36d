"""Who is exporting: the OpenTelemetry Resource shared by traces, metrics and logs.

Defaults (service name, version, environment) are ours; OTEL_SERVICE_NAME and
OTEL_RESOURCE_ATTRIBUTES override them. On ECS the stock AwsEcsResourceDetector adds the task's
ARNs but not the cluster name or task id, which the collector's `{ClusterName}` / `{TaskId}`
templates read, so we derive those (and the region and account) from the ARNs it found.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.extension.aws.resource.ecs import AwsEcsResourceDetector
from opentelemetry.sdk.resources import (
    OTELResourceDetector,
    ProcessResourceDetector,
    Resource,
    ServiceInstanceIdResourceDetector,
)

from app import __version__

SERVICE_NAME = "veda-wfs3"
DEFAULT_ENVIRONMENT = "development"


def ecs_names(attributes: dict[str, Any]) -> dict[str, str]:
    """aws.ecs.cluster.name, aws.ecs.task.id, cloud.region and cloud.account.id from the ARNs.

    Cluster ARN: arn:aws:ecs:<region>:<account>:cluster/<cluster-name>
    Task ARN:    arn:aws:ecs:<region>:<account>:task/<cluster-name>/<task-id>
                 (or the old form arn:aws:ecs:<region>:<account>:task/<task-id>)
    """
    names: dict[str, str] = {}
    cluster_arn = str(attributes.get("aws.ecs.cluster.arn", ""))
    if ":cluster/" in cluster_arn:
        names["aws.ecs.cluster.name"] = cluster_arn.rsplit(":cluster/", 1)[1]
    task_arn = str(attributes.get("aws.ecs.task.arn", ""))
    if ":task/" in task_arn:
        names["aws.ecs.task.id"] = task_arn.rsplit("/", 1)[1]
        arn_parts = task_arn.split(":")
        names["cloud.region"], names["cloud.account.id"] = arn_parts[3], arn_parts[4]
    return names


def _ecs_resource() -> Resource:
    detected = AwsEcsResourceDetector().detect()
    return detected.merge(Resource(ecs_names(dict(detected.attributes))))


def build_resource(on_ecs: bool) -> Resource:
    """Our defaults < the OTEL_* environment < what ECS says about this task."""
    defaults: dict[str, Any] = {
        "service.name": SERVICE_NAME,
        "service.version": __version__,
        "deployment.environment": DEFAULT_ENVIRONMENT,
    }
    resource = (
        Resource.create(defaults)
        # One id and pid per process: each uvicorn worker is its own exporting instance.
        .merge(ServiceInstanceIdResourceDetector().detect())
        .merge(ProcessResourceDetector().detect())
        .merge(OTELResourceDetector().detect())
    )
    # Without ECS there is nothing to ask, and start-up must not wait on a metadata call.
    merged = resource.merge(_ecs_resource()) if on_ecs else resource
    return StableResource(merged.attributes, merged.schema_url)


class StableResource(Resource):
    """A Resource that computes its hash once.

    The OTLP encoders group every span, data point and log record by its resource, hashing it
    each time, and Resource.__hash__ writes all the attributes (the process's command line among
    them) as JSON: ~3.5 us of the ~40 us each span costs to encode for export (bench/README.md).
    A resource's attributes never change, so neither does its hash.
    """

    _hash: int | None = None

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = super().__hash__()
        return self._hash

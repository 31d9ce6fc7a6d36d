"""Validate rendered documents against the AWS API models shipped in botocore (no network).

botocore's own ParamValidator checks each request's shape: required members, types, enums and
length/range limits the model declares, as the SDK does before sending a call.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.session
from botocore.validate import ParamValidator


def validation_errors(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    model = botocore.session.get_session().get_service_model(service)
    shape = model.operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    return [f"{service}.{operation}: {line}" for line in report.generate_report().splitlines()]


def task_definition_request(
    containers: list[dict[str, Any]], family: str = "veda-wfs3"
) -> dict[str, Any]:
    """RegisterTaskDefinition as aws_ecs_task_definition sends it (ecs.tf's example values)."""
    return {
        "family": family,
        "containerDefinitions": containers,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "1024",
        "memory": "2048",
        "executionRoleArn": "arn:aws:iam::123456789012:role/veda-wfs3-production-execution",
        "taskRoleArn": "arn:aws:iam::123456789012:role/veda-wfs3-production-task",
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
    }


def sidecar_containers(documents: dict[str, Any], collector_memory: int = 256) -> list[Any]:
    """The app and the collector with its memory reservation, as ecs.tf composes them."""
    collector = {**documents["collector-container"], "memoryReservation": collector_memory}
    return [documents["app-container"], collector]


def policy_requests(documents: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """PutRolePolicy per role, as iam.tf sends them."""
    return {
        "execution": {
            "RoleName": "veda-wfs3-production-execution",
            "PolicyName": "start-containers",
            "PolicyDocument": json.dumps(documents["execution-policy"]),
        },
        "task": {
            "RoleName": "veda-wfs3-production-task",
            "PolicyName": "export-telemetry",
            "PolicyDocument": json.dumps(documents["collector-task-policy"]),
        },
    }


def all_errors(documents: dict[str, Any]) -> list[str]:
    """Every rendered document through the model of the call that sends it."""
    errors = validation_errors(
        "ecs", "RegisterTaskDefinition", task_definition_request(sidecar_containers(documents))
    )
    for request in policy_requests(documents).values():
        errors += validation_errors("iam", "PutRolePolicy", request)
    dashboard = {
        "DashboardName": "veda-wfs3-production",
        "DashboardBody": json.dumps(documents["dashboard"]),
    }
    errors += validation_errors("cloudwatch", "PutDashboard", dashboard)
    for alarm in documents["alarms"]:
        errors += validation_errors("cloudwatch", "PutMetricAlarm", alarm)
    errors += validation_errors("xray", "CreateGroup", documents["xray"]["Group"])
    errors += validation_errors(
        "xray", "CreateSamplingRule", {"SamplingRule": documents["xray"]["SamplingRule"]}
    )
    return errors

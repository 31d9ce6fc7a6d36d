"""Dry apply: the module's rendered documents created in moto's AWS, and read back.

moto stands in for IAM, ECS, CloudWatch, CloudWatch Logs and SSM (it has no X-Ray groups or
sampling rules; those two are checked against botocore's model in test_deploy.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from deploy import aws_models, render, terraform_files

REGION = "us-east-1"
ASSUME_ECS_TASKS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture(scope="module")
def documents() -> dict[str, Any]:
    return render.render_all()


def test_roles_and_their_policies(aws: None, documents: dict[str, Any]) -> None:
    iam = boto3.client("iam")
    for request in aws_models.policy_requests(documents).values():
        iam.create_role(
            RoleName=request["RoleName"], AssumeRolePolicyDocument=json.dumps(ASSUME_ECS_TASKS)
        )
        iam.put_role_policy(**request)
        back = iam.get_role_policy(RoleName=request["RoleName"], PolicyName=request["PolicyName"])
        assert back["PolicyDocument"] == json.loads(request["PolicyDocument"])


def test_task_definitions_sidecar_and_gateway(aws: None, documents: dict[str, Any]) -> None:
    ecs = boto3.client("ecs")
    sidecar = aws_models.task_definition_request(aws_models.sidecar_containers(documents))
    registered = ecs.register_task_definition(**sidecar)["taskDefinition"]
    app, collector = registered["containerDefinitions"]
    assert app["dependsOn"] == [{"containerName": "aws-otel-collector", "condition": "HEALTHY"}]
    assert app["secrets"] == [
        {"name": "DB_CONFIG", "valueFrom": documents["app-container"]["secrets"][0]["valueFrom"]}
    ]
    assert collector["secrets"][0]["name"] == "AOT_CONFIG_CONTENT"
    assert collector["healthCheck"]["command"] == ["CMD", "/healthcheck"]

    # Gateway: the app alone (no dependsOn), and the collector as its own task.
    gateway_app = {**documents["app-container"], "dependsOn": []}
    ecs.register_task_definition(**aws_models.task_definition_request([gateway_app]))
    ecs.register_task_definition(
        **aws_models.task_definition_request(
            [documents["collector-container"]], "veda-wfs3-collector"
        )
    )
    families = ecs.list_task_definition_families()["families"]
    assert set(families) == {"veda-wfs3", "veda-wfs3-collector"}
    described = ecs.describe_task_definition(taskDefinition="veda-wfs3")["taskDefinition"]
    assert described["revision"] == 2 and described["requiresCompatibilities"] == ["FARGATE"]


def test_dashboard_and_alarms(aws: None, documents: dict[str, Any]) -> None:
    cloudwatch = boto3.client("cloudwatch")
    body = json.dumps(documents["dashboard"])
    cloudwatch.put_dashboard(DashboardName="veda-wfs3-production", DashboardBody=body)
    stored = cloudwatch.get_dashboard(DashboardName="veda-wfs3-production")["DashboardBody"]
    assert json.loads(stored) == documents["dashboard"]

    for alarm in documents["alarms"]:
        cloudwatch.put_metric_alarm(**alarm)
    described = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert set(described) == {a["AlarmName"] for a in documents["alarms"]}
    for alarm in documents["alarms"]:
        back = described[alarm["AlarmName"]]
        assert back["Threshold"] == alarm["Threshold"]
        assert back["ComparisonOperator"] == alarm["ComparisonOperator"]
        assert [m["Id"] for m in back["Metrics"]] == [m["Id"] for m in alarm["Metrics"]]


def test_collector_config_parameter_and_log_groups(aws: None) -> None:
    ssm = boto3.client("ssm")
    config = terraform_files.collector_config_as_deployed()
    name = "/veda-wfs3/production/otel-config"
    tier = "Advanced" if len(config) > 4096 else "Standard"  # as collector.tf
    ssm.put_parameter(Name=name, Value=config, Type="String", Tier=tier)
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == config

    logs = boto3.client("logs")
    for group in (
        "/ecs/veda-wfs3/app",
        "/ecs/veda-wfs3/collector",
        "/veda-wfs3/production/metrics",
    ):
        logs.create_log_group(logGroupName=group)
        logs.put_retention_policy(logGroupName=group, retentionInDays=30)
    groups = logs.describe_log_groups()["logGroups"]
    assert {g["logGroupName"]: g["retentionInDays"] for g in groups} == {
        "/ecs/veda-wfs3/app": 30,
        "/ecs/veda-wfs3/collector": 30,
        "/veda-wfs3/production/metrics": 30,
    }

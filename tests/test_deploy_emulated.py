"""The emulated AWS that `make deploy-plan` applies the module to (deploy/emulated/gaps.py): moto
behind a server that answers what moto cannot. CloudWatch is called in the Smithy RPC v2 CBOR
protocol the Terraform provider speaks, serialized and parsed by botocore's own code for that
protocol (boto3's client itself picks CloudWatch's JSON protocol, which moto serves); the other
services with boto3."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import botocore.session
import httpx2 as httpx
import pytest
from botocore import parsers, serialize
from botocore.exceptions import ClientError

from deploy.emulated import gaps, shared

pytestmark = pytest.mark.server  # starts moto_server: left out of make test-fast

ALARM = {
    "AlarmName": "wfs3-p99",
    "Namespace": "veda-wfs3",
    "MetricName": "http.server.request.duration",
    "Statistic": "Average",
    "Period": 60,
    "EvaluationPeriods": 5,
    "DatapointsToAlarm": 3,
    "Threshold": 2.0,
    "ComparisonOperator": "GreaterThanThreshold",
    "TreatMissingData": "notBreaching",
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with gaps.emulated_aws() as (url, _moto, _state):
        yield url


SIGNED_FOR_CLOUDWATCH = (
    "AWS4-HMAC-SHA256 Credential=test/20261204/us-east-1/monitoring/aws4_request, "
    "SignedHeaders=host, Signature=0"
)


def cbor_call(endpoint: str, operation_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """One CloudWatch call as the provider makes it: CBOR to /service/…/operation/<name>."""
    model = botocore.session.get_session().get_service_model("cloudwatch")
    operation = model.operation_model(operation_name)
    request = serialize.create_serializer("smithy-rpc-v2-cbor").serialize_to_request(
        params, operation
    )
    # moto tells services apart by the signature's credential scope, which it does not verify.
    headers = {**request["headers"], "Authorization": SIGNED_FOR_CLOUDWATCH}
    answer = httpx.post(endpoint + request["url_path"], content=request["body"], headers=headers)
    parsed: dict[str, Any] = parsers.create_parser("smithy-rpc-v2-cbor").parse(
        {
            "status_code": answer.status_code,
            "headers": dict(answer.headers),
            "body": answer.content,
        },
        operation.output_shape,
    )
    if answer.status_code >= 300:
        raise ClientError(parsed, operation_name)  # type: ignore[arg-type]
    return parsed


def client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service, region_name=shared.REGION, endpoint_url=endpoint, **shared.CREDENTIALS
    )


def test_cloudwatch_speaks_the_providers_cbor_protocol(endpoint: str) -> None:
    cbor_call(endpoint, "PutMetricAlarm", {**ALARM, "Tags": [{"Key": "team", "Value": "veda"}]})
    [alarm] = cbor_call(endpoint, "DescribeAlarms", {"AlarmNames": ["wfs3-p99"]})["MetricAlarms"]
    assert {k: alarm[k] for k in ALARM} == ALARM
    assert isinstance(alarm["AlarmConfigurationUpdatedTimestamp"], datetime)
    tags = cbor_call(endpoint, "ListTagsForResource", {"ResourceARN": alarm["AlarmArn"]})["Tags"]
    assert tags == [{"Key": "team", "Value": "veda"}]
    cbor_call(endpoint, "DeleteAlarms", {"AlarmNames": ["wfs3-p99"]})
    assert cbor_call(endpoint, "DescribeAlarms", {"AlarmNames": ["wfs3-p99"]})["MetricAlarms"] == []


def test_cloudwatch_errors_keep_their_code(endpoint: str) -> None:
    cbor_call(endpoint, "PutDashboard", {"DashboardName": "wfs3", "DashboardBody": "{}"})
    got = cbor_call(endpoint, "GetDashboard", {"DashboardName": "wfs3"})
    assert got["DashboardBody"] == "{}"
    with pytest.raises(ClientError) as missing:
        cbor_call(endpoint, "GetDashboard", {"DashboardName": "none"})
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"


def test_xray_groups_and_sampling_rules_are_held_with_their_tags(endpoint: str) -> None:
    xray = client("xray", endpoint)
    group = xray.create_group(
        GroupName="wfs3", FilterExpression='service("wfs3")', Tags=[{"Key": "a", "Value": "b"}]
    )["Group"]
    assert xray.get_group(GroupARN=group["GroupARN"])["Group"]["FilterExpression"] == (
        'service("wfs3")'
    )
    assert xray.list_tags_for_resource(ResourceARN=group["GroupARN"])["Tags"] == [
        {"Key": "a", "Value": "b"}
    ]
    rule = {
        "RuleName": "wfs3", "Priority": 1000, "FixedRate": 0.1, "ReservoirSize": 1,
        "ServiceName": "wfs3", "ServiceType": "*", "Host": "*", "HTTPMethod": "*",
        "URLPath": "*", "ResourceARN": "*", "Version": 1,
    }  # fmt: skip
    xray.create_sampling_rule(SamplingRule=rule)
    xray.update_sampling_rule(SamplingRuleUpdate={"RuleName": "wfs3", "FixedRate": 0.5})
    [record] = xray.get_sampling_rules()["SamplingRuleRecords"]
    assert record["SamplingRule"]["FixedRate"] == 0.5
    xray.delete_group(GroupARN=group["GroupARN"])
    with pytest.raises(ClientError, match="Group not found"):
        xray.get_group(GroupARN=group["GroupARN"])


def ecs_service(endpoint: str, cluster: str, grace_seconds: int) -> Any:
    ecs = client("ecs", endpoint)
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family="wfs3", containerDefinitions=[{"name": "app", "image": "x", "memory": 512}]
    )
    ecs.create_service(
        cluster=cluster, serviceName="wfs3", taskDefinition="wfs3", desiredCount=1,
        healthCheckGracePeriodSeconds=grace_seconds,
    )  # fmt: skip
    return ecs


def test_autoscaling_tags_are_held_and_the_rest_is_motos(endpoint: str) -> None:
    ecs_service(endpoint, "scaling", 0)
    autoscaling = client("application-autoscaling", endpoint)
    target = autoscaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId="service/scaling/wfs3",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1,
        MaxCapacity=4,
        Tags={"team": "veda"},
    )
    arn = target["ScalableTargetARN"]
    autoscaling.tag_resource(ResourceARN=arn, Tags={"env": "test"})
    assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"env": "test"}
    [described] = autoscaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert described["MaxCapacity"] == 4


def test_an_ecs_services_grace_period_reads_back(endpoint: str) -> None:
    """moto drops it: without the gap filled, every second plan would set it again."""
    ecs = ecs_service(endpoint, "shared", 60)
    ecs_service(endpoint, "other", 90)  # the same service name in another cluster
    [service] = ecs.describe_services(cluster="shared", services=["wfs3"])["services"]
    assert service["healthCheckGracePeriodSeconds"] == 60
    ecs.update_service(cluster="shared", service="wfs3", healthCheckGracePeriodSeconds=30)
    [service] = ecs.describe_services(cluster="shared", services=["wfs3"])["services"]
    assert service["healthCheckGracePeriodSeconds"] == 30


def test_a_group_referencing_rules_description_reads_back(endpoint: str) -> None:
    """moto keeps it but never returns it: every second plan would set it again."""
    ec2 = client("ec2", endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    app, alb = (
        ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        for name in ("app", "alb")
    )
    created = ec2.authorize_security_group_ingress(
        GroupId=app,
        IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
            "UserIdGroupPairs": [{"GroupId": alb, "Description": "HTTP from the load balancer"}],
        }],
    )  # fmt: skip
    [rule_id] = [r["SecurityGroupRuleId"] for r in created["SecurityGroupRules"]]
    [rule] = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule_id])["SecurityGroupRules"]
    assert rule["Description"] == "HTTP from the load balancer"
    assert rule["ReferencedGroupInfo"]["GroupId"] == alb


def test_composite_alarms_are_held_with_their_tags(endpoint: str) -> None:
    cbor_call(endpoint, "PutMetricAlarm", {**ALARM, "AlarmName": "window"})
    rule = 'ALARM("window")'
    put = {"AlarmName": "pair", "AlarmRule": rule, "Tags": [{"Key": "a", "Value": "b"}]}
    cbor_call(endpoint, "PutCompositeAlarm", put)
    composites = {"AlarmNames": ["pair"], "AlarmTypes": ["CompositeAlarm"]}
    [composite] = cbor_call(endpoint, "DescribeAlarms", composites)["CompositeAlarms"]
    assert composite["AlarmRule"] == rule
    arn = {"ResourceARN": composite["AlarmArn"]}
    assert cbor_call(endpoint, "ListTagsForResource", arn)["Tags"] == [{"Key": "a", "Value": "b"}]
    cbor_call(endpoint, "DeleteAlarms", {"AlarmNames": ["pair", "window"]})
    assert not cbor_call(endpoint, "DescribeAlarms", composites)["CompositeAlarms"]
    assert not cbor_call(endpoint, "DescribeAlarms", {"AlarmNames": ["window"]})["MetricAlarms"]


def test_logs_query_definitions_are_held(endpoint: str) -> None:
    logs = client("logs", endpoint)
    created = logs.put_query_definition(
        name="wfs3/errors", queryString="fields @message", logGroupNames=["/ecs/wfs3/app"]
    )["queryDefinitionId"]
    [found] = logs.describe_query_definitions(queryDefinitionNamePrefix="wfs3/")["queryDefinitions"]
    assert found["queryDefinitionId"] == created and found["logGroupNames"] == ["/ecs/wfs3/app"]
    assert logs.delete_query_definition(queryDefinitionId=created)["success"] is True
    assert not logs.describe_query_definitions(queryDefinitionNamePrefix="wfs3/")[
        "queryDefinitions"
    ]

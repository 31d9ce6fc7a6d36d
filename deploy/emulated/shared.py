"""The shared infrastructure deploy/terraform expects to exist, created in moto with boto3: a VPC
with two subnets, an Application Load Balancer with an HTTP listener and its security group, an
ECS cluster, an SNS topic for alarms and the database secret. Returns the module's inputs."""

from __future__ import annotations

import json
from typing import Any

import boto3

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
NAME = "shared"


def _client(service: str, moto_url: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=moto_url, **CREDENTIALS)


def create(moto_url: str) -> dict[str, Any]:
    ec2 = _client("ec2", moto_url)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")
        for i, z in ((1, "a"), (2, "b"))
    ]
    subnet_ids = [s["Subnet"]["SubnetId"] for s in subnets]
    alb_group = ec2.create_security_group(GroupName=f"{NAME}-alb", Description="ALB", VpcId=vpc)
    return {
        "cluster_name": _cluster(moto_url),
        "vpc_id": vpc,
        "subnet_ids": subnet_ids,
        "alb_listener_arn": _listener(moto_url, subnet_ids, alb_group["GroupId"]),
        "alb_security_group_id": alb_group["GroupId"],
        "alarm_actions": [_topic(moto_url)],
        "db_config_secret_arn": _secret(moto_url),
        "app_image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/veda-wfs3:1.0.0",
    }


def _cluster(moto_url: str) -> str:
    cluster: str = _client("ecs", moto_url).create_cluster(clusterName=NAME)["cluster"][
        "clusterName"
    ]
    return cluster


def _listener(moto_url: str, subnet_ids: list[str], group_id: str) -> str:
    elb = _client("elbv2", moto_url)
    balancer = elb.create_load_balancer(
        Name=NAME, Subnets=subnet_ids, SecurityGroups=[group_id], Scheme="internet-facing"
    )["LoadBalancers"][0]
    listener = elb.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{
            "Type": "fixed-response",
            "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"},
        }],
    )  # fmt: skip
    arn: str = listener["Listeners"][0]["ListenerArn"]
    return arn


def _topic(moto_url: str) -> str:
    arn: str = _client("sns", moto_url).create_topic(Name=f"{NAME}-alarms")["TopicArn"]
    return arn


def _secret(moto_url: str) -> str:
    value = {
        "username": "wfs3_reader",
        "password": "x",
        "host": "db",
        "port": 5432,
        "dbname": "wfs3",
    }
    secret = _client("secretsmanager", moto_url).create_secret(
        Name="veda-wfs3/db-config", SecretString=json.dumps(value)
    )
    arn: str = secret["ARN"]
    return arn

# The module's contracts, checked by OpenTofu's own test framework with a mocked AWS provider (no
# AWS calls; the provider binary is needed for its schema). Run by `make deploy-plan`
# (deploy/emulated/run.py), which passes expected_collector_config: the collector configuration
# as deploy/terraform_files.py renders it for the Python tests.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { region = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_vpc" {
    defaults = { cidr_block = "10.0.0.0/16" }
  }
  mock_data "aws_lb_listener" {
    defaults = { load_balancer_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shared/50dc6c495c0c9188" }
  }
  mock_data "aws_lb" {
    defaults = { arn_suffix = "app/shared/50dc6c495c0c9188" }
  }
  # The provider validates these as ARNs or policies even when mocked: valid shapes, fake ids.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"ecs-tasks.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}"
    }
  }
  mock_resource "aws_lb_target_group" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/veda-wfs3-production/73e2d6bc24d8a067"
      arn_suffix = "targetgroup/veda-wfs3-production/73e2d6bc24d8a067"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/veda-wfs3-mock" }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/veda-wfs3:1" }
  }
  mock_resource "aws_service_discovery_service" {
    defaults = { arn = "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-mock" }
  }
  mock_resource "aws_ssm_parameter" {
    defaults = { arn = "arn:aws:ssm:us-east-1:123456789012:parameter/veda-wfs3/production/otel-config" }
  }
}

variables {
  app_image             = "123456789012.dkr.ecr.us-east-1.amazonaws.com/veda-wfs3:1.0.0"
  cluster_name          = "shared"
  vpc_id                = "vpc-0123456789abcdef0"
  subnet_ids            = ["subnet-0a", "subnet-0b"]
  alb_listener_arn      = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/50dc6c495c0c9188/f2f7dc8efc522ab2"
  alb_security_group_id = "sg-0alb"
  db_config_secret_arn  = "arn:aws:secretsmanager:us-east-1:123456789012:secret:veda-wfs3/db-config-AbCdEf"
  db_max_connections    = 400
  freshness_alarms      = { "public.fire_detections" = 86400 }
}

run "alarms_are_keyed_by_names_known_at_plan_time_sidecar" {
  command = plan
  assert {
    condition = sort(concat(keys(aws_cloudwatch_metric_alarm.this), keys(aws_cloudwatch_metric_alarm.stale_data))) == sort([
      "veda-wfs3-production-no-healthy-task", "public.fire_detections",
    ])
    error_message = "alarm keys: ${jsonencode(keys(aws_cloudwatch_metric_alarm.this))}"
  }
  assert {
    condition = sort(keys(aws_cloudwatch_metric_alarm.slo_window)) == sort([
      for pair in setproduct(["availability", "latency"], ["1h", "5m", "6h", "30m"]) : "veda-wfs3-production-slo-${pair[0]}-${pair[1]}"
    ])
    error_message = "SLO window alarms: ${jsonencode(keys(aws_cloudwatch_metric_alarm.slo_window))}"
  }
  assert {
    condition     = length(aws_cloudwatch_composite_alarm.slo) == 4 && length(aws_cloudwatch_query_definition.this) == 4
    error_message = "composite alarms: ${jsonencode(keys(aws_cloudwatch_composite_alarm.slo))}"
  }
}

run "alarms_are_keyed_by_names_known_at_plan_time_gateway" {
  command = plan
  variables {
    collector_mode = "gateway"
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 1 && length(aws_cloudwatch_metric_alarm.slo_window) == 8
    error_message = "alarm keys: ${jsonencode(keys(aws_cloudwatch_metric_alarm.slo_window))}"
  }
}

run "burn_rate_thresholds_follow_the_objectives" {
  command = plan
  variables {
    availability_objective = 0.995
    latency_objective      = 0.98
  }
  assert {
    condition = alltrue([
      for name, alarm in aws_cloudwatch_metric_alarm.slo_window :
      alarm.threshold == (length(regexall("-(1h|5m)$", name)) > 0 ? 14.4 : 6) * (1 - (length(regexall("-availability-", name)) > 0 ? 0.995 : 0.98))
    ])
    error_message = "thresholds: ${jsonencode({ for n, a in aws_cloudwatch_metric_alarm.slo_window : n => a.threshold })}"
  }
  assert {
    condition = alltrue(flatten([
      for name, alarm in aws_cloudwatch_metric_alarm.slo_window : [
        for query in alarm.metric_query : [
          for metric in query.metric : metric.period == lookup({ "1h" = 3600, "5m" = 300, "6h" = 21600, "30m" = 1800 }, regex("-([0-9]+[mh])$", name)[0])
        ]
      ]
    ]))
    error_message = "each window's metrics are aggregated over the whole window"
  }
}

run "every_alarm_links_a_runbook_heading" {
  command = plan
  assert {
    condition = alltrue([
      for description in concat(
        [for a in aws_cloudwatch_metric_alarm.this : a.alarm_description],
        [for a in aws_cloudwatch_metric_alarm.stale_data : a.alarm_description],
        [for a in aws_cloudwatch_metric_alarm.slo_window : a.alarm_description],
        [for a in aws_cloudwatch_composite_alarm.slo : a.alarm_description],
      ) :
      contains(
        [for heading in regexall("(?m)^## ([a-z0-9-]+)$", file("../../docs/runbooks.md")) : heading[0]],
        regex("Runbook: docs/runbooks.md#([a-z0-9-]+)$", description)[0]
      )
    ])
    error_message = "an alarm's runbook link names no heading of docs/runbooks.md"
  }
}

run "composite_rules_name_existing_window_alarms" {
  command = plan
  assert {
    condition = alltrue(flatten([
      for alarm in aws_cloudwatch_composite_alarm.slo : [
        for name in regexall("ALARM\\(\"([^\"]+)\"\\)", alarm.alarm_rule) : contains(keys(aws_cloudwatch_metric_alarm.slo_window), name[0])
      ]
    ]))
    error_message = "a composite rule names an alarm that does not exist"
  }
  assert {
    condition     = alltrue([for alarm in aws_cloudwatch_composite_alarm.slo : length(regexall("ALARM\\(", alarm.alarm_rule)) == 2 && strcontains(alarm.alarm_rule, " AND ")])
    error_message = "each composite needs both of its windows"
  }
}

run "sidecar_environment" {
  command = plan
  assert {
    condition = {
      for e in jsondecode(aws_ecs_task_definition.app.container_definitions)[0].environment : e.name => e.value
      if startswith(e.name, "OTEL_") || startswith(e.name, "WFS3_XRAY") || e.name == "DB_PROXY_HOST"
      } == {
      OTEL_SERVICE_NAME           = "veda-wfs3"
      OTEL_RESOURCE_ATTRIBUTES    = "deployment.environment=production"
      OTEL_EXPORTER_OTLP_ENDPOINT = "http://127.0.0.1:4317"
      OTEL_EXPORTER_OTLP_PROTOCOL = "grpc"
      OTEL_TRACES_SAMPLER         = "xray"
      OTEL_TRACES_SAMPLER_ARG     = "0.1"
      WFS3_XRAY_SAMPLING_ENDPOINT = "http://127.0.0.1:2000"
    }
    error_message = "app environment: ${aws_ecs_task_definition.app.container_definitions}"
  }
  assert {
    condition     = length(jsondecode(aws_ecs_task_definition.app.container_definitions)) == 2
    error_message = "the sidecar runs in the app's task"
  }
}

run "gateway_environment_and_proxy_host" {
  command = plan
  variables {
    collector_mode    = "gateway"
    db_proxy_endpoint = "wfs3.proxy-abc.us-east-1.rds.amazonaws.com"
  }
  assert {
    condition = {
      for e in jsondecode(aws_ecs_task_definition.app.container_definitions)[0].environment : e.name => e.value
      if contains(["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER", "WFS3_XRAY_SAMPLING_ENDPOINT", "DB_PROXY_HOST"], e.name)
      } == {
      OTEL_EXPORTER_OTLP_ENDPOINT = "http://collector.veda-wfs3.internal:4317"
      OTEL_TRACES_SAMPLER         = "xray"
      WFS3_XRAY_SAMPLING_ENDPOINT = "http://collector.veda-wfs3.internal:2000"
      DB_PROXY_HOST               = "wfs3.proxy-abc.us-east-1.rds.amazonaws.com"
    }
    error_message = "app environment: ${aws_ecs_task_definition.app.container_definitions}"
  }
  assert {
    condition     = length(jsondecode(aws_ecs_task_definition.app.container_definitions)) == 1
    error_message = "in gateway mode the app's task has no collector"
  }
}

run "the_collector_configuration_is_the_one_the_tests_render" {
  command = plan
  assert {
    condition     = jsondecode(aws_ssm_parameter.collector_config.value) == jsondecode(var.expected_collector_config)
    error_message = "the SSM parameter differs from deploy/terraform_files.py's collector_config_as_deployed()"
  }
}

run "too_few_database_connections_are_refused" {
  command = plan
  variables {
    db_max_connections = 199 # the defaults' peak is 10 x 1 x 10 x 2 = 200
  }
  expect_failures = [aws_ecs_service.app]
}

run "just_enough_database_connections_are_accepted" {
  command = plan
  variables {
    db_max_connections = 200
  }
}

run "gateway_ports_open_to_the_service_only" {
  command = apply
  variables {
    collector_mode = "gateway"
  }
  assert {
    condition     = sort(keys(aws_vpc_security_group_ingress_rule.collector_otlp)) == tolist(["2000", "4317", "4318"])
    error_message = "collector ports: ${jsonencode(keys(aws_vpc_security_group_ingress_rule.collector_otlp))}"
  }
  assert {
    condition = alltrue([
      for rule in aws_vpc_security_group_ingress_rule.collector_otlp :
      rule.referenced_security_group_id == aws_security_group.app.id && rule.cidr_ipv4 == null && rule.cidr_ipv6 == null
      && rule.security_group_id == aws_security_group.collector[0].id
    ])
    error_message = "a collector port is open to something other than the service's security group"
  }
}

# Log groups, the dashboard, the alarms, and the X-Ray group and sampling rule. Every JSON body
# comes from templates/ (rendered in locals.tf), the same files `make deploy-check` validates.

resource "aws_cloudwatch_log_group" "this" {
  for_each          = toset([local.app_log_group, local.collector_log_group, local.metrics_log_group])
  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${var.name}-${var.environment}"
  dashboard_body = local.rendered["dashboard"]
}

locals {
  # Rendered from local.alarm_vars alone, so that names and shapes are known at plan time.
  alarms = {
    for alarm in jsondecode(templatefile("${path.module}/templates/alarms.json.tftpl", local.alarm_vars)) :
    alarm.AlarmName => alarm
  }
  # What the placeholders of local.alarm_vars stand for.
  alarm_dimension_values = {
    (local.alarm_vars.load_balancer) = data.aws_lb.this.arn_suffix
    (local.alarm_vars.target_group)  = aws_lb_target_group.app.arn_suffix
  }
  xray = jsondecode(local.rendered["xray"])
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each            = local.alarms
  alarm_name          = each.value.AlarmName
  alarm_description   = each.value.AlarmDescription
  comparison_operator = each.value.ComparisonOperator
  threshold           = each.value.Threshold
  evaluation_periods  = each.value.EvaluationPeriods
  datapoints_to_alarm = each.value.DatapointsToAlarm
  treat_missing_data  = each.value.TreatMissingData
  actions_enabled     = each.value.ActionsEnabled
  alarm_actions       = each.value.AlarmActions
  ok_actions          = each.value.OKActions

  dynamic "metric_query" {
    for_each = each.value.Metrics
    content {
      id          = metric_query.value.Id
      label       = lookup(metric_query.value, "Label", null)
      return_data = metric_query.value.ReturnData
      expression  = lookup(metric_query.value, "Expression", null)

      dynamic "metric" {
        for_each = can(metric_query.value.MetricStat) ? [metric_query.value.MetricStat] : []
        content {
          namespace   = metric.value.Metric.Namespace
          metric_name = metric.value.Metric.MetricName
          period      = metric.value.Period
          stat        = metric.value.Stat
          dimensions  = { for d in metric.value.Metric.Dimensions : d.Name => lookup(local.alarm_dimension_values, d.Value, d.Value) }
        }
      }
    }
  }
  tags = var.tags
}

# One alarm per collection named in var.freshness_alarms: its newest row is too old, as every
# task saw it at its last catalog load (Minimum: one task with an older catalog does not fire it).
resource "aws_cloudwatch_metric_alarm" "stale_data" {
  for_each            = var.freshness_alarms
  alarm_name          = "${var.name}-${var.environment}-stale-${each.key}"
  alarm_description   = "The newest row of ${each.key} has been older than ${each.value} s for 15 minutes (ogc.collection.data_age): the pipeline that loads it may have stopped. Runbook: ${var.runbook_url}#stale-data"
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  treat_missing_data  = "missing"
  namespace           = var.metrics_namespace
  metric_name         = "ogc.collection.data_age"
  statistic           = "Minimum"
  period              = 300
  dimensions = {
    "service.name"           = var.name
    "deployment.environment" = var.environment
    "ogc.collection.id"      = each.key
  }
  alarm_actions = var.alarm_actions
  ok_actions    = var.alarm_actions
  tags          = var.tags
}

resource "aws_xray_group" "this" {
  group_name        = local.xray.Group.GroupName
  filter_expression = local.xray.Group.FilterExpression
  insights_configuration {
    insights_enabled      = local.xray.Group.InsightsConfiguration.InsightsEnabled
    notifications_enabled = local.xray.Group.InsightsConfiguration.NotificationsEnabled
  }
  tags = var.tags
}

# The rule that decides which of the service's new traces are sampled: the service runs
# OTEL_TRACES_SAMPLER=xray (app/otel/xray_sampler.py), which polls the rules through the
# collector's awsproxy and matches them on exactly these fields (tests/test_xray_sampling.py
# checks this one against it). Changing its rate in the console reaches every task within one
# SamplingTargets interval (10 s).
resource "aws_xray_sampling_rule" "this" {
  rule_name      = local.xray.SamplingRule.RuleName
  priority       = local.xray.SamplingRule.Priority
  fixed_rate     = local.xray.SamplingRule.FixedRate
  reservoir_size = local.xray.SamplingRule.ReservoirSize
  service_name   = local.xray.SamplingRule.ServiceName
  service_type   = local.xray.SamplingRule.ServiceType
  host           = local.xray.SamplingRule.Host
  http_method    = local.xray.SamplingRule.HTTPMethod
  url_path       = local.xray.SamplingRule.URLPath
  resource_arn   = local.xray.SamplingRule.ResourceARN
  version        = local.xray.SamplingRule.Version
  tags           = var.tags
}

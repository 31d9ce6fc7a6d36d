output "service_name" {
  value = aws_ecs_service.app.name
}

output "task_definition_arn" {
  value = aws_ecs_task_definition.app.arn
}

output "target_group_arn" {
  value = aws_lb_target_group.app.arn
}

output "task_role_arn" {
  description = "Carries the collector's X-Ray and CloudWatch permissions in sidecar mode."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  value = aws_iam_role.execution.arn
}

output "collector_role_arn" {
  description = "The collector gateway's task role (gateway mode only)."
  value       = local.gateway ? aws_iam_role.collector[0].arn : null
}

output "otlp_endpoint" {
  description = "Where the service sends its telemetry."
  value       = local.otlp_endpoint
}

output "dashboard_url" {
  value = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.this.dashboard_name}"
}

output "alarm_names" {
  value = concat(
    [for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_name],
    [for alarm in aws_cloudwatch_metric_alarm.stale_data : alarm.alarm_name],
  )
}

output "metrics_log_group" {
  description = "EMF log group the collector writes the service's metrics to."
  value       = local.metrics_log_group
}

output "xray_group_name" {
  value = aws_xray_group.this.group_name
}

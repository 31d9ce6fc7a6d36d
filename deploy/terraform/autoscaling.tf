# Target tracking on two signals; whichever asks for more tasks wins.

resource "aws_appautoscaling_target" "app" {
  service_namespace  = "ecs"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.app.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

locals {
  scaling_signals = {
    requests-per-task = {
      target = var.target_requests_per_task
      metric = "ALBRequestCountPerTarget"
      label  = "${data.aws_lb.this.arn_suffix}/${aws_lb_target_group.app.arn_suffix}"
    }
    cpu = {
      target = var.target_cpu_percent
      metric = "ECSServiceAverageCPUUtilization"
      label  = null # a service-level metric: no load balancer label
    }
  }
}

resource "aws_appautoscaling_policy" "app" {
  for_each           = local.scaling_signals
  name               = "${var.name}-${each.key}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app.service_namespace
  resource_id        = aws_appautoscaling_target.app.resource_id
  scalable_dimension = aws_appautoscaling_target.app.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = each.value.target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = each.value.metric
      resource_label         = each.value.label
    }
  }
}

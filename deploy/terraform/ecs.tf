# The service: task definition (app + ADOT sidecar, or app alone in gateway mode), ECS service
# behind the existing load balancer, its target group, listener rule and security group.

resource "aws_ecs_task_definition" "app" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode(concat(
    [jsondecode(local.rendered["app-container"])],
    local.gateway ? [] : [merge(jsondecode(local.rendered["collector-container"]), { memoryReservation = var.collector_memory })],
  ))
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  tags = var.tags
}

resource "aws_lb_target_group" "app" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer's HTTPS listener; the hop to the task stays inside the VPC, allowed only from the load balancer's security group
  name                 = substr("${var.name}-${var.environment}", 0, 32)
  port                 = local.app_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30 # > uvicorn's 8 s graceful shutdown; < the container's stopTimeout + drain

  # /healthz, not /readyz: ECS replaces tasks that fail this check, and a database outage must
  # not make it replace every task. Without the database the service answers 503 JSON itself.
  health_check {
    path                = "/healthz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
  tags = var.tags
}

resource "aws_lb_listener_rule" "app" {
  listener_arn = var.alb_listener_arn
  priority     = var.listener_rule_priority

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }

  condition {
    path_pattern {
      values = var.path_patterns
    }
  }

  dynamic "condition" {
    for_each = length(var.host_headers) > 0 ? [var.host_headers] : []
    content {
      host_header {
        values = condition.value
      }
    }
  }
  tags = var.tags
}

resource "aws_security_group" "app" {
  name        = "${var.name}-${var.environment}-tasks"
  description = "Tasks of ${var.name}: HTTP from the load balancer only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "app_from_alb" {
  security_group_id            = aws_security_group.app.id
  description                  = "HTTP from the load balancer"
  referenced_security_group_id = var.alb_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = local.app_port
  to_port                      = local.app_port
}

resource "aws_vpc_security_group_egress_rule" "app_https" {
  security_group_id = aws_security_group.app.id
  description       = "HTTPS to ECR, Secrets Manager, SSM, X-Ray and CloudWatch (endpoints or NAT)"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "app_database" {
  security_group_id = aws_security_group.app.id
  description       = "PostgreSQL inside the VPC"
  cidr_ipv4         = data.aws_vpc.this.cidr_block
  ip_protocol       = "tcp"
  from_port         = var.database_port
  to_port           = var.database_port
}

resource "aws_vpc_security_group_ingress_rule" "database_from_app" {
  count                        = var.database_security_group_id == null ? 0 : 1
  security_group_id            = var.database_security_group_id
  description                  = "PostgreSQL from ${var.name}"
  referenced_security_group_id = aws_security_group.app.id
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
}

resource "aws_ecs_service" "app" {
  name                              = var.name
  cluster                           = var.cluster_name
  task_definition                   = aws_ecs_task_definition.app.arn
  desired_count                     = var.desired_count
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = 60
  deployment_maximum_percent        = local.deployment_maximum_percent
  propagate_tags                    = "SERVICE"
  enable_execute_command            = false

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.app.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.app.arn
    container_name   = local.app_container
    container_port   = local.app_port
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [desired_count] # autoscaling owns it after creation
    precondition {
      condition     = local.peak_db_connections <= var.db_max_connections
      error_message = "At peak the service holds db_pool_max_size x web_concurrency x max_tasks x 2 (during a deployment) = ${local.peak_db_connections} database connections, more than db_max_connections (${var.db_max_connections}). Lower the pool or max_tasks, raise the database's limit, or put RDS Proxy in front (deploy/README.md)."
    }
  }

  depends_on = [aws_lb_listener_rule.app, aws_iam_role_policy.execution]
  tags       = var.tags
}

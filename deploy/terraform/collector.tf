# The collector's configuration (otel-config.yaml), and in gateway mode the collector's own ECS
# service, reached by the app tasks at collector.<name>.internal over the VPC.

resource "aws_ssm_parameter" "collector_config" {
  #checkov:skip=CKV2_AWS_34:the collector configuration holds no secret (what differs per deployment comes from environment variables)
  name        = "/${var.name}/${var.environment}/otel-config"
  description = "ADOT collector configuration of ${var.name} (otel-config.yaml and collector/ecs-task-metrics.yaml)"
  type        = "String"
  tier        = length(local.collector_config) > 4096 ? "Advanced" : "Standard"
  value       = local.collector_config
  tags        = var.tags
}

resource "aws_service_discovery_private_dns_namespace" "collector" {
  count       = local.gateway ? 1 : 0
  name        = "${var.name}.internal"
  description = "Names of ${var.name}'s collector gateway"
  vpc         = var.vpc_id
  tags        = var.tags
}

resource "aws_service_discovery_service" "collector" {
  count = local.gateway ? 1 : 0
  name  = "collector"
  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.collector[0].id
    routing_policy = "MULTIVALUE"
    dns_records {
      type = "A"
      ttl  = 10
    }
  }
  # No health_check_custom_config: provider v6 never sends an empty block (only a
  # failure_threshold, which is deprecated and warns), so `{}` created the service without it and
  # planned its replacement forever (hashicorp/terraform-provider-aws#44285; found by
  # make deploy-plan's second plan). ECS deregisters the instances of stopped tasks, and the
  # collector's container health check replaces a failing task.
  tags = var.tags
}

resource "aws_ecs_task_definition" "collector" {
  count                    = local.gateway ? 1 : 0
  family                   = "${var.name}-collector"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.collector[0].arn
  container_definitions    = jsonencode([jsondecode(local.rendered["collector-container"])])
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  tags = var.tags
}

resource "aws_security_group" "collector" {
  count       = local.gateway ? 1 : 0
  name        = "${var.name}-${var.environment}-collector"
  description = "Collector gateway of ${var.name}: OTLP from the service's tasks only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "collector_otlp" {
  for_each                     = local.gateway ? toset([for p in local.gateway_ports : tostring(p)]) : toset([])
  security_group_id            = aws_security_group.collector[0].id
  description                  = "OTLP and X-Ray sampling from ${var.name}"
  referenced_security_group_id = aws_security_group.app.id
  ip_protocol                  = "tcp"
  from_port                    = tonumber(each.value)
  to_port                      = tonumber(each.value)
}

resource "aws_vpc_security_group_egress_rule" "collector_https" {
  count             = local.gateway ? 1 : 0
  security_group_id = aws_security_group.collector[0].id
  description       = "HTTPS to X-Ray and CloudWatch"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "app_to_collector" {
  for_each                     = local.gateway ? toset([for p in local.gateway_ports : tostring(p)]) : toset([])
  security_group_id            = aws_security_group.app.id
  description                  = "OTLP and X-Ray sampling to the collector gateway"
  referenced_security_group_id = aws_security_group.collector[0].id
  ip_protocol                  = "tcp"
  from_port                    = tonumber(each.value)
  to_port                      = tonumber(each.value)
}

resource "aws_ecs_service" "collector" {
  count            = local.gateway ? 1 : 0
  name             = "${var.name}-collector"
  cluster          = var.cluster_name
  task_definition  = aws_ecs_task_definition.collector[0].arn
  desired_count    = var.gateway_collector_count
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  propagate_tags   = "SERVICE"

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.collector[0].id]
    assign_public_ip = false
  }

  service_registries {
    registry_arn = aws_service_discovery_service.collector[0].arn
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  tags = var.tags
}

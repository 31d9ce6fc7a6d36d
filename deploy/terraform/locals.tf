data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_vpc" "this" {
  id = var.vpc_id
}

data "aws_lb_listener" "this" {
  arn = var.alb_listener_arn
}

data "aws_lb" "this" {
  arn = data.aws_lb_listener.this.load_balancer_arn
}

locals {
  region    = data.aws_region.current.region
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  gateway   = var.collector_mode == "gateway"

  app_container       = "app"
  collector_container = "aws-otel-collector"
  app_port            = 8080

  # A rolling deployment runs up to twice the tasks (ECS's maximumPercent, set on the service),
  # each with its workers' pools: the most connections the service can hold at once.
  deployment_maximum_percent = 200
  peak_db_connections        = var.db_pool_max_size * var.web_concurrency * ceil(var.max_tasks * local.deployment_maximum_percent / 100)

  app_log_group       = "/ecs/${var.name}/app"
  collector_log_group = "/ecs/${var.name}/collector"
  # otel-config.yaml's WFS3_METRICS_LOG_GROUP: the awsemf exporter writes the metrics here.
  metrics_log_group = "/${var.name}/${var.environment}/metrics"

  collector_dns_name = "collector.${var.name}.internal"
  collector_host     = local.gateway ? local.collector_dns_name : "127.0.0.1"
  otlp_endpoint      = "http://${local.collector_host}:4317"
  # What the app tasks reach the gateway on: OTLP gRPC and HTTP, and awsproxy (X-Ray sampling).
  gateway_ports = [4317, 4318, 2000]

  image_parts        = regex("^([0-9]{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com/([^:@]+)", var.app_image)
  ecr_repository_arn = "arn:${local.partition}:ecr:${local.image_parts[1]}:${local.image_parts[0]}:repository/${local.image_parts[2]}"

  log_group_arn_prefix  = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:"
  metrics_log_group_arn = "${local.log_group_arn_prefix}${local.metrics_log_group}"

  # The collector's configuration: otel-config.yaml with the ECS task-metrics overlay merged in
  # (collector/ecs-task-metrics.yaml adds a receiver, processors and a pipeline), as one compact
  # JSON document (JSON is YAML): ECS hands it to ADOT as AOT_CONFIG_CONTENT, which is a single
  # document. deploy/terraform_files.py builds the same for the tests.
  collector_base = yamldecode(file("${path.module}/../../otel-config.yaml"))
  collector_ecs  = yamldecode(file("${path.module}/../../collector/ecs-task-metrics.yaml"))
  collector_config = jsonencode(merge(local.collector_base, {
    receivers  = merge(local.collector_base.receivers, local.collector_ecs.receivers)
    processors = merge(local.collector_base.processors, local.collector_ecs.processors)
    service = merge(local.collector_base.service, {
      pipelines = merge(local.collector_base.service.pipelines, local.collector_ecs.service.pipelines)
    })
  }))

  # The service's environment: variables it reads (README, Settings and Telemetry).
  app_environment = merge({
    OTEL_SERVICE_NAME           = var.name
    OTEL_RESOURCE_ATTRIBUTES    = "deployment.environment=${var.environment}"
    OTEL_EXPORTER_OTLP_ENDPOINT = local.otlp_endpoint
    OTEL_EXPORTER_OTLP_PROTOCOL = "grpc"
    # X-Ray's sampling rules (monitoring.tf's, and any added in the console) decide, read through
    # the collector's awsproxy; the ratio is what the service samples while it cannot read them.
    OTEL_TRACES_SAMPLER         = "xray"
    OTEL_TRACES_SAMPLER_ARG     = tostring(var.traces_sampler_ratio)
    WFS3_XRAY_SAMPLING_ENDPOINT = "http://${local.collector_host}:2000"
    # The load balancer's nodes are in the VPC: only they may set X-Forwarded-* headers.
    FORWARDED_ALLOW_IPS   = data.aws_vpc.this.cidr_block
    WEB_CONCURRENCY       = tostring(var.web_concurrency)
    WFS3_DB_POOL_MAX_SIZE = tostring(var.db_pool_max_size)
    HOST                  = "0.0.0.0"
    PORT                  = tostring(local.app_port)
  }, var.db_proxy_endpoint == null ? {} : { DB_PROXY_HOST = var.db_proxy_endpoint }, var.environment_variables)

  collector_environment = {
    AWS_REGION             = local.region
    WFS3_METRICS_NAMESPACE = var.metrics_namespace
    WFS3_METRICS_LOG_GROUP = local.metrics_log_group
    # A sidecar listens on the task's loopback only; a gateway on the VPC.
    OTELCOL_LISTEN = local.gateway ? "0.0.0.0" : "127.0.0.1"
  }

  # Every JSON document of the module is a template under templates/, rendered with one of these
  # maps. `make deploy-check` renders the same templates with deploy/example-values.json, whose
  # keys must match these (deploy/check.py compares them), and validates the results.
  template_vars = {
    "app-container" = {
      name                 = local.app_container
      image                = var.app_image
      port                 = local.app_port
      environment          = [for k, v in local.app_environment : { name = k, value = v }]
      db_config_secret_arn = var.db_config_secret_arn
      container_depends_on = local.gateway ? [] : [{ containerName = local.collector_container, condition = "HEALTHY" }]
      log_group            = local.app_log_group
      region               = local.region
    }
    "collector-container" = {
      name                 = local.collector_container
      image                = var.collector_image
      port_mappings        = local.gateway ? [for p in local.gateway_ports : { containerPort = p, hostPort = p, protocol = "tcp" }] : []
      environment          = [for k, v in local.collector_environment : { name = k, value = v }]
      config_parameter_arn = aws_ssm_parameter.collector_config.arn
      log_group            = local.collector_log_group
      region               = local.region
    }
    "collector-task-policy" = {
      metrics_namespace     = var.metrics_namespace
      metrics_log_group_arn = local.metrics_log_group_arn
    }
    "execution-policy" = {
      ecr_repository_arns = [local.ecr_repository_arn]
      container_log_stream_arns = [
        for group in [local.app_log_group, local.collector_log_group] :
        "${local.log_group_arn_prefix}${group}:log-stream:*"
      ]
      db_config_secret_arn           = var.db_config_secret_arn
      collector_config_parameter_arn = aws_ssm_parameter.collector_config.arn
    }
    "dashboard" = {
      region        = local.region
      service_name  = var.name
      environment   = var.environment
      namespace     = var.metrics_namespace
      load_balancer = data.aws_lb.this.arn_suffix
      target_group  = aws_lb_target_group.app.arn_suffix
      cluster_name  = var.cluster_name
      ecs_service   = var.name
      xray_group    = var.name
      # The SLO widgets' budgets (slo.tf has the alarms on the same ratios).
      availability_budget       = 1 - var.availability_objective
      latency_budget            = 1 - var.latency_objective
      latency_threshold_seconds = var.latency_threshold_seconds
      slo_window_days           = var.slo_window_days
    }
    "alarms" = local.alarm_vars
    "xray" = {
      group_name   = var.name
      rule_name    = substr(var.name, 0, 32)
      service_name = var.name
      fixed_rate   = var.traces_sampler_ratio
    }
  }

  # The alarms are a for_each keyed by their names, which Terraform needs at plan time: every
  # variable here is known then. The two dimension values that exist only after apply (the load
  # balancer's and target group's ARN suffixes) are placeholders, replaced in monitoring.tf.
  # deploy/plan_time.py (a test of make test) refuses a for_each or count that is not known.
  alarm_vars = {
    prefix        = "${var.name}-${var.environment}"
    load_balancer = "load-balancer-arn-suffix"
    target_group  = "target-group-arn-suffix"
    alarm_actions = var.alarm_actions
    runbook_url   = var.runbook_url
  }

  rendered = {
    for name, vars in local.template_vars :
    name => templatefile("${path.module}/templates/${name}.json.tftpl", vars)
  }
}

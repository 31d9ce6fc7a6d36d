# Inputs. Names, namespace and log group default to what the service and otel-config.yaml use.

variable "name" {
  description = "Name of the service: ECS service, task family, log groups, alarms. Also its OTel service.name."
  type        = string
  default     = "veda-wfs3"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name: lowercase letters, digits and dashes, 2 to 31 characters."
  }
}

variable "environment" {
  description = "deployment.environment of the telemetry (a dimension of every metric)."
  type        = string
  default     = "production"
}

variable "app_image" {
  description = "The service image in ECR, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/veda-wfs3:1.2.3."
  type        = string
  validation {
    condition     = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com/[^:@]+[:@].+$", var.app_image))
    error_message = "app_image: an ECR image with a tag or digest (the execution role may pull from that repository only)."
  }
}

variable "collector_image" {
  description = "The ADOT collector image (the version otel-config.yaml is tested against)."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"
}

variable "cluster_name" {
  description = "Existing ECS cluster to run in."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the load balancer and the tasks."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the tasks (they need a route to ECR, Secrets Manager, SSM, X-Ray and CloudWatch)."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "subnet_ids: at least one subnet."
  }
}

variable "alb_listener_arn" {
  description = "HTTPS listener of the existing Application Load Balancer; the module adds a rule and a target group."
  type        = string
}

variable "alb_security_group_id" {
  description = "Security group of the load balancer (the only source allowed to reach the tasks)."
  type        = string
}

variable "listener_rule_priority" {
  description = "Priority of the listener rule."
  type        = number
  default     = 100
}

variable "path_patterns" {
  description = "Paths the listener rule forwards to the service."
  type        = list(string)
  default     = ["/*"]
}

variable "host_headers" {
  description = "Host names the listener rule matches (empty: any)."
  type        = list(string)
  default     = []
}

variable "db_config_secret_arn" {
  description = "Secrets Manager secret whose value is the DB_CONFIG JSON {username, password, host, port, dbname} (a read-only role: README, 'The database role')."
  type        = string
}

variable "database_security_group_id" {
  description = "If set, the module allows the tasks into this security group on database_port."
  type        = string
  default     = null
}

variable "database_port" {
  description = "Port of the database, for the rule above."
  type        = number
  default     = 5432
}

variable "task_cpu" {
  description = "Task CPU units (app and sidecar together)."
  type        = number
  default     = 1024
}

variable "task_memory" {
  description = "Task memory in MiB (app and sidecar together)."
  type        = number
  default     = 2048
}

variable "collector_memory" {
  description = "MiB reserved for the collector; its memory_limiter refuses data at 75 % of what it is given."
  type        = number
  default     = 256
}

variable "web_concurrency" {
  description = "uvicorn workers per task (one per vCPU is the measured sweet spot)."
  type        = number
  default     = 1
}

variable "db_pool_max_size" {
  description = "Database connections each uvicorn worker may hold (WFS3_DB_POOL_MAX_SIZE)."
  type        = number
  default     = 10
}

variable "db_max_connections" {
  description = "The database's max_connections less what other clients and superusers keep. The module refuses to plan when the service's peak (pool x workers x tasks, during a deployment) could exceed it: then lower the pool or max_tasks, or put RDS Proxy in front (deploy/README.md)."
  type        = number
}

variable "db_proxy_endpoint" {
  description = "An RDS Proxy endpoint in front of the database: the tasks connect there (DB_PROXY_HOST), with the secret's user, password, port and database."
  type        = string
  default     = null
}

variable "desired_count" {
  description = "Tasks at creation; autoscaling moves it between min_tasks and max_tasks afterwards."
  type        = number
  default     = 2
}

variable "min_tasks" {
  type    = number
  default = 2
}

variable "max_tasks" {
  type    = number
  default = 10
}

variable "target_requests_per_task" {
  description = "Autoscaling target: load balancer requests per task per minute."
  type        = number
  default     = 3000
}

variable "target_cpu_percent" {
  description = "Autoscaling target: average CPU of the service."
  type        = number
  default     = 60
}

variable "collector_mode" {
  description = "sidecar: a collector in every task (default). gateway: one collector ECS service reached over the VPC (Cloud Map name), better once the service autoscales."
  type        = string
  default     = "sidecar"
  validation {
    condition     = contains(["sidecar", "gateway"], var.collector_mode)
    error_message = "collector_mode: sidecar or gateway."
  }
}

variable "gateway_collector_count" {
  description = "Collector tasks in gateway mode."
  type        = number
  default     = 2
}

variable "traces_sampler_ratio" {
  description = "Fixed rate of the X-Ray sampling rule this module creates (the share of new traces beyond its reservoir of 1 a second), and the ratio the service falls back to while it cannot read X-Ray's rules; a sampled caller's decision is always kept."
  type        = number
  default     = 0.1
  validation {
    condition     = var.traces_sampler_ratio >= 0 && var.traces_sampler_ratio <= 1
    error_message = "traces_sampler_ratio: between 0 and 1."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the service's metrics (WFS3_METRICS_NAMESPACE of otel-config.yaml)."
  type        = string
  default     = "veda-wfs3"
}

variable "log_retention_days" {
  description = "Retention of the container and EMF log groups (a year by default: incident reviews and audits look back that far)."
  type        = number
  default     = 365
}

variable "log_kms_key_arn" {
  description = "KMS key for the log groups (null: CloudWatch's own encryption)."
  type        = string
  default     = null
}

variable "alarm_actions" {
  description = "SNS topic ARNs notified when an alarm fires and when it clears."
  type        = list(string)
  default     = []
}

variable "alarm_min_requests_per_minute" {
  description = "Traffic guard of the SLO alarms: a window with fewer requests than this per minute counts as no errors."
  type        = number
  default     = 20
}

variable "availability_objective" {
  description = "Share of requests, over slo_window_days, not answered 5xx (by a task or by the load balancer). 0.999 leaves 43 minutes of errors a month."
  type        = number
  default     = 0.999
  validation {
    condition     = var.availability_objective > 0.9 && var.availability_objective < 1
    error_message = "availability_objective: a share between 0.9 and 1 (exclusive), e.g. 0.999."
  }
}

variable "latency_objective" {
  description = "Share of items, item and tile requests, over slo_window_days, answered within latency_threshold_seconds."
  type        = number
  default     = 0.99
  validation {
    condition     = var.latency_objective > 0.5 && var.latency_objective < 1
    error_message = "latency_objective: a share between 0.5 and 1 (exclusive), e.g. 0.99."
  }
}

variable "latency_threshold_seconds" {
  description = "The latency objective's threshold, measured by the service (http.server.request.duration)."
  type        = number
  default     = 1
}

variable "slo_window_days" {
  description = "The objectives' window, whose error budget the burn rates are relative to."
  type        = number
  default     = 30
}

variable "ticket_actions" {
  description = "SNS topic ARNs for the slow-burn (ticket) alarms; null: alarm_actions."
  type        = list(string)
  default     = null
}

variable "runbook_url" {
  description = "Where docs/runbooks.md is published (e.g. its URL in your fork); each alarm's description links its section."
  type        = string
  default     = "docs/runbooks.md"
}

variable "freshness_alarms" {
  description = "Collections watched for stale data: collection id (e.g. public.fire_detections) => the age in seconds of its newest row above which an alarm fires (ogc.collection.data_age; the collection needs a temporal column)."
  type        = map(number)
  default     = {}
}

variable "environment_variables" {
  description = "Extra environment of the service (README, Settings), e.g. WFS3_DB_SCHEMAS."
  type        = map(string)
  default     = {}
}

variable "tags" {
  type    = map(string)
  default = {}
}

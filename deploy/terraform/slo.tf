# Service-level objectives and their multi-window, multi-burn-rate alarms (the SRE workbook's
# "alerting on SLOs"): for each objective a fast pair of windows (1 h and 5 min, burning the
# 30-day error budget 14.4 times too fast) that pages, and a slow pair (6 h and 30 min, 6 times)
# that opens a ticket. Each window is a metric alarm without actions; each pair is a composite
# alarm (both windows burning) that notifies, so one bad minute does not page. Every threshold
# is burn rate x (1 - objective), computed here (tests/contracts.tftest.hcl checks it).

locals {
  slo_prefix = "${var.name}-${var.environment}-slo"

  # window name => seconds, burn rate, and the pair it belongs to
  slo_windows = {
    "1h"  = { seconds = 3600, burn_rate = 14.4, pair = "page" }
    "5m"  = { seconds = 300, burn_rate = 14.4, pair = "page" }
    "6h"  = { seconds = 21600, burn_rate = 6, pair = "ticket" }
    "30m" = { seconds = 1800, burn_rate = 6, pair = "ticket" }
  }
  slo_pair_actions = {
    page   = var.alarm_actions
    ticket = coalesce(var.ticket_actions, var.alarm_actions)
  }

  slo_objectives = {
    availability = {
      objective   = var.availability_objective
      description = "share of requests not answered 5xx (by a task or by the load balancer)"
    }
    latency = {
      objective   = var.latency_objective
      description = "share of items, item and tile requests answered within ${var.latency_threshold_seconds} s"
    }
  }

  # The service's own metrics (EMF, otel-config.yaml's metric_declarations) and the load
  # balancer's, as CloudWatch metric math inputs.
  service_dimensions = [
    { Name = "service.name", Value = var.name },
    { Name = "deployment.environment", Value = var.environment },
  ]
  latency_routes = {
    items = "/collections/{collectionId}/items"
    item  = "/collections/{collectionId}/items/{itemId}"
    tile  = "/collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{x}/{y}"
  }

  slo_window_alarms = {
    for pair in setproduct(keys(local.slo_objectives), keys(local.slo_windows)) :
    "${local.slo_prefix}-${pair[0]}-${pair[1]}" => {
      objective = pair[0]
      window    = pair[1]
      seconds   = local.slo_windows[pair[1]].seconds
      burn_rate = local.slo_windows[pair[1]].burn_rate
      threshold = local.slo_windows[pair[1]].burn_rate * (1 - local.slo_objectives[pair[0]].objective)
      # Fewer requests than this in the window count as no errors (a single error in a quiet
      # window would otherwise read as a burning budget).
      min_requests = var.alarm_min_requests_per_minute * local.slo_windows[pair[1]].seconds / 60
    }
  }

  slo_composite_alarms = {
    for pair in setproduct(keys(local.slo_objectives), ["page", "ticket"]) :
    "${local.slo_prefix}-${pair[0]}-${pair[1]}" => {
      objective = pair[0]
      pair      = pair[1]
      windows   = [for name, w in local.slo_windows : "${local.slo_prefix}-${pair[0]}-${name}" if w.pair == pair[1]]
    }
  }
}

locals {
  alb_dimensions = {
    LoadBalancer = data.aws_lb.this.arn_suffix
    TargetGroup  = aws_lb_target_group.app.arn_suffix
  }
  service_dims = { for d in local.service_dimensions : d.Name => d.Value }

  # The error ratio of a window, the larger of two: the load balancer's (its own 5xx, as when
  # no task is healthy, with the targets' 5xx, over every request it took) and the service's
  # (500, 503, 504 over all its requests), so neither a dead task nor an ALB-less path hides it.
  availability_queries = {
    for name, alarm in local.slo_window_alarms : name => concat(
      [
        { id = "alb_requests", metric = { namespace = "AWS/ApplicationELB", name = "RequestCount", stat = "Sum", dimensions = local.alb_dimensions } },
        { id = "alb_target_5xx", metric = { namespace = "AWS/ApplicationELB", name = "HTTPCode_Target_5XX_Count", stat = "Sum", dimensions = local.alb_dimensions } },
        { id = "alb_elb_5xx", metric = { namespace = "AWS/ApplicationELB", name = "HTTPCode_ELB_5XX_Count", stat = "Sum", dimensions = { LoadBalancer = data.aws_lb.this.arn_suffix } } },
        { id = "svc_requests", metric = { namespace = var.metrics_namespace, name = "http.server.request.duration", stat = "SampleCount", dimensions = local.service_dims } },
      ],
      [for code in ["500", "503", "504"] : {
        id     = "svc_${code}"
        metric = { namespace = var.metrics_namespace, name = "http.server.request.duration", stat = "SampleCount", dimensions = merge(local.service_dims, { "http.response.status_code" = code }) }
      }],
      [
        { id = "alb_total", expression = "FILL(alb_requests, 0) + FILL(alb_elb_5xx, 0)" },
        { id = "alb_ratio", expression = "IF(alb_total >= ${alarm.min_requests}, (FILL(alb_target_5xx, 0) + FILL(alb_elb_5xx, 0)) / alb_total, 0)" },
        { id = "svc_total", expression = "FILL(svc_requests, 0)" },
        { id = "svc_ratio", expression = "IF(svc_total >= ${alarm.min_requests}, (FILL(svc_500, 0) + FILL(svc_503, 0) + FILL(svc_504, 0)) / svc_total, 0)" },
        { id = "error_ratio", label = "error ratio", expression = "MAX([alb_ratio, svc_ratio])" },
      ],
    ) if alarm.objective == "availability"
  }

  # The share of items, item and tile requests slower than the threshold: per route, the
  # requests (SampleCount) and the percentage within the threshold (PR, percentile rank, on the
  # service's exponential histogram of http.server.request.duration).
  latency_queries = {
    for name, alarm in local.slo_window_alarms : name => concat(
      flatten([for key, route in local.latency_routes : [
        { id = "${key}_requests", metric = { namespace = var.metrics_namespace, name = "http.server.request.duration", stat = "SampleCount", dimensions = merge(local.service_dims, { "http.route" = route }) } },
        { id = "${key}_within", metric = { namespace = var.metrics_namespace, name = "http.server.request.duration", stat = "PR(:${var.latency_threshold_seconds})", dimensions = merge(local.service_dims, { "http.route" = route }) } },
      ]]),
      [
        { id = "total", expression = join(" + ", [for key in keys(local.latency_routes) : "FILL(${key}_requests, 0)"]) },
        { id = "slow", expression = join(" + ", [for key in keys(local.latency_routes) : "FILL(${key}_requests, 0) * (100 - FILL(${key}_within, 100)) / 100"]) },
        { id = "error_ratio", label = "share slower than ${var.latency_threshold_seconds} s", expression = "IF(total >= ${alarm.min_requests}, slow / total, 0)" },
      ],
    ) if alarm.objective == "latency"
  }
}

resource "aws_cloudwatch_metric_alarm" "slo_window" {
  #checkov:skip=CKV_AWS_319:a window alarm notifies through its composite alarm (aws_cloudwatch_composite_alarm.slo), which has actions; its own would page on one window
  for_each            = local.slo_window_alarms
  alarm_name          = each.key
  alarm_description   = "The ${local.slo_objectives[each.value.objective].description} burned the ${var.slo_window_days}-day error budget at over ${each.value.burn_rate}x over the last ${each.value.window} (error ratio above ${each.value.threshold}). One window of a composite alarm, which notifies. Runbook: ${var.runbook_url}#slo-${each.value.objective}-${local.slo_windows[each.value.window].pair}"
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  treat_missing_data  = "notBreaching"
  actions_enabled     = false # the composite alarm notifies

  dynamic "metric_query" {
    for_each = each.value.objective == "availability" ? local.availability_queries[each.key] : local.latency_queries[each.key]
    content {
      id          = metric_query.value.id
      label       = lookup(metric_query.value, "label", null)
      return_data = metric_query.value.id == "error_ratio"
      expression  = lookup(metric_query.value, "expression", null)

      dynamic "metric" {
        for_each = lookup(metric_query.value, "metric", null) == null ? [] : [metric_query.value.metric]
        content {
          namespace   = metric.value.namespace
          metric_name = metric.value.name
          period      = each.value.seconds
          stat        = metric.value.stat
          dimensions  = metric.value.dimensions
        }
      }
    }
  }
  tags = var.tags
}

resource "aws_cloudwatch_composite_alarm" "slo" {
  for_each          = local.slo_composite_alarms
  alarm_name        = each.key
  alarm_description = "${each.value.pair == "page" ? "Page" : "Ticket"}: the ${local.slo_objectives[each.value.objective].description} (objective ${local.slo_objectives[each.value.objective].objective} over ${var.slo_window_days} days) is burning its error budget in both windows (${join(" and ", each.value.windows)}). Runbook: ${var.runbook_url}#slo-${each.value.objective}-${each.value.pair}"
  alarm_rule        = join(" AND ", [for name in each.value.windows : "ALARM(\"${name}\")"])
  actions_enabled   = true
  alarm_actions     = local.slo_pair_actions[each.value.pair]
  ok_actions        = local.slo_pair_actions[each.value.pair]
  tags              = var.tags
  depends_on        = [aws_cloudwatch_metric_alarm.slo_window]
}

# Saved CloudWatch Logs Insights queries over the service's JSON log lines (app/otel/logs.py,
# app/otel/access_log.py): the runbooks open these first.
locals {
  log_queries = {
    "errors-with-trace-ids"                    = <<-QUERY
      fields @timestamp, level, logger, message, trace_id, `http.route`, `http.response.status_code`
      | filter level in ["ERROR", "CRITICAL"] or `http.response.status_code` >= 500
      | sort @timestamp desc
      | limit 200
    QUERY
    "slowest-requests-by-route-and-collection" = <<-QUERY
      filter logger = "app.access"
      | parse `url.path` "/collections/*/" as collection
      | stats count(*) as requests, pct(duration_ms, 50) as p50_ms, pct(duration_ms, 99) as p99_ms, max(duration_ms) as max_ms by `http.route`, collection
      | sort p99_ms desc
      | limit 50
    QUERY
    "503s-by-cause"                            = <<-QUERY
      filter logger = "app.errors" and (message like /database unavailable/ or message like /No database connection became free/)
      | parse message /(?<cause>database unavailable|No database connection became free)/
      | stats count(*) as responses by bin(1m) as minute, cause
      | sort minute desc
    QUERY
    "one-trace"                                = <<-QUERY
      fields @timestamp, level, logger, message, span_id, `http.route`, `http.response.status_code`, duration_ms
      | filter trace_id = "1-00000000-000000000000000000000000"
      | sort @timestamp asc
    QUERY
  }
}

resource "aws_cloudwatch_query_definition" "this" {
  for_each        = local.log_queries
  name            = "${var.name}-${var.environment}/${each.key}"
  log_group_names = [aws_cloudwatch_log_group.this[local.app_log_group].name]
  query_string    = trimspace(each.value)
}

"""Every metric the dashboard and the alarms name must be one that really exists.

Three sources of truth, read from the code and the configuration themselves:
- the service's instruments (the `meter.create_*("name", ...)` and `AggregatedHistogram("name",
  ...)` calls under app/) and their kinds,
  and the ECS task metrics the collector makes (collector/ecs-task-metrics.yaml, after renames);
- otel-config.yaml's awsemf metric_declarations: which of them become CloudWatch metrics, with
  which dimension sets (anything else never reaches CloudWatch);
- for AWS namespaces, the load balancer's and ECS's documented metrics and dimensions.
A percentile needs a histogram, an `http.route` value must be a route of the app, and the 5xx
status codes summed for the error rate must be exactly the ones the app answers with. Renaming a
metric, a dimension or a route breaks `make deploy-check` until the dashboard follows.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml

from deploy.render import ROOT

APP = ROOT / "app"
OTEL_CONFIG = ROOT / "otel-config.yaml"
TASK_METRICS_CONFIG = ROOT / "collector/ecs-task-metrics.yaml"

# docs.aws.amazon.com: "CloudWatch metrics for your Application Load Balancer" and "Amazon ECS
# CloudWatch metrics" (service-level metrics).
AWS_METRICS: dict[tuple[str, str], list[frozenset[str]]] = {
    ("AWS/ApplicationELB", name): [
        frozenset({"LoadBalancer"}),
        frozenset({"LoadBalancer", "TargetGroup"}),
    ]
    for name in ("RequestCount", "HTTPCode_Target_5XX_Count", "TargetResponseTime")
} | {
    ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"): [frozenset({"LoadBalancer"})],
    ("AWS/ApplicationELB", "HealthyHostCount"): [frozenset({"LoadBalancer", "TargetGroup"})],
    ("AWS/ApplicationELB", "UnHealthyHostCount"): [frozenset({"LoadBalancer", "TargetGroup"})],
    ("AWS/ECS", "CPUUtilization"): [frozenset({"ClusterName", "ServiceName"})],
    ("AWS/ECS", "MemoryUtilization"): [frozenset({"ClusterName", "ServiceName"})],
}
PERCENTILE = re.compile(r"^p\d{1,2}(\.\d+)?$")
# Statistics CloudWatch computes only from a distribution (the EMF exporter's histograms):
# percentiles and percentile ranks, e.g. PR(:1), the share of values at most 1.
DISTRIBUTION_STAT = re.compile(r"^(p\d{1,2}(\.\d+)?|PR\([\d.]*:[\d.]*\))$")


@dataclass(frozen=True)
class MetricRef:
    """One metric named by a dashboard widget or an alarm."""

    where: str
    namespace: str
    name: str
    dimensions: dict[str, str] = field(hash=False)
    stat: str | None = None


@cache
def instruments() -> dict[str, str]:
    """Metric name -> instrument kind (create_histogram -> "histogram"), from app/'s source: the
    meters' `create_*("name", ...)` calls and app/otel/histograms.py's
    `AggregatedHistogram("name", ...)`."""
    found = {}
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and (kind := _instrument_kind(node)) is not None:
                found[node.args[0].value] = kind  # type: ignore[attr-defined]
    return found


def _instrument_kind(call: ast.Call) -> str | None:
    """The kind of instrument a call with a literal name as its first argument makes, if any."""
    if not call.args or not isinstance(call.args[0], ast.Constant):
        return None
    if not isinstance(call.args[0].value, str):
        return None
    if isinstance(call.func, ast.Attribute) and call.func.attr.startswith("create_"):
        return call.func.attr.removeprefix("create_")
    if isinstance(call.func, ast.Name) and call.func.id == "AggregatedHistogram":
        return "histogram"
    return None


@cache
def collector_metrics() -> dict[str, str]:
    """Metric name -> "task metric", for what the task-metrics overlay keeps and renames."""
    processors = yaml.safe_load(TASK_METRICS_CONFIG.read_text())["processors"]
    kept = processors["filter/task_metrics"]["metrics"]["include"]["metric_names"]
    transforms = processors["metrics_transform/task_metrics"]["transforms"]
    renamed = {t["include"]: t["new_name"] for t in transforms}
    return {renamed.get(name, name): "task metric" for name in kept}


@cache
def declarations() -> tuple[str, dict[str, list[frozenset[str]]]]:
    """(namespace default, metric -> dimension sets) from otel-config.yaml's awsemf exporter."""
    emf = yaml.safe_load(OTEL_CONFIG.read_text())["exporters"]["awsemf"]
    namespace = re.sub(r"\$\{env:[A-Z0-9_]+:-(.*)\}", r"\1", emf["namespace"])
    declared: dict[str, list[frozenset[str]]] = {}
    for declaration in emf["metric_declarations"]:
        for name in declaration["metric_name_selectors"]:
            sets = [frozenset(d) for d in declaration["dimensions"]]
            declared.setdefault(name, []).extend(sets)
    return namespace, declared


@cache
def routes() -> frozenset[str]:
    """Route templates of the app as built by create_app, from its OpenAPI document (no database
    needed); these are the `http.route` values the service records."""
    from app.factory import create_app
    from app.ogc.openapi import OGC_TILE_PATH, XYZ_TILE_PATH
    from app.settings import DatabaseSettings, Settings, TelemetrySettings

    settings = Settings(
        database=DatabaseSettings(database_url="postgresql://routes@127.0.0.1:1/routes"),
        telemetry=TelemetrySettings(otel_sdk_disabled=True),
    )
    paths = set(create_app(settings).openapi()["paths"])
    # /api names the tile route's segments as OGC API - Tiles does (app/ogc/openapi.py); the
    # service records the route's own template, tipg's {z}/{x}/{y}.
    if OGC_TILE_PATH in paths:
        paths.add(XYZ_TILE_PATH)
    return frozenset(paths)


@cache
def server_error_statuses() -> frozenset[str]:
    """The 5xx statuses app/errors.py answers with."""
    text = (APP / "errors.py").read_text()
    codes = re.findall(r"status = (5\d\d)\b", text) + re.findall(r"response\((5\d\d),", text)
    return frozenset(codes)


def dashboard_refs(body: dict[str, Any]) -> Iterator[MetricRef]:
    for widget in body["widgets"]:
        properties = widget.get("properties", {})
        where = f"dashboard widget {properties.get('title', widget['type'])!r}"
        previous: list[Any] = []
        for row in properties.get("metrics", []):
            if isinstance(row[0], dict):
                yield from _search_refs(row[0].get("expression", ""), where)
                continue
            options = row[-1] if isinstance(row[-1], dict) else {}
            values = [v for v in row if not isinstance(v, dict)]
            # "." repeats the previous row's value at that position (CloudWatch's shorthand).
            values = [previous[i] if v == "." else v for i, v in enumerate(values)]
            previous = values
            namespace, name, *pairs = values
            dimensions = dict(zip(pairs[::2], pairs[1::2], strict=True))
            stat = options.get("stat", properties.get("stat"))
            yield MetricRef(where, namespace, name, dimensions, stat)


SEARCH = re.compile(r"SEARCH\('\{([^}]*)\}\s*MetricName=\"([^\"]+)\"")


def _search_refs(expression: str, where: str) -> Iterator[MetricRef]:
    """The schema and metric name of a SEARCH() expression (the values are left to CloudWatch)."""
    for schema, name in SEARCH.findall(expression):
        namespace, *dimensions = [part.strip().strip('"') for part in schema.split(",")]
        yield MetricRef(where, namespace, name, dict.fromkeys(dimensions, "*"))


def alarm_refs(alarms: list[dict[str, Any]]) -> Iterator[MetricRef]:
    for alarm in alarms:
        for query in alarm["Metrics"]:
            if stat := query.get("MetricStat"):
                metric = stat["Metric"]
                dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
                where = f"alarm {alarm['AlarmName']!r}"
                yield MetricRef(
                    where, metric["Namespace"], metric["MetricName"], dimensions, stat["Stat"]
                )


def applied_alarm_refs(state: dict[str, Any]) -> list[MetricRef]:
    """Every metric the metric alarms of an applied state (`tofu show -json`) read: the SLO
    window alarms are built in HCL (slo.tf), so this is where their metrics are seen whole."""
    root = state["values"]["root_module"]
    resources = [r for m in [root, *root.get("child_modules", [])] for r in m.get("resources", [])]
    alarms = [r["values"] for r in resources if r["type"] == "aws_cloudwatch_metric_alarm"]
    return [ref for values in alarms for ref in _applied_refs(values)]


def _applied_refs(alarm: dict[str, Any]) -> Iterator[MetricRef]:
    where = f"alarm {alarm['alarm_name']!r}"
    for query in alarm.get("metric_query") or []:
        for metric in query.get("metric") or []:
            dimensions = metric.get("dimensions") or {}
            name, stat = metric["metric_name"], metric["stat"]
            yield MetricRef(where, metric["namespace"], name, dimensions, stat)
    if alarm.get("metric_name"):
        dimensions = alarm.get("dimensions") or {}
        name, stat = alarm["metric_name"], alarm.get("statistic")
        yield MetricRef(where, alarm["namespace"], name, dimensions, stat)


def references(documents: dict[str, Any]) -> list[MetricRef]:
    """Every metric the rendered dashboard and alarms name."""
    return [*dashboard_refs(documents["dashboard"]), *alarm_refs(documents["alarms"])]


def problems(refs: list[MetricRef], namespace: str) -> list[str]:
    """What is wrong with each reference (empty when every metric exists as named)."""
    found = []
    for ref in refs:
        if ref.namespace == namespace:
            found += _service_metric_problems(ref)
        elif (ref.namespace, ref.name) in AWS_METRICS:
            if frozenset(ref.dimensions) not in AWS_METRICS[(ref.namespace, ref.name)]:
                found.append(f"{ref.where}: {ref.name} has no dimensions {sorted(ref.dimensions)}")
        else:
            found.append(f"{ref.where}: {ref.namespace} {ref.name} is not a known metric")
    return found


def _service_metric_problems(ref: MetricRef) -> list[str]:
    kind = instruments().get(ref.name) or collector_metrics().get(ref.name)
    _, declared = declarations()
    if kind is None:
        return [f"{ref.where}: neither the service nor the collector makes {ref.name!r}"]
    if ref.name not in declared:
        return [f"{ref.where}: {ref.name} is not in otel-config.yaml's metric_declarations"]
    found = []
    if frozenset(ref.dimensions) not in declared[ref.name]:
        found.append(f"{ref.where}: {ref.name} is not declared with {sorted(ref.dimensions)}")
    if ref.stat and DISTRIBUTION_STAT.match(ref.stat) and kind != "histogram":
        found.append(f"{ref.where}: {ref.stat} of {ref.name}, a {kind}, not a histogram")
    route = ref.dimensions.get("http.route", "*")
    if route != "*" and route not in routes():
        found.append(f"{ref.where}: the app has no route {route!r}")
    status = ref.dimensions.get("http.response.status_code", "*")
    if status != "*" and status not in server_error_statuses():
        found.append(f"{ref.where}: the app never answers {status}")
    return found

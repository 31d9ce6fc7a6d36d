"""deploy/terraform, checked offline (`make deploy-check` runs the same checks and checkov).

Every JSON document the module sends to AWS is rendered from its template with
deploy/example-values.json, then: validated against botocore's API models, its IAM policies
linted by parliament, its metrics traced back to the service and otel-config.yaml, and finally
created in moto ("dry apply") and read back.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import hcl2
import pytest
import yaml

from deploy import aws_models, check, metrics, plan_time, render, terraform_files

OUR_NAMESPACE = "veda-wfs3"


@pytest.fixture(scope="module")
def documents() -> dict[str, Any]:
    return render.render_all()


def test_terraform_files_parse() -> None:
    names = set(terraform_files.parsed())
    assert {"ecs.tf", "iam.tf", "monitoring.tf", "variables.tf", "locals.tf"} <= names


def test_for_each_and_count_are_known_at_plan_time() -> None:
    assert plan_time.plan_time_problems() == []


# The shape of monitoring.tf before this check existed (its first plan failed with "Invalid
# for_each argument"), and a count of the same kind; a map literal's keys are known.
APPLY_TIME_KEYS = """
locals {
  template_vars = { alarms = { target_group = aws_lb_target_group.app.arn_suffix } }
  rendered = { for name, vars in local.template_vars : name => templatefile("t", vars) }
  alarms   = { for alarm in jsondecode(local.rendered["alarms"]) : alarm.AlarmName => alarm }
  signals  = { cpu = { label = data.aws_lb.this.arn_suffix } }
}
resource "aws_cloudwatch_metric_alarm" "this" { for_each = local.alarms }
resource "aws_appautoscaling_policy" "app" { for_each = local.signals }
resource "aws_route53_record" "r" { count = length(data.aws_subnets.this.ids) }
"""


def test_the_plan_time_check_catches_keys_known_only_after_apply() -> None:
    problems = plan_time.plan_time_problems({"old.tf": hcl2.loads(APPLY_TIME_KEYS)})
    assert [p.split(" depends on ")[0] for p in problems] == [
        "old.tf: resource.aws_cloudwatch_metric_alarm.this.for_each",
        "old.tf: resource.aws_route53_record.r.count",
    ]
    assert "aws_lb_target_group.app" in problems[0]


def test_each_template_gets_exactly_the_variables_it_uses() -> None:
    """Terraform's map, the example values and the template itself name the same variables."""
    in_terraform = terraform_files.template_variables()
    examples = render.example_values()
    assert set(in_terraform) == set(render.template_names()) == set(examples)
    for name in render.template_names():
        used = render.variables_used(render.template_text(name))
        assert used == in_terraform[name], name
        assert used == set(examples[name]), name


def test_the_renderer_refuses_what_it_cannot_render_like_terraform() -> None:
    with pytest.raises(render.TemplateError):
        render.variables_used('{"a": "%{ if x }y%{ endif }"}')
    with pytest.raises(render.TemplateError):
        render.variables_used('{"a": "${upper(x)}"}')
    with pytest.raises(render.TemplateError):
        render.render('{"a": "${x}"}', {"x": ["a list needs jsonencode"]})
    assert render.render('{"a": ${jsonencode(x)}, "b": "${y}"}', {"x": [1], "y": 0.1}) == (
        '{"a": [1], "b": "0.1"}'
    )


def test_documents_match_the_aws_api_models(documents: dict[str, Any]) -> None:
    assert aws_models.all_errors(documents) == []


def test_the_models_do_catch_a_broken_document(documents: dict[str, Any]) -> None:
    """The validation above can fail: a misspelt member and a wrong type are reported."""
    broken = json.loads(json.dumps(documents))
    broken["app-container"]["portMapping"] = broken["app-container"].pop("portMappings")
    broken["alarms"][0]["EvaluationPeriods"] = "five"
    errors = aws_models.all_errors(broken)
    assert any("portMapping" in e for e in errors), errors
    assert any("EvaluationPeriods" in e for e in errors), errors


def test_iam_policies_pass_parliament(documents: dict[str, Any]) -> None:
    assert check.iam_findings(documents) == []


def test_iam_actions_are_split_by_who_uses_them(documents: dict[str, Any]) -> None:
    def actions(policy: dict[str, Any]) -> set[str]:
        found: set[str] = set()
        for statement in policy["Statement"]:
            found |= (
                {statement["Action"]}
                if isinstance(statement["Action"], str)
                else set(statement["Action"])
            )
        return found

    task = actions(documents["collector-task-policy"])
    execution = actions(documents["execution-policy"])
    assert {a.split(":")[0] for a in task} == {"xray", "cloudwatch", "logs"}
    assert not any(a.startswith("xray:") for a in execution), "X-Ray belongs on the task role"
    assert {a.split(":")[0] for a in execution} == {"ecr", "logs", "secretsmanager", "ssm"}
    for statement in documents["collector-task-policy"]["Statement"]:
        if statement["Sid"] == "EmfLogEvents":  # scoped to the EMF log group we create
            assert all(
                ":log-group:/veda-wfs3/production/metrics" in r for r in statement["Resource"]
            )


def test_every_dashboard_and_alarm_metric_exists(documents: dict[str, Any]) -> None:
    namespace, _ = metrics.declarations()
    assert namespace == OUR_NAMESPACE
    refs = metrics.references(documents)
    assert len({r.name for r in refs if r.namespace == namespace}) >= 5
    assert metrics.problems(refs, namespace) == []


def test_the_metric_check_catches_a_renamed_metric_route_and_dimension(
    documents: dict[str, Any],
) -> None:
    text = json.dumps(documents["dashboard"])
    text = text.replace("db.client.connection.wait_time", "db.client.connection.wait")
    text = text.replace("/collections/{collectionId}/queryables", "/collections/{id}/queryables")
    text = text.replace('"db.client.connection.state"', '"db.pool.state"')
    text = text.replace("container.cpu.usage.vcpu", "container.cpu.utilised")  # a task metric
    refs = list(metrics.dashboard_refs(json.loads(text)))
    found = " ".join(metrics.problems(refs, OUR_NAMESPACE))
    assert "nor the collector makes 'db.client.connection.wait'" in found
    assert "nor the collector makes 'container.cpu.utilised'" in found
    assert "no route '/collections/{id}/queryables'" in found
    assert "db.pool.state" in found


def test_the_availability_slo_sums_exactly_the_5xx_the_app_answers() -> None:
    """slo.tf's service error ratio (tofu test checks its thresholds and windows)."""
    text = (render.MODULE / "slo.tf").read_text()
    [codes] = re.findall(r"for code in \[([^\]]*)\]", text)
    summed = set(re.findall(r'"(\d{3})"', codes))
    assert summed == metrics.server_error_statuses() == {"500", "503", "504"}
    ratio = "(FILL(svc_500, 0) + FILL(svc_503, 0) + FILL(svc_504, 0)) / svc_total"
    assert ratio in text and "IF(svc_total >= " in text, "every 5xx, and the traffic guard"


def test_metric_math_only_refers_to_defined_ids(documents: dict[str, Any]) -> None:
    for alarm in documents["alarms"]:
        ids = {q["Id"] for q in alarm["Metrics"]}
        assert sum(q["ReturnData"] for q in alarm["Metrics"]) == 1, alarm["AlarmName"]
        for query in alarm["Metrics"]:
            names = set(re.findall(r"\b([a-z][a-zA-Z0-9_]*)\b", query.get("Expression", "")))
            assert names <= ids, alarm["AlarmName"]  # IF, FILL: upper case, not ids


@pytest.mark.slow  # checkov itself takes ~20 s
def test_checkov_passes_with_every_skip_justified() -> None:
    binary = (
        subprocess.run(
            [str(render.ROOT / "scripts/checkov.sh")], capture_output=True, text=True, check=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    assert check.checkov(binary) == []
    for path in render.MODULE.glob("*.tf"):
        for skip in re.findall(r"#checkov:skip=(.*)", path.read_text()):
            check_id, _, reason = skip.partition(":")
            assert len(reason.split()) >= 6, f"{path.name}: {check_id} needs a reason"


def test_container_environment_names_are_read_by_what_runs_them(
    documents: dict[str, Any],
) -> None:
    settings = (render.ROOT / "docs/operations.md").read_text()  # where every setting is listed
    for variable in documents["app-container"]["environment"]:
        assert f"`{variable['name']}`" in settings or variable["name"] in (
            "OTEL_SERVICE_NAME",  # standard OTel variables, read by the SDK
            "OTEL_RESOURCE_ATTRIBUTES",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_TRACES_SAMPLER",
            "OTEL_TRACES_SAMPLER_ARG",
        ), variable["name"]
    config = (render.ROOT / "otel-config.yaml").read_text()
    for variable in documents["collector-container"]["environment"]:
        assert "${env:" + variable["name"] in config, variable["name"]


def test_collector_config_is_otel_config_with_the_task_metrics_and_fits_a_parameter() -> None:
    """Everything otel-config.yaml says, plus the overlay's receiver, processors and pipeline;
    within an Advanced SSM parameter (8 KB; collector.tf picks the tier by length)."""
    deployed = yaml.safe_load(terraform_files.collector_config_as_deployed())
    original = yaml.safe_load((render.ROOT / "otel-config.yaml").read_text())
    overlay = yaml.safe_load((render.ROOT / "collector/ecs-task-metrics.yaml").read_text())
    assert len(terraform_files.collector_config_as_deployed()) <= 8192
    for section in ("extensions", "exporters"):
        assert deployed[section] == original[section]
    for section in ("receivers", "processors"):
        assert deployed[section] == original[section] | overlay[section]
    pipelines = original["service"]["pipelines"] | overlay["service"]["pipelines"]
    assert deployed["service"]["pipelines"] == pipelines


def test_percentile_ranks_are_read_from_histograms_only() -> None:
    """The latency SLO reads PR(:threshold); CloudWatch computes it only from a distribution."""
    service = {"service.name": "veda-wfs3", "deployment.environment": "production"}

    def ref(name: str, dimensions: dict[str, str]) -> metrics.MetricRef:
        return metrics.MetricRef("test", "veda-wfs3", name, dimensions, "PR(:1)")

    route = {**service, "http.route": "/collections/{collectionId}/items"}
    assert metrics.problems([ref("http.server.request.duration", route)], "veda-wfs3") == []
    counter = ref("wfs3.catalog.loads", {**service, "outcome": "success"})
    assert metrics.problems([counter], "veda-wfs3") == [
        "test: PR(:1) of wfs3.catalog.loads, a counter, not a histogram"
    ]


def test_the_tile_route_the_service_records_is_known() -> None:
    """/api names the tile path's segments as OGC does; telemetry records tipg's template."""
    assert "/collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{x}/{y}" in metrics.routes()

"""make deploy-plan: deploy/terraform planned, applied and planned again by OpenTofu with the real
AWS provider, in both collector modes, each against a fresh emulated AWS on loopback.

    .venv/bin/python -m deploy.emulated.run [sidecar|gateway ...]

For each mode: moto_server on a free port with the gaps server in front (gaps.py), the shared
infrastructure the module expects (shared.py), a root module calling deploy/terraform, then
`tofu init`, `tofu validate` (no warning allowed), `tofu plan`, `tofu apply` and a second
`tofu plan` that must report no changes. Then `tofu test` on the module's contract tests. Prints
each plan's and apply's summary and how long each stage took; exits non-zero on any failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy import metrics, terraform_files
from deploy.emulated import gaps, provider_build, schema_check, shared
from harness.server_process import ROOT

MODULE = ROOT / "deploy" / "terraform"
WORK = ROOT / ".cache" / "deploy-plan"
MODES = ("sidecar", "gateway")
# The provider's endpoint settings for every service the module (and its start-up) calls.
SERVICES = (
    "applicationautoscaling", "cloudwatch", "ec2", "ecs", "elbv2", "iam", "logs",
    "servicediscovery", "ssm", "sts", "xray",
)  # fmt: skip
NAMESPACE = "veda-wfs3"  # the module's default metrics_namespace, which main.tf keeps
SUMMARY = re.compile(r"^(Plan: .*|No changes\..*|Apply complete!.*|Success!.*|\d+ passed, .*)$")


@dataclass
class Stage:
    name: str
    seconds: float
    summary: str
    ok: bool


@dataclass
class Report:
    mode: str
    stages: list[Stage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(stage.ok for stage in self.stages)


def main(modes: list[str]) -> int:
    tofu = provider_build.tofu()
    mirror = provider_build.provider_mirror()
    cli_config = _cli_config(mirror)
    reports = [_run_mode(mode, tofu, cli_config) for mode in modes]
    reports.append(_run_contract_tests(tofu, cli_config))
    _print(reports)
    return 0 if all(r.ok for r in reports) else 1


def _cli_config(mirror: Path) -> Path:
    """The provider from our mirror only (TF_CLI_CONFIG_FILE; the environment's own points at a
    missing file)."""
    WORK.mkdir(parents=True, exist_ok=True)
    config = WORK / "tofurc"
    config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{mirror}"\n'
        f'    include = ["{provider_build.REGISTRY}"]\n  }}\n}}\n'
    )
    return config


def _run_mode(mode: str, tofu: Path, cli_config: Path) -> Report:
    report = Report(mode)
    workdir = WORK / mode
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    with gaps.emulated_aws() as (endpoint, moto_url, emulator):
        inputs = shared.create(moto_url)
        _write_root_module(workdir, endpoint, inputs, mode)
        steps = [
            ("init", ["init", "-input=false", "-no-color"]),
            ("validate", ["validate", "-json", "-no-color"]),
            ("plan", ["plan", "-input=false", "-no-color", "-out=tfplan"]),
            ("apply", ["apply", "-input=false", "-no-color", "tfplan"]),
            ("plan again", ["plan", "-input=false", "-no-color", "-detailed-exitcode"]),
        ]
        _run_steps(report, steps, tofu, cli_config, workdir, workdir, AFTER)
        report.stages.append(_emulator_calls(emulator))
        _progress(mode, report.stages[-1])
    return report


def _run_steps(
    report: Report,
    steps: list[tuple[str, list[str]]],
    tofu: Path,
    cli_config: Path,
    cwd: Path,
    logs: Path,
    after: Mapping[str, Callable[[Path, Path, Path], Stage]],
) -> None:
    """Each tofu command in turn, then the check `after` names for it, until one fails."""
    for name, args in steps:
        stages = [_tofu_stage(name, tofu, args, cwd, cli_config, logs)]
        if stages[0].ok and name in after:
            stages.append(after[name](tofu, cwd, cli_config))
        for stage in stages:
            report.stages.append(stage)
            _progress(report.mode, stage)
        if not stages[-1].ok:
            return


def _emulator_calls(emulator: gaps.Gaps) -> Stage:
    """How many calls the gaps server answered itself, by service (moto answered the rest)."""
    counts = Counter(call.split(".")[0] for call in emulator.calls)
    summary = ", ".join(f"{service} {count}" for service, count in sorted(counts.items()))
    return Stage("answered by gaps.py", 0.0, f"{summary or 'none'} calls", True)


def _tofu_json(name: str, args: list[str], tofu: Path, workdir: Path, cli_config: Path) -> Any:
    """A tofu command's JSON output, or the failed Stage `name` when it fails."""
    env = _tofu_env(cli_config, workdir)
    done = subprocess.run([str(tofu), *args], cwd=workdir, env=env, capture_output=True)
    if done.returncode != 0:
        return Stage(name, 0.0, done.stderr.decode()[-2000:], False)
    return json.loads(done.stdout)


def _checked(name: str, problems: list[str], summary: str, start: float) -> Stage:
    return Stage(name, time.monotonic() - start, "\n".join(problems) or summary, not problems)


def _schema_stage(tofu: Path, workdir: Path, cli_config: Path) -> Stage:
    """The module's attribute and block names against the provider's schema (schema_check)."""
    start = time.monotonic()
    schema = _tofu_json("schema", ["providers", "schema", "-json"], tofu, workdir, cli_config)
    if isinstance(schema, Stage):
        return schema
    problems = schema_check.findings(schema)
    return _checked("schema", problems, "every name in the schema, none deprecated", start)


def _metrics_stage(tofu: Path, workdir: Path, cli_config: Path) -> Stage:
    """Every metric and statistic the applied alarms read, against what the service and the
    collector emit (deploy/metrics.py): the SLO alarms are built in HCL, seen whole only here."""
    start = time.monotonic()
    state = _tofu_json("metrics", ["show", "-json"], tofu, workdir, cli_config)
    if isinstance(state, Stage):
        return state
    refs = metrics.applied_alarm_refs(state)
    summary = f"{len(refs)} metric references, each emitted as named"
    return _checked("metrics", metrics.problems(refs, NAMESPACE), summary, start)


# Stages run after a tofu command succeeded, by that command's name.
AFTER = {"init": _schema_stage, "apply": _metrics_stage}


def _progress(mode: str, stage: Stage) -> None:
    print(f"deploy-plan: {mode}: {stage.name}: {stage.summary} ({stage.seconds:.1f} s)", flush=True)


def _tofu_stage(
    name: str, tofu: Path, args: list[str], cwd: Path, cli_config: Path, logs: Path
) -> Stage:
    """One tofu command; its whole output goes to logs/<name>.log."""
    env = _tofu_env(cli_config, logs)
    start = time.monotonic()
    done = subprocess.run([str(tofu), *args], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    (logs / f"{name.replace(' ', '-')}.log").write_text(done.stdout + done.stderr)
    if name == "validate":
        return _validated(done, seconds)
    ok = done.returncode == 0
    summary = _summary(done.stdout) or f"exit {done.returncode}"
    if not ok:
        summary += "\n" + _errors(done.stdout + done.stderr)
    return Stage(name, seconds, summary, ok)


def _tofu_env(cli_config: Path, data: Path) -> dict[str, str]:
    return {
        "TF_CLI_CONFIG_FILE": str(cli_config), "TF_IN_AUTOMATION": "1", "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1", "PATH": "/usr/bin:/bin", "HOME": str(WORK),
        "TF_DATA_DIR": str(data / ".terraform"),
    }  # fmt: skip


def _validated(done: subprocess.CompletedProcess[str], seconds: float) -> Stage:
    result = json.loads(done.stdout or "{}")
    problems = [
        f"{d['severity']}: {d['summary']}: {d.get('detail', '')}"
        for d in result.get("diagnostics", [])
    ]
    ok = bool(result.get("valid")) and not problems
    summary = f"valid, {result.get('warning_count', '?')} warnings" if ok else "; ".join(problems)
    return Stage("validate", seconds, summary or done.stderr[-2000:], ok)


def _summary(output: str) -> str:
    lines = [line.strip() for line in output.splitlines()]
    return " ".join(line for line in lines if SUMMARY.match(line))


def _errors(output: str) -> str:
    """The diagnostics' headings and first lines (tofu's full output is in the stage's log)."""
    found = re.findall(r"^(?:│ )?Error: (.*)$\n(?:(?:│ )?.*\n){0,6}", output, re.MULTILINE)
    return "\n".join(f"    Error: {line}" for line in found) or output[-3000:]


def _write_root_module(workdir: Path, endpoint: str, inputs: dict[str, Any], mode: str) -> None:
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in SERVICES)
    (workdir / "main.tf").write_text(f"""
provider "aws" {{
  region                      = "{shared.REGION}"
  access_key                  = "test"
  secret_key                  = "test"
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {{
{endpoints}
  }}
}}

variable "inputs" {{ type = any }}

module "wfs3" {{
  source                = "{os.path.relpath(MODULE, workdir)}"
  collector_mode        = "{mode}"
  app_image             = var.inputs.app_image
  cluster_name          = var.inputs.cluster_name
  vpc_id                = var.inputs.vpc_id
  subnet_ids            = var.inputs.subnet_ids
  alb_listener_arn      = var.inputs.alb_listener_arn
  alb_security_group_id = var.inputs.alb_security_group_id
  db_config_secret_arn  = var.inputs.db_config_secret_arn
  alarm_actions         = var.inputs.alarm_actions
  db_max_connections    = 400
  freshness_alarms      = {{ "public.fire_detections" = 86400 }}
}}
""")
    (workdir / "terraform.tfvars.json").write_text(json.dumps({"inputs": inputs}, indent=2))


def _run_contract_tests(tofu: Path, cli_config: Path) -> Report:
    """`tofu test` in the module itself (deploy/terraform/tests/); its lock file is git-ignored
    and its .terraform/ kept under .cache/. The collector configuration the tests expect is
    deploy/terraform_files.py's, handed over as a variable."""
    report = Report("contracts")
    logs = WORK / "contracts"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    expected = {"expected_collector_config": terraform_files.collector_config_as_deployed()}
    (logs / "expected.tfvars.json").write_text(json.dumps(expected))
    steps = [
        ("init", ["init", "-input=false", "-no-color"]),
        ("test", ["test", "-no-color", f"-var-file={logs / 'expected.tfvars.json'}"]),
    ]
    _run_steps(report, steps, tofu, cli_config, MODULE, logs, {})
    return report


def _print(reports: list[Report]) -> None:
    print("\n| mode | stage | seconds | result |\n| --- | --- | ---: | --- |")
    for report in reports:
        for stage in report.stages:
            first = stage.summary.splitlines()[0] if stage.summary else ""
            print(f"| {report.mode} | {stage.name} | {stage.seconds:.1f} | {first} |")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or list(MODES)))

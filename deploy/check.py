"""make deploy-check: render every JSON document of deploy/terraform into deploy/rendered/ and
check it offline (botocore's API models, parliament, the metric cross-check), then run checkov on
the module. The same checks, and a dry apply in moto, run in `make test` (tests/test_deploy*.py).

    python -m deploy.check [--checkov PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from deploy import aws_models, metrics, plan_time, render, terraform_files


def report(name: str, problems: list[str]) -> bool:
    print(f"{'ok  ' if not problems else 'FAIL'} {name}")
    for problem in problems:
        print(f"       {problem}")
    return not problems


def iam_findings(documents: dict[str, Any]) -> list[str]:
    from parliament import analyze_policy_string

    found = []
    for role, request in aws_models.policy_requests(documents).items():
        for finding in analyze_policy_string(request["PolicyDocument"]).findings:
            found.append(f"{role} role: {finding}")
    return found


def template_mismatches() -> list[str]:
    in_terraform = terraform_files.template_variables()
    examples = render.example_values()
    names = set(render.template_names())
    found = [
        f"{where} has entries for templates {sorted(extra)} that do not exist"
        for where, keys in (("locals.template_vars", in_terraform), ("example values", examples))
        if (extra := set(keys) - names)
    ]
    for name in sorted(names):
        used = render.variables_used(render.template_text(name))
        if used != in_terraform.get(name) or used != set(examples.get(name, {})):
            found.append(f"{name}: template, locals.template_vars and example values differ")
    return found


def checkov(binary: str) -> list[str]:
    run = subprocess.run(
        [
            binary,
            "--quiet",
            "--compact",
            "--skip-download",
            "--framework",
            "terraform",
            "-d",
            str(render.MODULE),
        ],
        capture_output=True,
        text=True,
    )
    return [] if run.returncode == 0 else (run.stdout + run.stderr).strip().splitlines()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkov", help="checkov executable (skipped when not given)")
    args = parser.parse_args()
    documents = render.render_all()
    print(f"rendered {len(documents)} documents into {render.RENDERED.relative_to(render.ROOT)}/")
    namespace, _ = metrics.declarations()
    refs = metrics.references(documents)
    results = [
        report(f"terraform files parse ({len(terraform_files.parsed())})", []),
        report("template variables match", template_mismatches()),
        report("for_each and count known at plan time", plan_time.plan_time_problems()),
        report("botocore API models", aws_models.all_errors(documents)),
        report("parliament (IAM)", iam_findings(documents)),
        report(
            f"metrics exist as named ({len(refs)} references)", metrics.problems(refs, namespace)
        ),
    ]
    if args.checkov:
        results.append(report("checkov", checkov(args.checkov)))
    print(json.dumps({"passed": all(results)}))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""What the Terraform files say, read with python-hcl2 (the parser checkov uses too)."""

from __future__ import annotations

from functools import cache
from typing import Any

import hcl2

from deploy.render import MODULE, ROOT


@cache
def parsed() -> dict[str, dict[str, Any]]:
    """Every .tf file of the module, parsed (a syntax error raises here)."""
    return {path.name: hcl2.loads(path.read_text()) for path in sorted(MODULE.glob("*.tf"))}


def template_variables() -> dict[str, set[str]]:
    """locals.template_vars: template name -> the variable names Terraform renders it with."""
    for document in parsed().values():
        for block in document.get("locals", []):
            if "template_vars" in block:
                return {
                    _unquote(name): {_unquote(key) for key in values}
                    for name, values in block["template_vars"].items()
                }
    raise LookupError("no locals.template_vars in deploy/terraform")


def _unquote(key: str) -> str:
    return key.strip('"')


def collector_config_as_deployed() -> str:
    """otel-config.yaml as locals.collector_config hands it to ECS: comment and blank lines out."""
    lines = (ROOT / "otel-config.yaml").read_text().split("\n")
    return "\n".join(line for line in lines if line.strip() and not line.strip().startswith("#"))

"""What the Terraform files say, read with python-hcl2 (the parser checkov uses too)."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import hcl2
import yaml

from deploy.render import MODULE, ROOT

LOCAL_REFERENCE = re.compile(r"\$\{local\.([A-Za-z_][\w-]*)\}")


@cache
def parsed() -> dict[str, dict[str, Any]]:
    """Every .tf file of the module, parsed (a syntax error raises here)."""
    return {path.name: hcl2.loads(path.read_text()) for path in sorted(MODULE.glob("*.tf"))}


def module_locals(module: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Every local value of the module (parsed), by name."""
    found: dict[str, Any] = {}
    for document in (module if module is not None else parsed()).values():
        for block in document.get("locals", []):
            found.update({k: v for k, v in block.items() if not k.startswith("__")})
    return found


def local_reference(expression: Any) -> str | None:
    """The local's name when `expression` is exactly a reference to one (`local.alarm_vars`)."""
    match = LOCAL_REFERENCE.fullmatch(expression) if isinstance(expression, str) else None
    return match.group(1) if match else None


def template_variables() -> dict[str, set[str]]:
    """locals.template_vars: template name -> the variable names Terraform renders it with (a
    map literal, or a local that is one: `"alarms" = local.alarm_vars`)."""
    local_values = module_locals()
    if "template_vars" not in local_values:
        raise LookupError("no locals.template_vars in deploy/terraform")
    found = {}
    for name, values in local_values["template_vars"].items():
        if (referenced := local_reference(values)) is not None:
            values = local_values[referenced]
        found[_unquote(name)] = {_unquote(key) for key in values}
    return found


def _unquote(key: str) -> str:
    return key.strip('"')


def collector_config_as_deployed() -> str:
    """The collector's configuration as locals.collector_config hands it to ECS: otel-config.yaml
    with collector/ecs-task-metrics.yaml merged in (its receivers, processors and pipelines), as
    Terraform's jsonencode writes it (compact, keys sorted)."""
    config = yaml.safe_load((ROOT / "otel-config.yaml").read_text())
    overlay = yaml.safe_load((ROOT / "collector/ecs-task-metrics.yaml").read_text())
    for section in ("receivers", "processors"):
        config[section] = {**config[section], **overlay[section]}
    pipelines = config["service"]["pipelines"]
    config["service"]["pipelines"] = {**pipelines, **overlay["service"]["pipelines"]}
    return json.dumps(config, separators=(",", ":"), sort_keys=True)

"""Can Terraform plan the module on a fresh state? Its for_each and count must be known then.

Terraform evaluates a resource's `for_each` (a map's keys, a set's elements) and `count` while it
plans; on a fresh state no resource attribute is known before apply, so an expression that
depends on one, directly or through locals, stops every first deployment with "Invalid for_each
argument". We also refuse data source attributes there (a data source is read during the plan
only when everything it depends on is known: not a thing to lean on for a resource's identity).

Read from the parsed files (deploy.terraform_files.parsed), without a provider. What is checked:
`for_each` and `count` of every resource, data and module block. `for_each` over a local that is
a map literal needs only its keys, which are literal. `dynamic` blocks are not checked: Terraform
accepts a collection unknown at plan time there.
"""

from __future__ import annotations

import json
import re
from typing import Any

from deploy.terraform_files import local_reference, module_locals, parsed

LOCAL = re.compile(r"\blocal\.([A-Za-z_][\w-]*)")
APPLY_TIME = re.compile(r"\b(data\.[a-z0-9_]+\.[\w-]+|aws_[a-z0-9_]+\.[\w-]+)")
BLOCK_KINDS = ("resource", "data", "module")

Module = dict[str, dict[str, Any]]


def apply_time_references(expression: Any, local_values: dict[str, Any]) -> set[str]:
    """Every resource or data source attribute `expression` reads, through locals too."""
    found: set[str] = set()
    pending, seen = [json.dumps(expression)], set[str]()
    while pending:
        text = pending.pop()
        found |= set(APPLY_TIME.findall(text))
        for name in set(LOCAL.findall(text)) - seen:
            seen.add(name)
            pending.append(json.dumps(local_values.get(name)))
    return found


def _keys_only(expression: Any, local_values: dict[str, Any]) -> bool:
    """`for_each = local.X` where X is a map literal: its keys are literal, known at plan."""
    name = local_reference(expression)
    return name is not None and isinstance(local_values.get(name), dict)


def _blocks(module: Module) -> list[tuple[str, str, dict[str, Any]]]:
    """(file, address, body) of every resource, data and module block."""
    found = []
    for file, document in module.items():
        for kind in BLOCK_KINDS:
            for block in document.get(kind, []):
                for type_name, named in block.items():
                    bodies = named.items() if kind != "module" else [("", named)]
                    for name, body in bodies:
                        address = ".".join(p.strip('"') for p in (kind, type_name, name) if p)
                        found.append((file, address, body))
    return found


def plan_time_problems(module: Module | None = None) -> list[str]:
    """One line per for_each/count that is not known at plan time on a fresh state."""
    module = module if module is not None else parsed()
    local_values = module_locals(module)
    problems = []
    for file, address, body in _blocks(module):
        for argument in ("for_each", "count"):
            expression = body.get(argument)
            if expression is None:
                continue
            if argument == "for_each" and _keys_only(expression, local_values):
                continue
            if refs := apply_time_references(expression, local_values):
                problems.append(
                    f"{file}: {address}.{argument} depends on {', '.join(sorted(refs))}, "
                    "known only after apply"
                )
    return problems

"""Render the Terraform module's JSON templates without Terraform.

The templates (deploy/terraform/templates/*.json.tftpl) use a subset of Terraform's template
syntax on purpose: `${name}` and `${jsonencode(name)}`, nothing else. Rendering that subset here
gives the same text `templatefile()` gives, so the documents `make deploy-check` validates are
the ones `terraform apply` sends. Anything outside the subset is refused, not guessed at.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "deploy" / "terraform"
TEMPLATES = MODULE / "templates"
RENDERED = ROOT / "deploy" / "rendered"
EXAMPLE_VALUES = ROOT / "deploy" / "example-values.json"

PLACEHOLDER = re.compile(r"\$\{(.*?)\}")
PLAIN = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*$")
ENCODED = re.compile(r"^\s*jsonencode\(\s*([a-z_][a-z0-9_]*)\s*\)\s*$")


class TemplateError(ValueError):
    pass


def template_names() -> list[str]:
    return sorted(p.name.removesuffix(".json.tftpl") for p in TEMPLATES.glob("*.json.tftpl"))


def template_text(name: str) -> str:
    return (TEMPLATES / f"{name}.json.tftpl").read_text()


def variables_used(text: str) -> set[str]:
    """The variable names a template reads (and a check that it stays inside the subset)."""
    if "%{" in text:
        raise TemplateError("template directives (%{...}) are outside the rendered subset")
    names = set()
    for expression in PLACEHOLDER.findall(text):
        match = PLAIN.match(expression) or ENCODED.match(expression)
        if match is None:
            raise TemplateError(f"unsupported expression ${{{expression}}}")
        names.add(match.group(1))
    return names


def _interpolate(value: Any) -> str:
    """A value in "${...}": strings as they are, numbers as Terraform prints them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise TemplateError(f"a {type(value).__name__} needs jsonencode() to be interpolated")


def render(text: str, values: dict[str, Any]) -> str:
    variables_used(text)

    def substitute(match: re.Match[str]) -> str:
        expression = match.group(1)
        if encoded := ENCODED.match(expression):
            return json.dumps(values[encoded.group(1)], separators=(",", ":"))
        plain = PLAIN.match(expression)
        assert plain is not None
        return _interpolate(values[plain.group(1)])

    return PLACEHOLDER.sub(substitute, text)


def example_values() -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = json.loads(EXAMPLE_VALUES.read_text())
    return values


def render_all(values: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Every template rendered with the example values, parsed; also written to deploy/rendered."""
    values = values or example_values()
    RENDERED.mkdir(exist_ok=True)
    documents = {}
    for name in template_names():
        text = render(template_text(name), values[name])
        documents[name] = json.loads(text)
        (RENDERED / f"{name}.json").write_text(json.dumps(documents[name], indent=2) + "\n")
    return documents

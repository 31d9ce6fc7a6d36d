"""Every attribute and block deploy/terraform writes, checked against the real provider's schema
(`tofu providers schema -json`): it must exist, and not be deprecated. `tofu validate` refuses an
unknown name too, but only warns about some deprecations and says nothing of a block nested in a
`dynamic`; this walks every level, and names each finding by resource and path."""

from __future__ import annotations

from typing import Any

from deploy import terraform_files

PROVIDER = "registry.opentofu.org/hashicorp/aws"
META_ARGUMENTS = frozenset({
    "count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection",
})  # fmt: skip


def findings(schema_document: dict[str, Any]) -> list[str]:
    """Unknown or deprecated names, as 'aws_x.name: path: problem'."""
    schemas = schema_document["provider_schemas"][PROVIDER]
    found: list[str] = []
    for kind, section in (("resource", "resource_schemas"), ("data", "data_source_schemas")):
        for document in terraform_files.parsed().values():
            for entry in document.get(kind, []):
                for type_name, blocks in entry.items():
                    type_name = type_name.strip('"')
                    for name, body in blocks.items():
                        schema = schemas[section].get(type_name)
                        where = f"{type_name}.{name.strip(chr(34))}"
                        if schema is None:
                            found.append(f"{where}: no such {kind} type")
                            continue
                        found += _check_block(where, body, schema["block"])
    return found


def _check_block(where: str, body: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    attributes = schema.get("attributes", {})
    nested = schema.get("block_types", {})
    found: list[str] = []
    for key, value in body.items():
        if key.startswith("__") or key in META_ARGUMENTS:
            continue
        if key == "dynamic":
            for dynamic in value:
                for label, spec in dynamic.items():
                    found += _check_nested(where, label.strip('"'), spec.get("content", []), nested)
        elif key in attributes:
            if attributes[key].get("deprecated"):
                found.append(f"{where}: {key}: deprecated")
        elif key in nested:
            found += _check_nested(where, key, value, nested)
        else:
            found.append(f"{where}: {key}: not in the provider's schema")
    return found


def _check_nested(where: str, key: str, bodies: Any, nested: dict[str, Any]) -> list[str]:
    if key not in nested:
        return [f"{where}: {key}: no such block in the provider's schema"]
    block = nested[key]["block"]
    problems = [f"{where}: {key}: deprecated"] if block.get("deprecated") else []
    for body in bodies if isinstance(bodies, list) else [bodies]:
        problems += _check_block(f"{where}.{key}", body, block)
    return problems

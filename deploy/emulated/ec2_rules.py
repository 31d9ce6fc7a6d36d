"""The description of a security group rule that references another group, which moto stores
but never returns (DescribeSecurityGroupRules): every second plan would set it again.

The provider creates one rule per call (aws_vpc_security_group_ingress_rule and _egress_rule),
so a call's one description belongs to the one rule id moto answers with; DescribeSecurityGroupRules
answers get it written back. EC2 speaks its query protocol: a form in, XML out.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

AUTHORIZE = frozenset({"AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress"})
DESCRIBE = "DescribeSecurityGroupRules"
PAIR_DESCRIPTION = re.compile(r"IpPermissions\.\d+\.(?:Groups|UserIdGroupPairs)\.\d+\.Description")
RULE_ID = re.compile(rb"<securityGroupRuleId>(sgr-[0-9a-z]+)</securityGroupRuleId>")


def action(body: bytes) -> tuple[str, dict[str, str]]:
    form = dict(parse_qsl(body.decode("utf-8", "replace")))
    return form.get("Action", ""), form


def pair_description(form: dict[str, str]) -> str | None:
    """The description of the call's one group-referencing rule, if it has exactly one."""
    found = [value for key, value in form.items() if PAIR_DESCRIPTION.fullmatch(key)]
    return found[0] if len(found) == 1 else None


def created_rule(answer: bytes) -> str | None:
    ids = RULE_ID.findall(answer)
    return ids[0].decode() if len(ids) == 1 else None


def with_descriptions(answer: bytes, descriptions: dict[str, str]) -> bytes:
    """moto's DescribeSecurityGroupRules answer with each known rule's description put back."""
    items = answer.split(b"<securityGroupRuleId>")
    for index in range(1, len(items)):
        rule_id = items[index].split(b"<", 1)[0].decode()
        if rule_id in descriptions and b"<description>" not in items[index]:
            closing = b"</securityGroupRuleId>"
            head, _, rest = items[index].partition(closing)
            element = f"<description>{escape(descriptions[rule_id])}</description>".encode()
            items[index] = head + closing + element + rest
    return b"<securityGroupRuleId>".join(items)

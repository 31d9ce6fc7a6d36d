"""X-Ray groups, sampling rules and their tags, as the X-Ray API holds them (moto has none).

Just the calls the provider's aws_xray_group and aws_xray_sampling_rule make, with X-Ray's own
defaults filled in where the API documents one, so that a second plan reads back what it wrote.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from deploy.emulated.resource_tags import ResourceTags

ACCOUNT, REGION = "123456789012", "us-east-1"  # moto's account, deploy-plan's region
ARN = f"arn:aws:xray:{REGION}:{ACCOUNT}"
OPERATIONS = frozenset({
    "CreateGroup", "GetGroup", "UpdateGroup", "DeleteGroup", "CreateSamplingRule",
    "GetSamplingRules", "UpdateSamplingRule", "DeleteSamplingRule", "TagResource",
    "UntagResource", "ListTagsForResource",
})  # fmt: skip


class XRayError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class XRayState:
    def __init__(self) -> None:
        self.groups: dict[str, dict[str, Any]] = {}  # by ARN
        self.rules: dict[str, dict[str, Any]] = {}  # records by rule name
        self.tags = ResourceTags()

    @staticmethod
    def serves(path: str) -> bool:
        return path.strip("/") in OPERATIONS

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = getattr(self, _snake(operation))(request)
        return answer

    # Groups

    def create_group(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["GroupName"]
        if any(g["GroupName"] == name for g in self.groups.values()):
            raise XRayError("InvalidRequestException", f"Group {name} already exists")
        group = {
            "GroupName": name,
            "GroupARN": f"{ARN}:group/{name}/{uuid.uuid4().hex[:26].upper()}",
            "FilterExpression": request.get("FilterExpression", ""),
            "InsightsConfiguration": {"InsightsEnabled": False, "NotificationsEnabled": False}
            | request.get("InsightsConfiguration", {}),
        }
        self.groups[group["GroupARN"]] = group
        self.tags.add(group["GroupARN"], request.get("Tags", []))
        return {"Group": group}

    def get_group(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"Group": self._group(request)}

    def update_group(self, request: dict[str, Any]) -> dict[str, Any]:
        group = self._group(request)
        if "FilterExpression" in request:
            group["FilterExpression"] = request["FilterExpression"]
        group["InsightsConfiguration"] |= request.get("InsightsConfiguration", {})
        return {"Group": group}

    def delete_group(self, request: dict[str, Any]) -> dict[str, Any]:
        group = self._group(request)
        del self.groups[group["GroupARN"]]
        self.tags.drop(group["GroupARN"])
        return {}

    def _group(self, request: dict[str, Any]) -> dict[str, Any]:
        for group in self.groups.values():
            if request.get("GroupARN") in (None, group["GroupARN"]) and request.get(
                "GroupName"
            ) in (None, group["GroupName"]):
                return group
        raise XRayError("InvalidRequestException", "Group not found")

    # Sampling rules

    def create_sampling_rule(self, request: dict[str, Any]) -> dict[str, Any]:
        rule = dict(request["SamplingRule"])
        name = rule["RuleName"]
        if name in self.rules:
            raise XRayError("InvalidRequestException", f"Rule {name} already exists")
        rule["RuleARN"] = f"{ARN}:sampling-rule/{name}"
        rule.setdefault("Attributes", {})
        now = time.time()
        self.rules[name] = {"SamplingRule": rule, "CreatedAt": now, "ModifiedAt": now}
        self.tags.add(rule["RuleARN"], request.get("Tags", []))
        return {"SamplingRuleRecord": self.rules[name]}

    def get_sampling_rules(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"SamplingRuleRecords": list(self.rules.values())}

    def update_sampling_rule(self, request: dict[str, Any]) -> dict[str, Any]:
        update = dict(request["SamplingRuleUpdate"])
        record = self._rule(update.pop("RuleName", None), update.pop("RuleARN", None))
        record["SamplingRule"].update(update)
        record["ModifiedAt"] = time.time()
        return {"SamplingRuleRecord": record}

    def delete_sampling_rule(self, request: dict[str, Any]) -> dict[str, Any]:
        record = self._rule(request.get("RuleName"), request.get("RuleARN"))
        del self.rules[record["SamplingRule"]["RuleName"]]
        self.tags.drop(record["SamplingRule"]["RuleARN"])
        return {"SamplingRuleRecord": record}

    def _rule(self, name: str | None, arn: str | None) -> dict[str, Any]:
        for record in self.rules.values():
            rule = record["SamplingRule"]
            if name in (None, rule["RuleName"]) and arn in (None, rule["RuleARN"]):
                return record
        raise XRayError("InvalidRequestException", "Sampling rule does not exist")

    # Tags

    def tag_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.tags.call("TagResource", self._known(request["ResourceARN"]), request)

    def untag_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.tags.call("UntagResource", self._known(request["ResourceARN"]), request)

    def list_tags_for_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.tags.call("ListTagsForResource", self._known(request["ResourceARN"]), request)

    def _known(self, arn: str) -> str:
        rules = {r["SamplingRule"]["RuleARN"] for r in self.rules.values()}
        if arn not in self.groups and arn not in rules:
            raise XRayError("ResourceNotFoundException", f"{arn} not found", 404)
        return arn


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")

"""X-Ray groups, sampling rules and their tags, as the X-Ray API holds them (moto has none).

Just the calls the provider's aws_xray_group and aws_xray_sampling_rule make, with X-Ray's own
defaults filled in where the API documents one, so that a second plan reads back what it wrote.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

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
        self.tags: dict[str, dict[str, str]] = {}  # by ARN

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
        self._tag(group["GroupARN"], request.get("Tags", []))
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
        self.tags.pop(group["GroupARN"], None)
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
        self._tag(rule["RuleARN"], request.get("Tags", []))
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
        self.tags.pop(record["SamplingRule"]["RuleARN"], None)
        return {"SamplingRuleRecord": record}

    def _rule(self, name: str | None, arn: str | None) -> dict[str, Any]:
        for record in self.rules.values():
            rule = record["SamplingRule"]
            if name in (None, rule["RuleName"]) and arn in (None, rule["RuleARN"]):
                return record
        raise XRayError("InvalidRequestException", "Sampling rule does not exist")

    # Tags

    def tag_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        self._known(request["ResourceARN"])
        self._tag(request["ResourceARN"], request.get("Tags", []))
        return {}

    def untag_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        tags = self.tags.get(self._known(request["ResourceARN"]), {})
        for key in request.get("TagKeys", []):
            tags.pop(key, None)
        return {}

    def list_tags_for_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        tags = self.tags.get(self._known(request["ResourceARN"]), {})
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}

    def _tag(self, arn: str, tags: list[dict[str, str]]) -> None:
        self.tags.setdefault(arn, {}).update({t["Key"]: t["Value"] for t in tags})

    def _known(self, arn: str) -> str:
        rules = {r["SamplingRule"]["RuleARN"] for r in self.rules.values()}
        if arn not in self.groups and arn not in rules:
            raise XRayError("ResourceNotFoundException", f"{arn} not found", 404)
        return arn


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")

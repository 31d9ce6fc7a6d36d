"""CloudWatch composite alarms, as CloudWatch holds them (moto routes no PutCompositeAlarm): the
calls aws_cloudwatch_composite_alarm makes, answered before the call would reach moto."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deploy.emulated.xray_state import ACCOUNT, REGION

ARN = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:"
COMPOSITE = "CompositeAlarm"


class CompositeAlarms:
    def __init__(self) -> None:
        self.alarms: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, dict[str, str]] = {}  # by ARN

    def answers(self, operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The answer to a call about composite alarms; None for one moto should answer."""
        if operation == "PutCompositeAlarm":
            return self._put(params)
        if operation == "DescribeAlarms" and params.get("AlarmTypes") == [COMPOSITE]:
            names = params.get("AlarmNames")
            found = [a for n, a in self.alarms.items() if names is None or n in names]
            return {"CompositeAlarms": found, "MetricAlarms": []}
        if operation in ("TagResource", "UntagResource", "ListTagsForResource"):
            arn = params["ResourceARN"]
            return self._tags(operation, arn, params) if arn in self.tags else None
        return None

    def delete(self, names: list[str]) -> None:
        for name in names:
            if self.alarms.pop(name, None) is not None:
                self.tags.pop(ARN + name, None)

    def _put(self, params: dict[str, Any]) -> dict[str, Any]:
        name, now = params["AlarmName"], datetime.now(UTC)
        self.alarms[name] = {
            "AlarmName": name,
            "AlarmArn": ARN + name,
            "AlarmRule": params["AlarmRule"],
            "AlarmDescription": params.get("AlarmDescription"),
            "ActionsEnabled": params.get("ActionsEnabled", True),
            "AlarmActions": params.get("AlarmActions", []),
            "OKActions": params.get("OKActions", []),
            "InsufficientDataActions": params.get("InsufficientDataActions", []),
            "StateValue": "INSUFFICIENT_DATA",
            "StateReason": "Unchecked: emulated",
            "StateUpdatedTimestamp": now,
            "AlarmConfigurationUpdatedTimestamp": now,
        }
        tags = self.tags.setdefault(ARN + name, {})
        tags.update({t["Key"]: t["Value"] for t in params.get("Tags", [])})
        return {}

    def _tags(self, operation: str, arn: str, params: dict[str, Any]) -> dict[str, Any]:
        tags = self.tags[arn]
        if operation == "TagResource":
            tags.update({t["Key"]: t["Value"] for t in params.get("Tags", [])})
        elif operation == "UntagResource":
            for key in params.get("TagKeys", []):
                tags.pop(key, None)
        else:
            return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        return {}

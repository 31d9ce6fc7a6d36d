"""CloudWatch composite alarms, as CloudWatch holds them (moto routes no PutCompositeAlarm): the
calls aws_cloudwatch_composite_alarm makes, answered before the call would reach moto."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deploy.emulated.resource_tags import OPERATIONS as TAG_OPERATIONS
from deploy.emulated.resource_tags import ResourceTags
from deploy.emulated.xray_state import ACCOUNT, REGION

ARN = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:"
COMPOSITE = "CompositeAlarm"


class CompositeAlarms:
    def __init__(self) -> None:
        self.alarms: dict[str, dict[str, Any]] = {}
        self.tags = ResourceTags()

    def answers(self, operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The answer to a call about composite alarms; None for one moto should answer."""
        if operation == "PutCompositeAlarm":
            return self._put(params)
        if operation == "DescribeAlarms" and params.get("AlarmTypes") == [COMPOSITE]:
            names = params.get("AlarmNames")
            found = [a for n, a in self.alarms.items() if names is None or n in names]
            return {"CompositeAlarms": found, "MetricAlarms": []}
        if operation in TAG_OPERATIONS:
            arn = params["ResourceARN"]
            return self.tags.call(operation, arn, params) if arn in self.tags else None
        return None

    def delete(self, names: list[str]) -> None:
        for name in names:
            if self.alarms.pop(name, None) is not None:
                self.tags.drop(ARN + name)

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
        self.tags.add(ARN + name, params.get("Tags", []))
        return {}

"""Tags by resource ARN in the form CloudWatch's and X-Ray's APIs take and give them (a list of
{"Key", "Value"}): what their TagResource, UntagResource and ListTagsForResource do."""

from __future__ import annotations

from typing import Any

OPERATIONS = frozenset({"TagResource", "UntagResource", "ListTagsForResource"})


class ResourceTags:
    def __init__(self) -> None:
        self.by_arn: dict[str, dict[str, str]] = {}

    def __contains__(self, arn: str) -> bool:
        return arn in self.by_arn

    def add(self, arn: str, tags: list[dict[str, str]]) -> None:
        self.by_arn.setdefault(arn, {}).update({t["Key"]: t["Value"] for t in tags})

    def drop(self, arn: str) -> None:
        self.by_arn.pop(arn, None)

    def call(self, operation: str, arn: str, request: dict[str, Any]) -> dict[str, Any]:
        """One of OPERATIONS on a resource this store knows (the caller checks it exists)."""
        if operation == "TagResource":
            self.add(arn, request.get("Tags", []))
        elif operation == "UntagResource":
            for key in request.get("TagKeys", []):
                self.by_arn.get(arn, {}).pop(key, None)
        else:
            tags = self.by_arn.get(arn, {})
            return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        return {}

"""CloudWatch Logs Insights query definitions, as the Logs API holds them (moto has none): the
calls aws_cloudwatch_query_definition makes."""

from __future__ import annotations

import time
import uuid
from typing import Any


class QueryDefinitions:
    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        if operation == "PutQueryDefinition":
            return self._put(request)
        if operation == "DeleteQueryDefinition":
            return {"success": self.by_id.pop(request["queryDefinitionId"], None) is not None}
        prefix = request.get("queryDefinitionNamePrefix", "")
        found = [d for d in self.by_id.values() if d["name"].startswith(prefix)]
        return {"queryDefinitions": found}

    def _put(self, request: dict[str, Any]) -> dict[str, Any]:
        identifier = request.get("queryDefinitionId") or str(uuid.uuid4())
        self.by_id[identifier] = {
            "queryDefinitionId": identifier,
            "name": request["name"],
            "queryString": request["queryString"],
            "logGroupNames": request.get("logGroupNames", []),
            "lastModified": int(time.time() * 1000),
        }
        return {"queryDefinitionId": identifier}

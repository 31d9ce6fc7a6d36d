"""A fake of the three X-Ray APIs the service's traces touch, on loopback: GetSamplingRules,
SamplingTargets (what the collector's awsproxy forwards) and PutTraceSegments (what its awsxray
exporter sends). Its one rule can be changed while it runs; it remembers every call.

moto's X-Ray has no sampling rules (nor targets), hence this. Requests are not authenticated:
the signature the collector adds is accepted unread, as moto does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from harness.json_http import JsonHandler, serving


@dataclass
class FakeXRay:
    """The rule, as X-Ray would hold it, and what each call brought."""

    rule: dict[str, Any]
    interval: int = 1  # seconds between SamplingTargets calls that X-Ray asks for
    modified_at: float = field(default_factory=time.time)
    statistics: list[dict[str, Any]] = field(default_factory=list)
    served_rates: list[float] = field(default_factory=list)  # FixedRate of each targets answer
    rules_calls: int = 0
    segments: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def change_rule(self, **fields: Any) -> None:
        with self.lock:
            self.rule = {**self.rule, **fields}
            self.modified_at = time.time()

    def answer(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        with self.lock:
            if path == "/GetSamplingRules":
                self.rules_calls += 1
                return {"SamplingRuleRecords": [{"SamplingRule": self.rule}]}
            if path == "/SamplingTargets":
                return self._targets(body["SamplingStatisticsDocuments"])
            if path == "/TraceSegments":
                self.segments += [json.loads(d) for d in body["TraceSegmentDocuments"]]
                return {"UnprocessedTraceSegments": []}
        return None

    def _targets(self, statistics: list[dict[str, Any]]) -> dict[str, Any]:
        self.statistics += statistics
        self.served_rates.append(self.rule["FixedRate"])
        target = {
            "RuleName": self.rule["RuleName"],
            "FixedRate": self.rule["FixedRate"],
            "ReservoirQuota": 0,
            "ReservoirQuotaTTL": time.time() + 60,
            "Interval": self.interval,
        }
        return {"SamplingTargetDocuments": [target], "LastRuleModification": self.modified_at}

    def root_traces(self) -> set[str]:
        """Trace ids of the root segments received: one per trace the service started."""
        with self.lock:
            return {s["trace_id"] for s in self.segments if "parent_id" not in s}

    def traces(self) -> set[str]:
        with self.lock:
            return {s["trace_id"] for s in self.segments}

    def counted(self, since: int = 0) -> tuple[int, int]:
        """(requests, sampled) the clients reported, from the `since`th statistics document."""
        with self.lock:
            documents = self.statistics[since:]
        return sum(d["RequestCount"] for d in documents), sum(d["SampledCount"] for d in documents)


def _handler(fake: FakeXRay) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
            answer = fake.answer(self.path, self.read_json())
            if answer is None:
                self.send_json(404, {"message": f"no such API: {self.path}"})
            else:
                self.send_json(200, answer)

    return Handler


@contextmanager
def running_fake_xray(rule: dict[str, Any], interval: int = 1) -> Iterator[FakeXRay]:
    fake = FakeXRay(rule=rule, interval=interval)
    with serving(_handler(fake)) as url:
        fake.url = url
        yield fake


def rule(name: str = "veda-wfs3", fixed_rate: float = 0.0, **fields: Any) -> dict[str, Any]:
    """A sampling rule as X-Ray stores it: every field a wildcard unless given."""
    wildcards = dict.fromkeys(
        ("ServiceName", "ServiceType", "Host", "HTTPMethod", "URLPath", "ResourceARN"), "*"
    )
    return {
        "RuleName": name,
        "RuleARN": f"arn:aws:xray:us-east-1:123456789012:sampling-rule/{name}",
        "Priority": 1000,
        "FixedRate": fixed_rate,
        "ReservoirSize": 0,
        "Version": 1,
        "Attributes": {},
        **wildcards,
        **fields,
    }

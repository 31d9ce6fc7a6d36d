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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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


def _handler(fake: FakeXRay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
            length = int(self.headers.get("Content-Length", 0))
            answer = fake.answer(self.path, json.loads(self.rfile.read(length) or b"{}"))
            body = json.dumps(answer or {"message": f"no such API: {self.path}"}).encode()
            self.send_response(200 if answer is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet: pytest shows a failing test's output, and this would flood it."""

    return Handler


@contextmanager
def running_fake_xray(rule: dict[str, Any], interval: int = 1) -> Iterator[FakeXRay]:
    fake = FakeXRay(rule=rule, interval=interval)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


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

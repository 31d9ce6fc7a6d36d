"""Keeps an XRayRulesSampler current: its rules, and this client's targets, from X-Ray.

A daemon thread per process (each uvicorn worker is its own X-Ray client). Calls go to the
collector's awsproxy extension, which signs them and forwards them to X-Ray. Each SamplingTargets
call reports what every rule decided since the last one, and gets back this client's share; when
X-Ray says a rule changed after our copy, the rules are fetched again at once. A failing proxy is
logged when it starts failing and when it recovers, not at every poll.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from app.otel.xray_sampler import XRayRulesSampler

logger = logging.getLogger(__name__)

DEFAULT_TARGETS_SECONDS = 10.0
REQUEST_TIMEOUT_SECONDS = 2.0
MAX_RULE_PAGES = 100  # X-Ray pages rules by 100s; more pages than this would be a loop
JITTER_SECONDS = 0.1  # spreads the workers' and tasks' polls apart


class SamplingProxyClient:
    """GetSamplingRules and SamplingTargets through the collector's awsproxy (unsigned HTTP)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint.rstrip("/")

    def rules(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        page: dict[str, Any] = {}
        for _ in range(MAX_RULE_PAGES):
            answer = self._post("/GetSamplingRules", page)
            records += answer.get("SamplingRuleRecords", [])
            if not answer.get("NextToken"):
                return records
            page = {"NextToken": answer["NextToken"]}
        raise ValueError(f"GetSamplingRules still paging after {MAX_RULE_PAGES} pages")

    def targets(self, statistics: list[dict[str, Any]]) -> dict[str, Any]:
        return self._post("/SamplingTargets", {"SamplingStatisticsDocuments": statistics})

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.endpoint + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            answer: dict[str, Any] = json.load(response)
        return answer


class SamplingPoller:
    """Polls rules every `rules_seconds` and targets as often as X-Ray asks, until stopped."""

    def __init__(
        self, sampler: XRayRulesSampler, client: SamplingProxyClient, rules_seconds: float
    ) -> None:
        self.sampler = sampler
        self.client = client
        self.rules_seconds = rules_seconds
        self.targets_seconds = DEFAULT_TARGETS_SECONDS
        self._stop = threading.Event()
        self._failing = False
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="xray-sampling", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait_seconds: float = REQUEST_TIMEOUT_SECONDS + 1) -> None:
        """Stop polling; waits up to `wait_seconds` for a call in flight to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(wait_seconds)

    def _run(self) -> None:
        rules_due = targets_due = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= rules_due:
                fetched = self._attempt(self._poll_rules)
                # Unreachable: retried at the targets' pace, not in five minutes.
                rules_due = now + (self.rules_seconds if fetched else self.targets_seconds)
                rules_due += random.uniform(0, JITTER_SECONDS)
                targets_due = now + self.targets_seconds if fetched else targets_due
            if now >= targets_due:
                if self.sampler.rules and self._attempt(self._poll_targets):
                    rules_due = now  # X-Ray says the rules changed since our copy
                targets_due = now + self.targets_seconds + random.uniform(0, JITTER_SECONDS)
            self._stop.wait(max(0.0, min(rules_due, targets_due) - time.monotonic()))

    def _poll_rules(self) -> bool:
        before = self.sampler.describe_rules()
        self.sampler.take_rules(self.client.rules())
        if (after := self.sampler.describe_rules()) != before:
            logger.info("X-Ray sampling rules for this service: %s", after or "none")
        return True

    def _poll_targets(self) -> bool:
        """Report and take targets; whether the rules changed after our copy of them."""
        answer = self.client.targets(self.sampler.statistics())
        documents = answer.get("SamplingTargetDocuments", [])
        self.sampler.take_targets(documents)
        intervals = [float(d["Interval"]) for d in documents if d.get("Interval")]
        self.targets_seconds = min(intervals, default=DEFAULT_TARGETS_SECONDS)
        changed = float(answer.get("LastRuleModification", 0))
        return changed > self.sampler.rules_fetched_at

    def _attempt(self, poll: Callable[[], bool]) -> bool | None:
        """poll()'s answer, or None when the proxy failed (logged once per outage)."""
        try:
            result = poll()
        except (OSError, ValueError, KeyError) as error:  # URLError and timeouts are OSErrors
            self.failures += 1
            if not self._failing:
                logger.warning("X-Ray sampling proxy %s failing: %s", self.client.endpoint, error)
            self._failing = True
            return None
        if self._failing:
            logger.info("X-Ray sampling proxy %s answering again", self.client.endpoint)
        self._failing = False
        return result

"""OTEL_TRACES_SAMPLER=xray: sample new traces by the X-Ray sampling rules of the account.

The rules and this client's targets are polled through the collector's `awsproxy` extension
(GetSamplingRules every WFS3_XRAY_RULES_INTERVAL seconds, SamplingTargets at the interval X-Ray
asks for, 10 s by default), which signs the calls with the task role: the service holds no AWS
credentials. Until the first rules arrive, when the proxy cannot be reached, and once the rules
are an hour old, the sampler falls back to OTEL_TRACES_SAMPLER_ARG's ratio. It is the root of a
parent-based sampler: a caller's decision (X-Ray or W3C header) is always kept.

Written here because no Python implementation installs beside our own setup: the ADOT Python
distro's sampler comes with its configurator, which takes over `opentelemetry-instrument`, and
opentelemetry-sdk-extension-aws has none.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.sampling import (
    Decision,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from app.otel.sampling_rules import SERVICE_TYPES, RuleInForce, Service, rules_in_force

RULES_STALE_SECONDS = 3600  # as X-Ray's SDKs: older rules than this are not trusted


class XRayRulesSampler(Sampler):
    """Decides a new trace by the first rule that matches it; the ratio when it has none."""

    def __init__(
        self, resource: Resource, fallback_ratio: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._service = _service(resource)
        self._fallback = TraceIdRatioBased(fallback_ratio)
        self._clock = clock
        self.rules: tuple[RuleInForce, ...] = ()
        self._ours: tuple[RuleInForce, ...] = ()  # the rules that serve this service
        self.rules_fetched_at = float("-inf")
        self.client_id = os.urandom(12).hex()  # one per process: X-Ray shares quotas by client

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        now = self._clock()
        rule = self._rule_for(attributes or {}, now)
        if rule is None:
            return self._fallback.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )
        decision = Decision.RECORD_AND_SAMPLE if rule.decide(trace_id, now) else Decision.DROP
        return SamplingResult(decision, attributes, trace_state)

    def get_description(self) -> str:
        return f"XRayRulesSampler{{fallback={self._fallback.get_description()}}}"

    def _rule_for(self, attributes: Mapping[str, Any], now: float) -> RuleInForce | None:
        if now - self.rules_fetched_at > RULES_STALE_SECONDS:
            return None
        method = str(attributes.get("http.request.method", ""))
        path = str(attributes.get("url.path", "/"))
        host = str(attributes.get("server.address", ""))
        return next(
            (held for held in self._ours if held.rule.matches(method, path, host, attributes)), None
        )

    def take_rules(self, records: Sequence[Mapping[str, Any]]) -> None:
        rules = rules_in_force(records, self.rules)
        self._ours = tuple(held for held in rules if held.rule.serves(self._service))
        self.rules, self.rules_fetched_at = rules, self._clock()

    def describe_rules(self) -> str:
        """The rules that serve this service, in the order they are tried, for the log."""
        return "; ".join(
            f"{held.rule.name} (priority {held.rule.priority}, {held.rule.reservoir_size}/s then "
            f"{held.rule.fixed_rate:.0%})"
            for held in self._ours
        )

    def statistics(self) -> list[dict[str, Any]]:
        now = self._clock()
        return [held.statistics(self.client_id, now) for held in self.rules]

    def take_targets(self, targets: Sequence[Mapping[str, Any]]) -> None:
        by_name = {held.rule.name: held for held in self.rules}
        for target in targets:
            if held := by_name.get(target.get("RuleName", "")):
                held.apply_target(target)


def _service(resource: Resource) -> Service:
    attributes = resource.attributes
    return Service(
        name=str(attributes.get("service.name", "")),
        type=SERVICE_TYPES.get(str(attributes.get("cloud.platform", "")), ""),
        arn=str(attributes.get("aws.ecs.container.arn", "")),
    )

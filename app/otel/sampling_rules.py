"""X-Ray sampling rules: which rule a request falls under, and what that rule decides.

X-Ray's centralized sampling (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html)
gives each rule a reservoir (so many traces per second, shared by every client of the rule) and a
fixed rate for the requests beyond it. The shares come from X-Ray as *targets* (this client's
quota per second until a TTL, and the rate). While it holds no quota (none yet, or expired), a
client may "borrow" one trace a second from a rule that has a reservoir, as X-Ray's SDKs do.

A rule matches on the service (name, type from the resource's cloud.platform, ARN), the request
(method, URL path, host) and any attributes it names; `*` and `?` are wildcards. This module is
pure (the time is always passed in): app/otel/xray_sampler.py asks it, and
app/otel/sampling_poller.py keeps it current from X-Ray.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

# X-Ray's ServiceType for OpenTelemetry's cloud.platform values.
SERVICE_TYPES = {
    "aws_ec2": "AWS::EC2::Instance",
    "aws_ecs": "AWS::ECS::Container",
    "aws_eks": "AWS::EKS::Container",
    "aws_elastic_beanstalk": "AWS::ElasticBeanstalk::Environment",
    "aws_lambda": "AWS::Lambda::Function",
}
BORROW_PER_SECOND = 1


@lru_cache(maxsize=256)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def wildcard_match(pattern: str, text: str) -> bool:
    """X-Ray's glob: `*` any run of characters, `?` one character; case-sensitive, whole text."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern == text
    return _wildcard_regex(pattern).fullmatch(text) is not None


@dataclass(frozen=True)
class Service:
    """Who samples, from the resource: what a rule's service fields are matched against."""

    name: str
    type: str
    arn: str


@dataclass(frozen=True)
class SamplingRule:
    """One rule as GetSamplingRules returns it (the fields X-Ray's API names)."""

    name: str
    priority: int
    fixed_rate: float
    reservoir_size: int
    service_name: str = "*"
    service_type: str = "*"
    resource_arn: str = "*"
    http_method: str = "*"
    url_path: str = "*"
    host: str = "*"
    attributes: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_record(cls, rule: Mapping[str, Any]) -> SamplingRule:
        return cls(
            name=rule["RuleName"],
            priority=int(rule["Priority"]),
            fixed_rate=float(rule["FixedRate"]),
            reservoir_size=int(rule["ReservoirSize"]),
            service_name=rule.get("ServiceName", "*"),
            service_type=rule.get("ServiceType", "*"),
            resource_arn=rule.get("ResourceARN", "*"),
            http_method=rule.get("HTTPMethod", "*"),
            url_path=rule.get("URLPath", "*"),
            host=rule.get("Host", "*"),
            attributes=tuple(sorted((rule.get("Attributes") or {}).items())),
        )

    def serves(self, service: Service) -> bool:
        """Whether the rule is for this service at all (asked once per rules fetch)."""
        return (
            wildcard_match(self.service_name, service.name)
            and wildcard_match(self.service_type, service.type)
            and wildcard_match(self.resource_arn, service.arn)
        )

    def matches(self, method: str, path: str, host: str, attributes: Mapping[str, Any]) -> bool:
        """Whether a request of a service the rule serves falls under it."""
        return (
            wildcard_match(self.http_method, method)
            and wildcard_match(self.url_path, path)
            and wildcard_match(self.host, host)
            and all(
                key in attributes and wildcard_match(pattern, str(attributes[key]))
                for key, pattern in self.attributes
            )
        )


class Reservoir:
    """At most `per_second` takes in each wall-clock second."""

    def __init__(self, per_second: int) -> None:
        self.per_second = per_second
        self._second = -1
        self._taken = 0

    def take(self, now: float) -> bool:
        second = int(now)
        if second != self._second:
            self._second, self._taken = second, 0
        if self._taken >= self.per_second:
            return False
        self._taken += 1
        return True


class RuleInForce:
    """A rule with this client's target (quota, rate) and the counts X-Ray asks for."""

    def __init__(self, rule: SamplingRule) -> None:
        self.rule = rule
        self.fixed_rate = rule.fixed_rate
        self._borrowing = Reservoir(BORROW_PER_SECOND if rule.reservoir_size > 0 else 0)
        self._quota = Reservoir(0)
        self._quota_until = 0.0
        self._counts_lock = threading.Lock()  # sampled on the event loop, reported by the poller
        self._requests = self._sampled = self._borrowed = 0

    def decide(self, trace_id: int, now: float) -> bool:
        """Reservoir first, then the rate. The reservoir is this client's quota until its TTL;
        without one (none yet, or expired), one trace a second borrowed from the rule's."""
        borrowed = False
        if now < self._quota_until:
            sampled = self._quota.take(now)
        else:
            sampled = borrowed = self._borrowing.take(now)
        if not sampled:
            sampled = trace_id & TraceIdRatioBased.TRACE_ID_LIMIT < self._bound
        with self._counts_lock:
            self._requests += 1
            self._sampled += sampled
            self._borrowed += borrowed
        return sampled

    def apply_target(self, target: Mapping[str, Any]) -> None:
        """A SamplingTargetDocument: the rate, and a quota per second until its TTL."""
        self.fixed_rate = float(target.get("FixedRate", self.fixed_rate))
        if "ReservoirQuota" in target and "ReservoirQuotaTTL" in target:
            self._quota = Reservoir(int(target["ReservoirQuota"]))
            self._quota_until = float(target["ReservoirQuotaTTL"])

    @property
    def fixed_rate(self) -> float:
        return self._rate

    @fixed_rate.setter
    def fixed_rate(self, rate: float) -> None:
        # The SDK's TraceIdRatioBased test, on the trace id's random low 64 bits.
        self._rate, self._bound = rate, TraceIdRatioBased.get_bound_for_rate(rate)

    def statistics(self, client_id: str, now: float) -> dict[str, Any]:
        """A SamplingStatisticsDocument of the counts since the last one (which are reset)."""
        with self._counts_lock:
            counts = (self._requests, self._sampled, self._borrowed)
            self._requests = self._sampled = self._borrowed = 0
        return {
            "RuleName": self.rule.name,
            "ClientID": client_id,
            "Timestamp": now,
            "RequestCount": counts[0],
            "SampledCount": counts[1],
            "BorrowCount": counts[2],
        }


def rules_in_force(
    records: Sequence[Mapping[str, Any]], previous: tuple[RuleInForce, ...]
) -> tuple[RuleInForce, ...]:
    """The rules of a GetSamplingRules answer, by priority then name; an unchanged rule keeps
    its target and counts."""
    kept = {held.rule: held for held in previous}
    rules = sorted(
        (SamplingRule.from_record(r["SamplingRule"]) for r in records if _usable(r)),
        key=lambda rule: (rule.priority, rule.name),
    )
    return tuple(kept.get(rule) or RuleInForce(rule) for rule in rules)


def _usable(record: Mapping[str, Any]) -> bool:
    # Version 1 is the only rule format there is; a later one may mean what we cannot read.
    return int(record.get("SamplingRule", {}).get("Version", 1)) == 1

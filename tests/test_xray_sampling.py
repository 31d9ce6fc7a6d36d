"""X-Ray centralized sampling, in process: rule matching, reservoir and rate, the fallback, the
parent's decision, the poller against a fake X-Ray API, and the Terraform rule against the
sampler. End to end through the real collector's awsproxy: tests/test_xray_sampling_e2e.py."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.sampling import Decision, ParentBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from app.otel.sampling_poller import SamplingPoller, SamplingProxyClient
from app.otel.sampling_rules import RuleInForce, SamplingRule, Service, wildcard_match
from app.otel.xray_sampler import RULES_STALE_SECONDS, XRayRulesSampler
from deploy import render
from harness.fake_xray import FakeXRay, rule, running_fake_xray
from harness.polling import eventually
from harness.server_process import free_port

ECS = Resource({"service.name": "veda-wfs3", "cloud.platform": "aws_ecs"})
REQUEST = {"http.request.method": "GET", "url.path": "/collections", "server.address": "wfs3"}


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def trace_ids(count: int) -> Iterator[int]:
    for _ in range(count):
        yield int.from_bytes(os.urandom(16), "big")


ON_ECS = Service(name="veda-wfs3", type="AWS::ECS::Container", arn="")


def matches(rule_fields: dict[str, Any], attributes: dict[str, Any] | None = None) -> bool:
    """Whether a rule with these fields takes an items request of our service on ECS."""
    held = SamplingRule.from_record(rule(**rule_fields))
    request = ("GET", "/collections/public.fires/items", "wfs3.example.org", attributes or {})
    return held.serves(ON_ECS) and held.matches(*request)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("*", "", True),
        ("/collections/*", "/collections/a/items", True),
        ("/collections/*/items", "/collections/a/items", True),
        ("/collections/?", "/collections/ab", False),
        ("GET", "GET", True),
        ("GET", "get", False),  # X-Ray's matching is case-sensitive
        ("a.b", "axb", False),  # a dot is a dot, not a regex
        ("", "", True),
        ("", "x", False),
    ],
)
def test_wildcards(pattern: str, text: str, expected: bool) -> None:
    assert wildcard_match(pattern, text) is expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, True),
        ({"ServiceName": "other"}, False),
        ({"ServiceName": "veda-*"}, True),
        ({"ServiceType": "AWS::EC2::Instance"}, False),
        ({"HTTPMethod": "POST"}, False),
        ({"URLPath": "/collections/*/tiles/*"}, False),
        ({"URLPath": "/collections/*/items"}, True),
        ({"Host": "*.example.org"}, True),
        ({"Host": "other.example.org"}, False),
        ({"ResourceARN": "arn:aws:ecs:*"}, False),  # off ECS no ARN: only * matches
        ({"Attributes": {"tenant": "a*"}}, False),
    ],
)
def test_a_rule_matches_on_each_of_its_fields(fields: dict[str, Any], expected: bool) -> None:
    assert matches(fields) is expected


def test_a_rule_matches_attributes_by_wildcard() -> None:
    assert matches({"Attributes": {"tenant": "a*"}}, {"tenant": "abc"})
    assert not matches({"Attributes": {"tenant": "a*"}}, {"tenant": "b"})


def test_without_a_target_a_reservoir_lends_one_trace_a_second() -> None:
    held = RuleInForce(SamplingRule.from_record(rule(ReservoirSize=5, FixedRate=0.0)))
    decisions = [held.decide(t, 100.2) for t in trace_ids(10)]
    assert decisions.count(True) == 1
    assert held.decide(next(trace_ids(1)), 101.0)  # a new second, a new loan
    stats = held.statistics("c", 101.0)
    assert (stats["RequestCount"], stats["SampledCount"], stats["BorrowCount"]) == (11, 2, 2)
    assert held.statistics("c", 102.0)["RequestCount"] == 0  # counts are reset once reported


def test_a_rule_without_a_reservoir_lends_nothing() -> None:
    held = RuleInForce(SamplingRule.from_record(rule(ReservoirSize=0, FixedRate=0.0)))
    assert not any(held.decide(t, 100.0) for t in trace_ids(50))


def test_a_target_gives_a_quota_until_its_ttl_then_the_loan_again() -> None:
    held = RuleInForce(SamplingRule.from_record(rule(ReservoirSize=5, FixedRate=0.0)))
    held.apply_target({"FixedRate": 0.0, "ReservoirQuota": 3, "ReservoirQuotaTTL": 200.0})
    assert [held.decide(t, 150.5) for t in trace_ids(5)].count(True) == 3
    assert [held.decide(t, 200.5) for t in trace_ids(5)].count(True) == 1  # expired: borrow
    assert held.statistics("c", 201.0)["BorrowCount"] == 1


@pytest.mark.parametrize(("rate", "sampled"), [(0.0, 0), (1.0, 200)])
def test_beyond_the_reservoir_the_target_rate_decides(rate: float, sampled: int) -> None:
    held = RuleInForce(SamplingRule.from_record(rule(FixedRate=1.0 - rate)))
    held.apply_target({"FixedRate": rate})
    assert [held.decide(t, 100.0) for t in trace_ids(200)].count(True) == sampled


def test_the_rate_is_the_sdks_trace_id_ratio() -> None:
    """Same trace id, same decision as TraceIdRatioBased: X-Ray's rate is a share of trace ids."""
    held = RuleInForce(SamplingRule.from_record(rule(FixedRate=0.5)))
    low, high = 0x1234 << 64 | 1, 0x1234 << 64 | (1 << 63) | 1
    assert held.decide(low, 100.0) and not held.decide(high, 100.0)


def records(*rules: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"SamplingRule": r} for r in rules]


def test_rules_are_tried_by_priority_then_name() -> None:
    sampler = XRayRulesSampler(ECS, fallback_ratio=0.0)
    sampler.take_rules(
        records(
            rule("Default", Priority=10000, FixedRate=0.0),
            rule("b-items", Priority=10, FixedRate=0.0, URLPath="/collections/*/items"),
            rule("a-items", Priority=10, FixedRate=1.0, URLPath="/collections/*/items"),
            rule("later", Priority=2, FixedRate=1.0, Version=2),  # a format we cannot read
        )
    )
    assert [held.rule.name for held in sampler.rules] == ["a-items", "b-items", "Default"]
    items = {**REQUEST, "url.path": "/collections/x/items"}
    assert decide(sampler, items) is Decision.RECORD_AND_SAMPLE  # a-items
    assert decide(sampler, REQUEST) is Decision.DROP  # Default


def test_an_unchanged_rule_keeps_its_target_across_a_refresh() -> None:
    sampler = XRayRulesSampler(ECS, fallback_ratio=0.0)
    sampler.take_rules(records(rule(FixedRate=0.0)))
    sampler.take_targets([{"RuleName": "veda-wfs3", "FixedRate": 1.0}])
    sampler.take_rules(records(rule(FixedRate=0.0)))
    assert sampler.rules[0].fixed_rate == 1.0
    sampler.take_rules(records(rule(FixedRate=0.25)))  # changed: starts from the rule again
    assert sampler.rules[0].fixed_rate == 0.25


def decide(sampler: Any, attributes: dict[str, Any], parent: Any = None) -> Decision:
    trace_id = next(trace_ids(1))
    return sampler.should_sample(parent, trace_id, "GET", attributes=attributes).decision


def test_without_rules_the_fallback_ratio_decides() -> None:
    assert decide(XRayRulesSampler(ECS, fallback_ratio=1.0), REQUEST) is Decision.RECORD_AND_SAMPLE
    assert decide(XRayRulesSampler(ECS, fallback_ratio=0.0), REQUEST) is Decision.DROP


def test_rules_older_than_an_hour_give_way_to_the_fallback() -> None:
    clock = Clock()
    sampler = XRayRulesSampler(ECS, fallback_ratio=0.0, clock=clock)
    sampler.take_rules(records(rule(FixedRate=1.0)))
    assert decide(sampler, REQUEST) is Decision.RECORD_AND_SAMPLE
    clock.now += RULES_STALE_SECONDS + 1
    assert decide(sampler, REQUEST) is Decision.DROP


def parent(sampled: bool) -> Any:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    context = SpanContext(0x1234 << 64 | 7, 0x99, is_remote=True, trace_flags=flags)
    return trace.set_span_in_context(NonRecordingSpan(context))


def test_a_callers_decision_is_kept_and_not_counted() -> None:
    rules = XRayRulesSampler(ECS, fallback_ratio=0.5)
    rules.take_rules(records(rule(FixedRate=0.0)))
    sampler = ParentBased(rules)
    assert decide(sampler, REQUEST, parent(sampled=True)) is Decision.RECORD_AND_SAMPLE
    assert decide(sampler, REQUEST, parent(sampled=False)) is Decision.DROP
    assert rules.statistics()[0]["RequestCount"] == 0


def test_the_terraform_rule_governs_the_deployed_service() -> None:
    """deploy/terraform's sampling rule, rendered with the example values, matches a request of
    the service as deployed (its OTEL_SERVICE_NAME, on ECS), and each of the fields it sets is
    one the sampler matches on: changing any of them to something else unmatches it."""
    documents = render.render_all()
    deployed = documents["xray"]["SamplingRule"]
    environment = {e["name"]: e["value"] for e in documents["app-container"]["environment"]}
    assert environment["OTEL_TRACES_SAMPLER"] == "xray"
    resource = Resource(
        {"service.name": environment["OTEL_SERVICE_NAME"], "cloud.platform": "aws_ecs"}
    )
    sampler = XRayRulesSampler(resource, fallback_ratio=0.0)
    sampler.take_rules(records({**deployed, "FixedRate": 1.0, "ReservoirSize": 0}))
    assert decide(sampler, REQUEST) is Decision.RECORD_AND_SAMPLE
    matched_on = ("ServiceName", "ServiceType", "Host", "HTTPMethod", "URLPath", "ResourceARN")
    assert set(matched_on) <= set(deployed)
    for name in matched_on:
        sampler.take_rules(records({**deployed, "FixedRate": 1.0, "ReservoirSize": 0, name: "x"}))
        assert decide(sampler, REQUEST) is Decision.DROP, f"{name} is not matched on"


@pytest.fixture
def fake_xray() -> Iterator[FakeXRay]:
    with running_fake_xray(rule(FixedRate=0.0)) as fake:
        yield fake


def polled(url: str, fallback: float, retry: float = 10) -> tuple[XRayRulesSampler, SamplingPoller]:
    sampler = XRayRulesSampler(ECS, fallback_ratio=fallback)
    poller = SamplingPoller(sampler, SamplingProxyClient(url), rules_seconds=300)
    poller.targets_seconds = retry  # until X-Ray names an interval; failed polls retry at it
    poller.start()
    return sampler, poller


def test_the_poller_reports_counts_and_takes_new_rates(
    fake_xray: FakeXRay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "app.otel.sampling_poller")
    sampler, poller = polled(fake_xray.url, fallback=1.0, retry=0.5)
    try:
        eventually(lambda: sampler.rules, 10, "rules fetched")
        assert all(decide(sampler, REQUEST) is Decision.DROP for _ in range(20))
        eventually(lambda: sum(s["RequestCount"] for s in fake_xray.statistics) == 20, 10, "20")
        assert fake_xray.statistics[-1]["ClientID"] == sampler.client_id
        fake_xray.change_rule(FixedRate=1.0)
        calls = len(fake_xray.served_rates)
        eventually(lambda: 1.0 in fake_xray.served_rates[calls:], 10, "the new rate served")
        eventually(lambda: sampler.rules[0].fixed_rate == 1.0, 10, "the new rate taken")
        assert all(decide(sampler, REQUEST) is Decision.RECORD_AND_SAMPLE for _ in range(20))
        # X-Ray said the rule changed after our copy: the rules were fetched again, and logged.
        eventually(lambda: fake_xray.rules_calls >= 2, 10, "rules fetched again")

        def logged() -> list[str]:
            return [r.getMessage() for r in caplog.records if "sampling rules" in r.getMessage()]

        eventually(lambda: len(logged()) == 2, 10, "the changed rule logged")
        assert logged()[0].endswith(": veda-wfs3 (priority 1000, 0/s then 0%)")
        assert logged()[1].endswith(": veda-wfs3 (priority 1000, 0/s then 100%)")
    finally:
        poller.stop()


def test_an_unreachable_proxy_means_the_fallback_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "app.otel.sampling_poller")
    sampler, poller = polled(f"http://127.0.0.1:{free_port()}", fallback=1.0, retry=0.05)
    try:
        eventually(lambda: poller.failures >= 3, 10, "three failed polls")
        assert decide(sampler, REQUEST) is Decision.RECORD_AND_SAMPLE
        warnings = [
            r for r in caplog.records if f"{poller.client.endpoint} failing" in r.getMessage()
        ]
        assert len(warnings) == 1
    finally:
        poller.stop()

"""What a sampling decision costs: the X-Ray rules sampler (OTEL_TRACES_SAMPLER=xray, with X-Ray's
default rule and the one deploy/terraform creates) against the SDK's parent-based ratio sampler,
for the attributes our server span gives it. Interleaved rounds, medians; prints microseconds per
decision and their ratio. `python -m bench.sampler`.
"""

from __future__ import annotations

import os
import statistics
import timeit
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

from app.otel.xray_sampler import XRayRulesSampler
from harness.fake_xray import rule

ROUNDS = 5
DECISIONS = 100_000
REQUEST = {
    "http.request.method": "GET",
    "url.path": "/collections/public.fire_perimeters/items",
    "server.address": "wfs3.example.org",
}


def samplers() -> dict[str, Sampler]:
    xray = XRayRulesSampler(
        Resource({"service.name": "veda-wfs3", "cloud.platform": "aws_ecs"}), 0.1
    )
    default = rule("Default", Priority=10000, FixedRate=0.05, ReservoirSize=1)
    ours = rule("veda-wfs3", FixedRate=0.1, ReservoirSize=1, ServiceName="veda-wfs3")
    xray.take_rules([{"SamplingRule": default}, {"SamplingRule": ours}])
    return {"ratio": ParentBased(TraceIdRatioBased(0.1)), "xray": ParentBased(xray)}


def microseconds(sampler: Sampler, trace_id: int) -> float:
    def decide() -> Any:
        return sampler.should_sample(None, trace_id, "GET", attributes=REQUEST)

    return timeit.timeit(decide, number=DECISIONS) / DECISIONS * 1e6


def main() -> None:
    trace_id = int.from_bytes(os.urandom(16), "big")
    runs: dict[str, list[float]] = {}
    for _ in range(ROUNDS):
        for name, sampler in samplers().items():
            runs.setdefault(name, []).append(microseconds(sampler, trace_id))
    medians = {name: statistics.median(times) for name, times in runs.items()}
    for name, median in medians.items():
        rounds = ", ".join(f"{t:.2f}" for t in runs[name])
        print(f"{name}: {median:.2f} us per decision (rounds: {rounds})")  # noqa: T201
    print(f"xray / ratio: {medians['xray'] / medians['ratio']:.2f}")  # noqa: T201


if __name__ == "__main__":
    main()

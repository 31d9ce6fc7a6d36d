"""The SLIs of deploy/terraform/slo.tf, computed from what CloudWatch would receive:
the real service and collector (otel-config.yaml, awsemf to moto's CloudWatch Logs) through a
database outage under load. The EMF the emulator received, summed as CloudWatch sums it for the
alarm's dimension sets, must give exactly the 5xx and the requests the clients saw, so the
alarm's error ratio for those minutes is the clients' own, and it burns the budget past the
page threshold. And the latency SLI's percentile rank on the EMF histogram against the exact
share of requests within a threshold, at every threshold.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import boto3
import pytest

from harness.collector import (
    AWS,
    aws_emulated_env,
    built_collector,
    running_collector,
    running_moto,
)
from harness.load import Load, get
from harness.polling import eventually
from harness.server_process import running_server
from harness.tcp_proxy import TcpProxy

pytestmark = pytest.mark.server  # a real server process: left out of make test-fast

LOG_GROUP = "/veda-wfs3/slo-e2e-metrics"
ITEMS_ROUTE = "/collections/{collectionId}/items"
ITEMS_PATH = "/collections/public.fire_perimeters/items"
ITEMS = f"{ITEMS_PATH}?limit=5"
DURATION = "http.server.request.duration"
SERVER_ERRORS = ("500", "503", "504")  # slo.tf's svc_500, svc_503, svc_504
PAGE_THRESHOLD = 14.4 * (1 - 0.999)  # the default availability objective's 1 h / 5 min windows
T = TypeVar("T")


@pytest.fixture
def emulator(tmp_path: Any) -> Iterator[str]:
    with running_moto(tmp_path / "moto.log") as url:
        yield url


@pytest.fixture
def collector(emulator: str, tmp_path: Any) -> Iterator[str]:
    env = aws_emulated_env(emulator, LOG_GROUP)
    with running_collector(built_collector(), env, tmp_path / "collector.log") as ports:
        yield f"http://127.0.0.1:{ports['grpc']}"


def emf_events(emulator: str) -> list[dict[str, Any]]:
    """Every EMF event the emulator's CloudWatch Logs holds; none before the group exists."""
    logs = boto3.client(
        "logs", endpoint_url=emulator, region_name=AWS["AWS_REGION"],
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=LOG_GROUP)
        return [json.loads(e["message"]) for page in pages for e in page["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []


def emf_counts(emulator: str) -> dict[str, float]:
    """What CloudWatch would count for the SLO alarm's metrics, from every EMF event received:
    SampleCount of the duration histogram per status code (the dimension set with
    http.response.status_code), all of it (service-wide), and that of the items route."""
    counts: dict[str, float] = {"total": 0.0, "items": 0.0}
    for event in emf_events(emulator):
        if DURATION not in event:
            continue
        count = event[DURATION]["Count"]
        counts["total"] += count
        status = str(event.get("http.response.status_code"))
        counts[status] = counts.get(status, 0.0) + count
        if event.get("http.route") == ITEMS_ROUTE:
            counts["items"] += count
    return counts


def availability_error_ratio(counts: dict[str, float], min_requests: float) -> float:
    """slo.tf's service error ratio: IF(svc_total >= min, (500 + 503 + 504) / svc_total, 0)."""
    total = counts["total"]
    errors = sum(counts.get(code, 0.0) for code in SERVER_ERRORS)
    return errors / total if total >= min_requests else 0.0


def test_an_outage_reaches_the_availability_sli_as_the_clients_saw_it(
    reader_url: str, collector: str, emulator: str
) -> None:
    proxy = TcpProxy.to_database(reader_url)
    proxy.start()
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        "OTEL_TRACES_EXPORTER": "none",
    }
    try:
        with running_server(proxy.database_url(reader_url), **env) as server:
            load = Load(f"{server.base}{ITEMS}").start()
            eventually(lambda: load.count(200) >= 50, what="50 answers before the outage")
            proxy.stop()
            began = len(load.answers)
            eventually(lambda: load.count(503, began) >= 50, what="50 503s during the outage")
            proxy.start()
            back = len(load.answers)
            eventually(lambda: load.count(200, back) >= 50, what="50 answers after it")
            answers = load.stop()
            seen = {"total": len(answers), "503": sum(a.status == 503 for a in answers)}
            # Every answer the clients got is counted by the service, exported within a second.
            counts = eventually(
                lambda: (c := emf_counts(emulator))["items"] >= seen["total"] and c or None,
                60,
                "every request in the EMF",
            )
    finally:
        proxy.stop()
    assert not load.errors, load.errors
    assert counts["items"] == seen["total"], "each answer counted once, by its route"
    assert counts.get("503", 0) == seen["503"], "the 5xx the alarm sums are the clients' 503s"
    assert sum(counts.get(code, 0) for code in ("500", "504")) == 0
    others = counts["total"] - counts["items"]  # readiness probes: no 5xx among them
    ratio = availability_error_ratio(counts, min_requests=0)
    assert ratio == seen["503"] / (seen["total"] + others)
    assert ratio > PAGE_THRESHOLD, f"an outage of {seen['503']} of {seen['total']} pages"


def emf_histogram(emulator: str, route: str) -> tuple[list[tuple[float, float]], float]:
    """The route's duration histogram as CloudWatch holds it, the EMF events' Values and Counts
    merged; and the widest ratio between neighbouring bucket values of any one event (each
    export may have its own scale): how far from a value its requests' durations can be."""
    pairs: list[tuple[float, float]] = []
    ratio = 1.0
    for event in emf_events(emulator):
        if DURATION in event and event.get("http.route") == route:
            histogram = event[DURATION]
            pairs += zip(histogram["Values"], histogram["Counts"], strict=True)
            values = sorted(set(histogram["Values"]))
            steps = [b / a for a, b in zip(values, values[1:], strict=False) if a > 0]
            ratio = max(ratio, min(steps, default=1.0))
    return sorted(pairs), ratio


def percentile_rank(histogram: list[tuple[float, float]], threshold: float) -> float:
    """CloudWatch's PR(:threshold) on Values/Counts: the share of the counts whose value is at
    most the threshold."""
    total = _total(histogram)
    return sum(count for value, count in histogram if value <= threshold) / total


def test_the_latency_sli_from_the_histogram_against_the_exact_share(
    reader_url: str, collector: str, emulator: str
) -> None:
    """Requests of many sizes; at every threshold between the fastest and the slowest, the
    percentile rank of the exported histogram against the share of access lines within it (the
    middleware times both with one clock reading). Measured, so the docs can say how exact the
    latency SLO is: an error only from requests in the one bucket the threshold falls in."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        "OTEL_TRACES_EXPORTER": "none",
    }
    with running_server(reader_url, **env) as server:
        for limit in (1, 10, 100, 1000) * 25:
            assert get(f"{server.base}{ITEMS_PATH}?limit={limit}").status == 200
        # Access lines are held up to half a second (app/otel/access_log.py): wait for all.
        durations = eventually(
            lambda: _once(access_durations(server.json_lines()), len, 100),
            10,
            "every request's access line",
        )
        histogram, ratio = eventually(
            lambda: _once(
                emf_histogram(emulator, ITEMS_ROUTE), lambda found: _total(found[0]), len(durations)
            ),
            60,
            "every request in the histogram",
        )
    assert _total(histogram) == len(durations) == 100
    assert ratio > 1, "buckets of more than one value"
    errors = [
        (abs(percentile_rank(histogram, t) - within(durations, t)), near(durations, t, ratio))
        for t in thresholds(durations)
    ]
    assert all(error <= bound + 1e-9 for error, bound in errors), max(errors)


def access_durations(lines: list[dict[str, Any]]) -> list[float]:
    """The items route's request durations in seconds, from its access lines, sorted."""
    return sorted(
        float(line["duration_ms"]) / 1000
        for line in lines
        if line.get("logger") == "app.access" and line.get("http.route") == ITEMS_ROUTE
    )


def _once(found: T, count: Callable[[T], float], requests: int) -> T | None:
    """`found` once its count reaches every request, else None (for eventually)."""
    return found if count(found) >= requests else None


def _total(histogram: list[tuple[float, float]]) -> float:
    return sum(count for _, count in histogram)


def within(durations: list[float], threshold: float) -> float:
    return bisect.bisect_right(durations, threshold) / len(durations)


def thresholds(durations: list[float], steps: int = 500) -> list[float]:
    low, high = durations[0], durations[-1]
    return [low + i * (high - low) / steps for i in range(steps + 1)]


def near(durations: list[float], threshold: float, ratio: float) -> float:
    """The share of requests whose bucket's value may fall on the other side of the threshold:
    those within one bucket ratio of it (and the access line's rounding to 10 us)."""
    low, high = threshold / ratio - 1e-5, threshold * ratio + 1e-5
    return sum(1 for d in durations if low <= d <= high) / len(durations)

"""The availability SLI of deploy/terraform/slo.tf, computed from what CloudWatch would receive:
the real service and collector (otel-config.yaml, awsemf to moto's CloudWatch Logs) through a
database outage under load. The EMF the emulator received, summed as CloudWatch sums it for the
alarm's dimension sets, must give exactly the 5xx and the requests the clients saw, so the
alarm's error ratio for those minutes is the clients' own, and it burns the budget past the
page threshold.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from harness.collector import AWS, built_collector, running_collector, running_moto
from harness.load import Load
from harness.polling import eventually
from harness.server_process import running_server
from harness.tcp_proxy import TcpProxy

pytestmark = pytest.mark.server  # a real server process: left out of make test-fast

LOG_GROUP = "/veda-wfs3/slo-e2e-metrics"
ITEMS_ROUTE = "/collections/{collectionId}/items"
ITEMS = "/collections/public.fire_perimeters/items?limit=5"
DURATION = "http.server.request.duration"
SERVER_ERRORS = ("500", "503", "504")  # slo.tf's svc_500, svc_503, svc_504
PAGE_THRESHOLD = 14.4 * (1 - 0.999)  # the default availability objective's 1 h / 5 min windows


@pytest.fixture
def emulator(tmp_path: Any) -> Iterator[str]:
    with running_moto(tmp_path / "moto.log") as url:
        yield url


@pytest.fixture
def collector(emulator: str, tmp_path: Any) -> Iterator[str]:
    env = {
        "AWS_XRAY_ENDPOINT": emulator,
        "AWS_CLOUDWATCH_LOGS_ENDPOINT": emulator,
        "AWS_LOCAL_MODE": "true",
        "WFS3_METRICS_LOG_GROUP": LOG_GROUP,
        "OTELCOL_METRICS_BATCH_TIMEOUT": "1s",
    }
    with running_collector(built_collector(), env, tmp_path / "collector.log") as ports:
        yield f"http://127.0.0.1:{ports['grpc']}"


def emf_counts(emulator: str) -> dict[str, float]:
    """What CloudWatch would count for the SLO alarm's metrics, from every EMF event received:
    SampleCount of the duration histogram per status code (the dimension set with
    http.response.status_code), all of it (service-wide), and that of the items route."""
    logs = boto3.client(
        "logs", endpoint_url=emulator, region_name=AWS["AWS_REGION"],
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    counts: dict[str, float] = {"total": 0.0, "items": 0.0}
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=LOG_GROUP)
        events = [json.loads(e["message"]) for page in pages for e in page["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return counts
    for event in events:
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

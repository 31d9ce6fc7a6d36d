"""Service → collector (otel-config.yaml, built by `make collector`) → X-Ray and CloudWatch Logs,
as the ADOT sidecar does on ECS, with the AWS APIs played by moto's server on loopback.

The awsxray and awsemf exporters reach the emulator through their endpoint settings
(AWS_XRAY_ENDPOINT, AWS_CLOUDWATCH_LOGS_ENDPOINT) with dummy credentials; the test reads back
what they wrote with boto3, as one would read X-Ray and CloudWatch.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx2 as httpx
import pytest

from harness.collector import (
    AWS,
    aws_emulated_env,
    built_collector,
    running_collector,
    running_moto,
)
from harness.polling import eventually
from harness.server_process import running_server

pytestmark = pytest.mark.server  # a real server process: left out of make test-fast

LOG_GROUP = "/veda-wfs3/e2e-metrics"
ITEMS = "/collections/public.fire_perimeters/items"


@pytest.fixture(scope="module")
def collector_binary() -> str:
    return built_collector()


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_moto(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url


@pytest.fixture(scope="module")
def collector(
    collector_binary: str, emulator: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    env = aws_emulated_env(emulator, LOG_GROUP)
    log = tmp_path_factory.mktemp("otelcol") / "collector.log"
    with running_collector(collector_binary, env, log) as ports:
        yield {"otlp": f"http://127.0.0.1:{ports['grpc']}", "log": log}


@pytest.fixture(scope="module")
def traced_request(database_url: str, collector: dict[str, Any]) -> Iterator[str]:
    """One items request carrying an ALB-style Root-only trace header; returns that trace id."""
    trace_id = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector["otlp"], "OTEL_METRIC_EXPORT_INTERVAL": "1000"}
    with running_server(database_url, **env) as server:
        response = httpx.get(
            f"{server.base}{ITEMS}",
            params={"limit": 5},
            headers={"X-Amzn-Trace-Id": f"Root={trace_id}"},
        )
        assert response.status_code == 200
        yield trace_id


def client(service: str, emulator: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=emulator,
        region_name=AWS["AWS_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_xray_segments_carry_the_alb_trace_id_and_sql_subsegments(
    traced_request: str, emulator: str
) -> None:
    xray = client("xray", emulator)

    def documents() -> list[dict[str, Any]] | None:
        traces = xray.batch_get_traces(TraceIds=[traced_request])["Traces"]
        docs = [json.loads(s["Document"]) for t in traces for s in t["Segments"]]
        return docs if any(d.get("sql") for d in docs) else None

    # The exporter sends each span as its own document: the server span as the segment, each
    # SQL call as a subsegment document pointing at it.
    documents_seen = eventually(documents, 30, "X-Ray documents with SQL")
    [segment] = [d for d in documents_seen if not d.get("parent_id")]
    assert segment["trace_id"] == traced_request, "the ALB's Root, adopted as a root segment"
    assert segment["name"] == "veda-wfs3"
    assert segment["http"]["response"]["status"] == 200
    # indexed_attributes in otel-config.yaml: searchable annotations (this exporter keeps dots)
    assert segment["annotations"]["ogc.collection.id"] == "public.fire_perimeters"
    assert segment["annotations"]["ogc.items.number_returned"] == 5
    sql = [d for d in documents_seen if "sql" in d]
    assert len(sql) >= 2, documents_seen
    for sub in sql:
        assert sub["type"] == "subsegment" and sub["parent_id"] == segment["id"]
        assert sub["trace_id"] == traced_request
        assert "SELECT" in sub["sql"]["sanitized_query"]


def test_metrics_arrive_as_emf_with_the_declared_dimensions(
    traced_request: str, emulator: str
) -> None:
    logs = client("logs", emulator)

    def emf_events() -> list[dict[str, Any]] | None:
        try:
            events = logs.filter_log_events(logGroupName=LOG_GROUP)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        parsed = [json.loads(e["message"]) for e in events]
        return [p for p in parsed if "http.server.request.duration" in p] or None

    events = eventually(emf_events, 30, f"EMF events in {LOG_GROUP}")
    declared = [m for e in events for m in e["_aws"]["CloudWatchMetrics"]]
    assert {m["Namespace"] for m in declared} == {"veda-wfs3"}
    assert {frozenset(d) for m in declared for d in m["Dimensions"]} == {
        frozenset({"service.name", "deployment.environment"}),
        frozenset({"service.name", "deployment.environment", "http.route"}),
        frozenset({"service.name", "deployment.environment", "http.response.status_code"}),
    }
    route = [e for e in events if e.get("http.route") == "/collections/{collectionId}/items"]
    assert route, events
    assert route[0]["service.name"] == "veda-wfs3"
    duration = route[0]["http.server.request.duration"]
    assert duration["Count"] >= 1
    # Exponential buckets reach CloudWatch as Values/Counts, which it takes percentiles of (an
    # explicit-bucket histogram would arrive as min/max/sum/count only: no p99 on the dashboard).
    assert len(duration["Values"]) == len(duration["Counts"]) >= 1
    assert sum(duration["Counts"]) == duration["Count"]


def test_every_declared_metric_reaches_cloudwatch(traced_request: str, emulator: str) -> None:
    """Each metric_declarations entry of otel-config.yaml matched a metric the service sent."""
    logs = client("logs", emulator)
    expected = {
        "http.server.request.duration",
        "http.server.active_requests",
        "db.client.connection.count",
        "db.client.connection.max",
        "db.client.connection.wait_time",
        "ogc.features.returned",
        "ogc.collection.data_age",
        "wfs3.catalog.loads",
        "wfs3.catalog.load.duration",
    }

    def declared_names() -> set[str] | None:
        events = logs.filter_log_events(logGroupName=LOG_GROUP)["events"]
        parsed = [json.loads(e["message"]) for e in events]
        names = {
            m["Name"] for p in parsed for d in p["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]
        }
        return names if names >= expected else None

    assert eventually(declared_names, 30, "all declared metrics") == expected

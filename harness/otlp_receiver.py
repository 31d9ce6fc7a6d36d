"""A real OTLP/gRPC receiver on loopback: the spans, metrics and logs the service exports, as they
arrive on the wire (the same protobuf services a collector implements)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from harness import secrets_audit

T = TypeVar("T")


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {a.key: _value(a.value) for a in pairs}


@dataclass
class ReceivedSpan:
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status_code: int
    events: list[tuple[str, dict[str, Any]]]


@dataclass
class ReceivedPoint:
    """One data point of one metric: a sum/gauge value, or a histogram's count and sum."""

    metric: str
    unit: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    value: float | None = None
    count: int | None = None
    sum: float | None = None
    kind: str = ""  # the OTLP data field: gauge, sum, histogram, exponential_histogram
    temporality: int = 0  # AggregationTemporality of a sum or histogram (1 delta, 2 cumulative)


@dataclass
class ReceivedLog:
    body: Any
    severity: str
    trace_id: str
    span_id: str
    attributes: dict[str, Any]
    resource: dict[str, Any]


def _span(span: Any, resource: dict[str, Any]) -> ReceivedSpan:
    return ReceivedSpan(
        name=span.name,
        kind=span.kind,
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex(),
        start_ns=span.start_time_unix_nano,
        end_ns=span.end_time_unix_nano,
        attributes=_attributes(span.attributes),
        resource=resource,
        status_code=span.status.code,
        events=[(e.name, _attributes(e.attributes)) for e in span.events],
    )


def _points(metric: Any, resource: dict[str, Any]) -> list[ReceivedPoint]:
    kind = metric.WhichOneof("data")
    points = []
    for point in getattr(metric, kind).data_points:
        received = ReceivedPoint(metric.name, metric.unit, _attributes(point.attributes), resource)
        received.kind = kind
        received.temporality = getattr(getattr(metric, kind), "aggregation_temporality", 0)
        if kind in ("histogram", "exponential_histogram"):
            received.count, received.sum = point.count, point.sum
        else:
            received.value = point.as_double if point.HasField("as_double") else point.as_int
        points.append(received)
    return points


def _log(record: Any, resource: dict[str, Any]) -> ReceivedLog:
    return ReceivedLog(
        body=_value(record.body),
        severity=record.severity_text,
        trace_id=record.trace_id.hex(),
        span_id=record.span_id.hex(),
        attributes=_attributes(record.attributes),
        resource=resource,
    )


@dataclass
class OtlpReceiver(
    trace_service_pb2_grpc.TraceServiceServicer,
    metrics_service_pb2_grpc.MetricsServiceServicer,
    logs_service_pb2_grpc.LogsServiceServicer,
):
    spans: list[ReceivedSpan] = field(default_factory=list)
    points: list[ReceivedPoint] = field(default_factory=list)
    logs: list[ReceivedLog] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    port: int = 0
    # A sink for benchmarks: count the spans, keep nothing.
    discard: bool = False
    received: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self._server)  # type: ignore[no-untyped-call]
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(self, self._server)  # type: ignore[no-untyped-call]
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(self, self._server)  # type: ignore[no-untyped-call]
        self.port = self._server.add_insecure_port(f"127.0.0.1:{self.port}")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop(grace=None)
        with self._lock:
            for payload in self.raw:
                secrets_audit.record("OTLP payloads", payload)

    def _resources(self, request: Any, field_name: str) -> Any:
        with self._lock:
            self.raw.append(request.SerializeToString())
        for resource_part in getattr(request, field_name):
            yield _attributes(resource_part.resource.attributes), resource_part

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC's name)
        # One method name for three services: tell them apart by the request type.
        if self.discard:
            return self._count(request)
        if isinstance(request, trace_service_pb2.ExportTraceServiceRequest):
            for resource, part in self._resources(request, "resource_spans"):
                for scope in part.scope_spans:
                    self._add(self.spans, [_span(s, resource) for s in scope.spans])
            return trace_service_pb2.ExportTraceServiceResponse()
        if isinstance(request, metrics_service_pb2.ExportMetricsServiceRequest):
            for resource, part in self._resources(request, "resource_metrics"):
                for scope in part.scope_metrics:
                    for metric in scope.metrics:
                        self._add(self.points, _points(metric, resource))
            return metrics_service_pb2.ExportMetricsServiceResponse()
        for resource, part in self._resources(request, "resource_logs"):
            for scope in part.scope_logs:
                self._add(self.logs, [_log(r, resource) for r in scope.log_records])
        return logs_service_pb2.ExportLogsServiceResponse()

    def _count(self, request: Any) -> Any:
        if isinstance(request, trace_service_pb2.ExportTraceServiceRequest):
            spans = sum(len(s.spans) for part in request.resource_spans for s in part.scope_spans)
            with self._lock:
                self.received += spans
            return trace_service_pb2.ExportTraceServiceResponse()
        if isinstance(request, metrics_service_pb2.ExportMetricsServiceRequest):
            return metrics_service_pb2.ExportMetricsServiceResponse()
        return logs_service_pb2.ExportLogsServiceResponse()

    def _add(self, into: list[T], items: list[T]) -> None:
        with self._lock:
            into.extend(items)

    def wait_until(self, condition: Callable[[], T], seconds: float = 15) -> T:
        """Poll until `condition()` is truthy; return its value, or fail after `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            with self._lock:
                result = condition()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"not received within {seconds}s")
            time.sleep(0.05)

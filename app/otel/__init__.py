"""Telemetry: OpenTelemetry configured once (telemetry.py) into one object the factory hands to
whoever needs it. The OTLP endpoints (endpoint.py) and exporters (exporters.py); the collector
gate (collector_gate.py); per-request spans, metrics and access logs (middleware.py,
server_span.py); SQL spans (sql_spans.py); pool metrics (pool_metrics.py); items attributes
(collections.py); X-Ray ids and headers (xray.py); JSON logs (logs.py); the resource
(resource.py). Nothing outside this package asks whether telemetry is on."""

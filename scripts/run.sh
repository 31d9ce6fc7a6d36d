#!/usr/bin/env bash
# make run: a database (the given DATABASE_URL, or a private local cluster) with the sample data,
# the collector (otel-config.yaml, built by scripts/collector.sh when Go is there) on loopback,
# then the service on 127.0.0.1:${PORT:-8080}, exporting to that collector.
#
# Stopping (Ctrl-C, or SIGTERM to this script or its process group) stops the service first and
# waits for it, so its final flush reaches a collector that is still there; then the collector,
# which exports what it holds. ECS orders the two containers the same way (dependsOn).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

DATABASE_URL=$(service_database_url)
export DATABASE_URL
export HOST="${HOST:-127.0.0.1}" PORT="${PORT:-8080}"

collector_log="${WFS3_COLLECTOR_LOG:-.cache/otelcol/collector.log}"
health_port="${OTELCOL_HEALTH_PORT:-13133}"
collector_pid=""
service_pid=""
COLLECTOR_STOP_SECONDS=10

stop() {
    # Ignore, not default: make passes the group's SIGTERM on to this script a moment later, and
    # a second signal with the default action would end it here, leaving the collector running.
    trap '' INT TERM
    trap - EXIT
    if [ -n "$service_pid" ]; then
        kill -TERM "$service_pid" 2>/dev/null || true
        wait "$service_pid" 2>/dev/null || true
    fi
    if [ -n "$collector_pid" ]; then
        kill -TERM "$collector_pid" 2>/dev/null || true
        # Its shutdown flushes to X-Ray and CloudWatch, which without credentials here can
        # retry for minutes (how long depends on how the metadata address fails to answer):
        # COLLECTOR_STOP_SECONDS for that, then it is stopped for good.
        for _ in $(seq "$((COLLECTOR_STOP_SECONDS * 10))"); do
            kill -0 "$collector_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$collector_pid" 2>/dev/null || true
        wait "$collector_pid" 2>/dev/null || true
    fi
}
trap stop INT TERM EXIT

collector_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$health_port") 2>/dev/null; }

if [ "${OTEL_SDK_DISABLED:-false}" != "true" ] && collector=$(scripts/collector.sh | tail -n 1); then
    # Locally there is no instance metadata; without AWS credentials the X-Ray and CloudWatch
    # exporters complain in the collector's log, and the debug exporter shows every span there.
    # In a session of its own: a Ctrl-C (sent to the whole foreground group) must not stop it
    # before the service has flushed; stop() does, after the service.
    OTELCOL_LISTEN=127.0.0.1 AWS_LOCAL_MODE=true OTELCOL_DEBUG_VERBOSITY="${OTELCOL_DEBUG_VERBOSITY:-detailed}" \
        setsid "$collector" --config otel-config.yaml >"$collector_log" 2>&1 &
    collector_pid=$!
    for _ in $(seq 100); do collector_answers && break; sleep 0.1; done
    echo "run: collector on 127.0.0.1:${OTELCOL_OTLP_GRPC_PORT:-4317} (gRPC) / :${OTELCOL_OTLP_HTTP_PORT:-4318} (HTTP); what it receives: tail -f $collector_log" >&2
else
    echo "run: no collector; the service serves and its exporters warn once a minute" >&2
fi

echo "run: serving on http://$HOST:$PORT/ (Ctrl-C to stop)" >&2
./startup.sh &
service_pid=$!
status=0
wait "$service_pid" || status=$?
exit "$status"

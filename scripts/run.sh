#!/usr/bin/env bash
# make run: a database (the given DATABASE_URL, or a private local cluster) with the sample data,
# the collector (otel-config.yaml, built by scripts/collector.sh when Go is there) on loopback,
# then the service on 127.0.0.1:${PORT:-8080}, exporting to that collector.
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL=$(scripts/db.sh | tail -n 1)
# The service reads through its read-only role when db.sh made one (a private local cluster).
if [ -s .pgdata/wfs3-reader.url ] && [ "$DATABASE_URL" = "$(cat .pgdata/wfs3.url 2>/dev/null)" ]; then
    DATABASE_URL=$(cat .pgdata/wfs3-reader.url)
fi
export DATABASE_URL
export HOST="${HOST:-127.0.0.1}" PORT="${PORT:-8080}"

collector_log=.cache/otelcol/collector.log
children=()
stop() { kill -TERM "${children[@]}" 2>/dev/null || true; wait; }
trap stop INT TERM EXIT

if [ "${OTEL_SDK_DISABLED:-false}" != "true" ] && collector=$(scripts/collector.sh | tail -n 1); then
    # Locally there is no instance metadata; without AWS credentials the X-Ray and CloudWatch
    # exporters complain in the collector's log, and the debug exporter shows every span there.
    OTELCOL_LISTEN=127.0.0.1 AWS_LOCAL_MODE=true OTELCOL_DEBUG_VERBOSITY="${OTELCOL_DEBUG_VERBOSITY:-detailed}" \
        "$collector" --config otel-config.yaml >"$collector_log" 2>&1 &
    children+=($!)
    echo "run: collector on 127.0.0.1:4317 (gRPC) / :4318 (HTTP); what it receives: tail -f $collector_log" >&2
else
    echo "run: no collector; the service serves and its exporters warn once a minute" >&2
fi

echo "run: serving on http://$HOST:$PORT/ (Ctrl-C to stop)" >&2
./startup.sh &
children+=($!)
wait "${children[-1]}"

#!/usr/bin/env bash
# Start the service: a bounded wait for the database, then exec the server (so it gets SIGTERM).
#
# HOST, PORT, WEB_CONCURRENCY, FORWARDED_ALLOW_IPS and DB_WAIT_SECONDS come from the environment;
# telemetry from the standard OTEL_* variables (see README "Telemetry").
#
# opentelemetry-instrument runs the installed instrumentors before the app is imported; the app's
# own telemetry setup (app/otel/telemetry.py) then configures providers and exporters exactly once, so
# the result is the same as under plain uvicorn. With OTEL_SDK_DISABLED=true the launcher is
# skipped: nothing is patched at all.
#
# Proxy headers: uvicorn's --proxy-headers rewrites the client address but ignores Forwarded and
# X-Forwarded-Host, and once it has rewritten the peer the app can no longer tell who sent them.
# So uvicorn runs with --no-proxy-headers and the app applies FORWARDED_ALLOW_IPS itself
# (app/proxy.py), for the scheme, host and client address together.
set -euo pipefail
cd "$(dirname "$0")"

[ -d .venv/bin ] && export PATH="$PWD/.venv/bin:$PATH"

# gRPC's C core writes its INFO lines ("Got goaway" when the collector restarts) to stderr as
# plain text, among our JSON lines; its errors still come through. Read once, when grpc loads.
export GRPC_VERBOSITY="${GRPC_VERBOSITY:-ERROR}"

if ! python -m app.db.wait "${DB_WAIT_SECONDS:-30}"; then
    echo "startup: database not reachable after ${DB_WAIT_SECONDS:-30}s; starting anyway, /readyz will say 503" >&2
fi

launcher=(opentelemetry-instrument)
case "${OTEL_SDK_DISABLED:-false}" in
    [Tt][Rr][Uu][Ee]) launcher=() ;;
esac

exec "${launcher[@]}" uvicorn app.main:app \
    --host "${HOST:-0.0.0.0}" \
    --port "${PORT:-8080}" \
    --workers "${WEB_CONCURRENCY:-1}" \
    --log-config app/logging.json \
    --no-access-log \
    --no-proxy-headers \
    --no-server-header \
    --timeout-graceful-shutdown 8

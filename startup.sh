#!/usr/bin/env bash
# Start the service: a bounded wait for the database, then exec the server (so it gets SIGTERM).
#
# HOST, PORT, WEB_CONCURRENCY, FORWARDED_ALLOW_IPS and DB_WAIT_SECONDS come from the environment.
# Proxy headers are handled by the app (app/proxy.py), so uvicorn's own handling is switched off.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python}"
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python

if ! "$PYTHON" -m app.wait_for_db "${DB_WAIT_SECONDS:-30}"; then
    echo "startup: database not reachable after ${DB_WAIT_SECONDS:-30}s; starting anyway, /readyz will say 503" >&2
fi

exec "$PYTHON" -m uvicorn app.main:app \
    --host "${HOST:-0.0.0.0}" \
    --port "${PORT:-8080}" \
    --workers "${WEB_CONCURRENCY:-1}" \
    --no-proxy-headers \
    --no-server-header \
    --timeout-graceful-shutdown 8

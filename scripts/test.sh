#!/usr/bin/env bash
# make test: lint, type check, then the whole test suite against a real PostGIS.
# make test-fast (scripts/test.sh --fast): lint, type check and the tests that start no server
# process, no collector and no slow tool (pytest -m "not server and not slow"), for the edit-test
# loop.
set -euo pipefail
cd "$(dirname "$0")/.."

fast=""
if [ "${1:-}" = "--fast" ]; then
    fast=1
    shift
fi

echo "== ruff" >&2
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy" >&2
.venv/bin/mypy
echo "== database" >&2
DATABASE_URL=$(scripts/db.sh | tail -n 1)
export DATABASE_URL
# The service's read-only role (tests/conftest.py points it at the test database).
[ -s .pgdata/wfs3-reader.url ] && WFS3_READER_URL=$(cat .pgdata/wfs3-reader.url) && export WFS3_READER_URL

if [ -n "$fast" ]; then
    echo "== pytest (no server processes, no collector, no slow tools)" >&2
    # harness/server_process.py refuses to start a server under this variable.
    WFS3_TEST_FAST=1 exec .venv/bin/python -m pytest -m "not server and not slow" "$@"
fi

echo "== collector" >&2
scripts/collector.sh >/dev/null
AWS_LOCAL_MODE=true "$(scripts/collector.sh 2>/dev/null | tail -n 1)" validate --config otel-config.yaml
echo "== deploy-check" >&2
scripts/deploy-check.sh
echo "== images (podman stand-ins for the base images; tests/test_containers.py)" >&2
scripts/images.sh
echo "== pytest" >&2
.venv/bin/python -m pytest "$@"

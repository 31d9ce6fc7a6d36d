#!/usr/bin/env bash
# make reliability: the long fault, collector and soak scenarios (reliability/run.py), after the
# same set-up as the benchmarks (wrk from Debian, the database with its sample data).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
ensure_wrk
# The servers run as the service does: through the read-only role.
DATABASE_URL="$(service_database_url)"
export DATABASE_URL
exec .venv/bin/python -m reliability.run

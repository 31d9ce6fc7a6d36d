#!/usr/bin/env bash
# make reliability: the long fault, collector and soak scenarios (reliability/run.py), after the
# same set-up as the benchmarks (wrk from Debian, the database with its sample data).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
    echo "reliability: installing wrk with apt-get" >&2
    apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null
fi
DATABASE_URL="$(scripts/db.sh | tail -n 1)"
export DATABASE_URL
# The servers run as the service does: through the read-only role.
[ -s .pgdata/wfs3-reader.url ] && [ "$DATABASE_URL" = "$(cat .pgdata/wfs3.url)" ] &&
    DATABASE_URL=$(cat .pgdata/wfs3-reader.url)
exec .venv/bin/python -m reliability.run

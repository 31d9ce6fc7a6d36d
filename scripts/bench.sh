#!/usr/bin/env bash
# make bench / bench-quick / bench-overhead: installs wrk (Debian package) if missing, makes sure
# the database and the collector are there, then runs the given bench module.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
    echo "bench: installing wrk with apt-get" >&2
    apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null
fi
DATABASE_URL="$(scripts/db.sh | tail -n 1)"
export DATABASE_URL
scripts/collector.sh >/dev/null
exec .venv/bin/python -m "$@"

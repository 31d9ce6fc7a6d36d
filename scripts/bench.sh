#!/usr/bin/env bash
# make bench / bench-quick / bench-overhead: installs wrk (Debian package) if missing, makes sure
# the database and the collector are there, then runs the given bench module.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
ensure_wrk
# The data owner's URL: the benchmarks load their own data set.
DATABASE_URL="$(scripts/db.sh | tail -n 1)"
export DATABASE_URL
scripts/collector.sh >/dev/null
exec .venv/bin/python -m "$@"

#!/usr/bin/env bash
# Tracing overhead side by side (bench/overhead.py): installs wrk (Debian package) if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
    echo "bench: installing wrk with apt-get" >&2
    apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null
fi
DATABASE_URL="$(scripts/db.sh | tail -n 1)"
export DATABASE_URL
exec .venv/bin/python bench/overhead.py

#!/usr/bin/env bash
# make run: a database (the given DATABASE_URL, or a private local cluster) with the sample data,
# then the service on 127.0.0.1:${PORT:-8080}.
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL=$(scripts/db.sh | tail -n 1)
export DATABASE_URL
export HOST="${HOST:-127.0.0.1}" PORT="${PORT:-8080}"
echo "run: serving on http://$HOST:$PORT/ (Ctrl-C to stop)" >&2
exec ./startup.sh

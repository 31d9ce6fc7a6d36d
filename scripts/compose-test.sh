#!/usr/bin/env bash
# make compose-test: the image and `docker compose up` run for real (tests/test_containers.py),
# on podman with the stand-in base images of `make images`; prints what the run measured.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
scripts/images.sh
DATABASE_URL=$(scripts/db.sh | tail -n 1)
export DATABASE_URL
[ -s .pgdata/wfs3-reader.url ] && WFS3_READER_URL=$(cat .pgdata/wfs3-reader.url) && export WFS3_READER_URL
.venv/bin/python -m pytest -m containers "$@"
cat .cache/compose-test/report.md
echo "compose-test: $(($(date +%s) - start))s in all" >&2

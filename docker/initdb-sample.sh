#!/bin/sh
# Runs once, when the PostGIS container initialises an empty data directory
# (docker-entrypoint-initdb.d): the same sample data as `make db`, at the same sizes
# (data/load.py's DEFAULT_SIZES; tests/test_compose.py checks they agree).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v perimeters=10000 -v detections=100000 -v lines=4000 \
    -f "${SAMPLE_SQL:-/sample/sample.sql}"

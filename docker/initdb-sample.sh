#!/bin/sh
# Runs once, when the PostGIS container initialises an empty data directory
# (docker-entrypoint-initdb.d): the same sample data as `make db`, at the same sizes
# (data/load.py's DEFAULT_SIZES; tests/test_compose.py checks they agree), and the service's
# read-only role with the grants of data/grants.py (the same test checks they agree).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v perimeters=10000 -v detections=100000 -v lines=4000 \
    -f "${SAMPLE_SQL:-/sample/sample.sql}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -f "${CRS_SAMPLE_SQL:-/sample/sample_crs.sql}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v reader_password="${WFS3_READER_PASSWORD:-wfs3-reader-local-only}" <<'SQL'
SELECT format('CREATE ROLE wfs3_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
              :'reader_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wfs3_reader') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO "wfs3_reader"', current_database()) \gexec
GRANT USAGE ON SCHEMA "public" TO "wfs3_reader";
GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "wfs3_reader";
ALTER DEFAULT PRIVILEGES IN SCHEMA "public" GRANT SELECT ON TABLES TO "wfs3_reader";
SQL

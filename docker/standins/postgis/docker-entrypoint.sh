#!/usr/bin/env bash
# The parts of the official postgres/postgis entrypoint that docker-compose.yml relies on: as
# root, own the data directory and drop to postgres; on an empty data directory, initdb with
# POSTGRES_USER/POSTGRES_PASSWORD, create POSTGRES_DB with the postgis extensions (the postgis
# image's 10_postgis.sh), run /docker-entrypoint-initdb.d/*.sh|*.sql against a server listening
# only on its socket, stop it; then exec the server.
set -Eeuo pipefail

if [ "${1:-}" = postgres ] && [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

run_init_scripts() {
    local f
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh) echo "entrypoint: running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
            *.sql) echo "entrypoint: running $f"; psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" -f "$f" ;;
            *) [ -e "$f" ] && echo "entrypoint: ignoring $f" ;;
        esac
    done
}

create_database() {
    psql -v ON_ERROR_STOP=1 --dbname postgres -c 'CREATE DATABASE template_postgis IS_TEMPLATE true'
    [ "$POSTGRES_DB" = postgres ] || psql -v ON_ERROR_STOP=1 --dbname postgres \
        --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db"'
    local db
    for db in template_postgis "$POSTGRES_DB"; do
        psql -v ON_ERROR_STOP=1 --dbname "$db" -c 'CREATE EXTENSION IF NOT EXISTS postgis' \
            -c 'CREATE EXTENSION IF NOT EXISTS postgis_topology' \
            -c 'CREATE EXTENSION IF NOT EXISTS fuzzystrmatch' \
            -c 'CREATE EXTENSION IF NOT EXISTS postgis_tiger_geocoder'
    done
}

initialise() {
    : "${POSTGRES_PASSWORD:?is required (as in the official image)}"
    export POSTGRES_USER="${POSTGRES_USER:-postgres}"
    export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 ${POSTGRES_INITDB_ARGS:-}
    printf 'host all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    # While the scripts run, the server listens on its socket only: no client gets in early.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
    export PGUSER="$POSTGRES_USER" PGPASSWORD="$POSTGRES_PASSWORD"
    create_database
    run_init_scripts
    pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD
    echo "entrypoint: initialisation complete"
}

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    initialise
fi
exec "$@"

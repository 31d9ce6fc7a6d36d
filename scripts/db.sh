#!/usr/bin/env bash
# Prepare a PostGIS database with the sample data and print its DATABASE_URL as the last line.
#
# With DATABASE_URL set, that database is used as it is (the sample data is loaded only when it
# has none of our tables). Without it, a private PostgreSQL 15 cluster is created in .pgdata/ and
# started on 127.0.0.1:${WFS3_PG_PORT:-55432}; it is left running for later commands.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PG_BIN=/usr/lib/postgresql/15/bin
PG_DATA="$ROOT/.pgdata"
PG_PORT="${WFS3_PG_PORT:-55432}"
# Kept beside the cluster, so the two can never disagree. wfs3 owns the data (loading, tests);
# wfs3_reader is the read-only role the service runs as (data/grants.py says what it may do).
URL_FILE="$PG_DATA/wfs3.url"
READER_URL_FILE="$PG_DATA/wfs3-reader.url"
READER_ROLE=wfs3_reader

log() { echo "db: $*" >&2; }

as_db_owner() {
    # initdb and pg_ctl refuse to run as root: run them as the postgres user when we are root.
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_postgis() {
    # The extension's control file and its library come from two different packages.
    if [ -x "$PG_BIN/pg_ctl" ] && [ -f /usr/share/postgresql/15/extension/postgis.control ] &&
        [ -f /usr/lib/postgresql/15/lib/postgis-3.so ]; then
        return
    fi
    log "installing PostgreSQL 15 and PostGIS 3 from Debian packages"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
        postgresql-15 postgresql-15-postgis-3 >&2
}

init_cluster() {
    [ -f "$PG_DATA/PG_VERSION" ] && return
    log "creating a private cluster in $PG_DATA"
    mkdir -p "$PG_DATA"
    [ "$(id -u)" = 0 ] && chown postgres: "$PG_DATA"
    as_db_owner "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=peer \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$PG_DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DATA'
CONF
}

start_cluster() {
    if as_db_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then return; fi
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    if ! as_db_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 30 start >/dev/null; then
        log "PostgreSQL did not start (is port $PG_PORT taken? set WFS3_PG_PORT); its log says:"
        tail -n 5 "$PG_DATA/server.log" >&2
        exit 1
    fi
}

admin_sql() {
    as_db_owner "$PG_BIN/psql" -h "$PG_DATA" -p "$PG_PORT" -U postgres \
        -v ON_ERROR_STOP=1 -qtA "$@"
}

# True when the query returns the single value 1.
sql_is_true() { [ "$(admin_sql -d postgres -c "$1")" = 1 ]; }
database_exists() { sql_is_true "SELECT 1 FROM pg_database WHERE datname = '$1'"; }

ensure_login_role() {
    # ensure_login_role NAME URL_FILE ATTRIBUTES: a role that connects over TCP with a password,
    # like the service does in ECS. The password is made once per cluster and kept in URL_FILE
    # (mode 600), so the two can never disagree. Safe to run again. Only a superuser may create
    # roles; grants are the data owner's to give (data/grants.py, below).
    local name=$1 url_file=$2 attributes=$3
    [ -s "$url_file" ] && return
    local password verb=CREATE
    password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
    sql_is_true "SELECT 1 FROM pg_roles WHERE rolname = '$name'" && verb=ALTER
    admin_sql -d postgres -c "$verb ROLE $name LOGIN $attributes PASSWORD '$password'" >/dev/null
    (umask 077 && echo "postgresql://$name:$password@127.0.0.1:$PG_PORT/wfs3" >"$url_file")
}

create_databases() {
    database_exists wfs3 || admin_sql -d postgres -c "CREATE DATABASE wfs3 OWNER wfs3" >/dev/null
    admin_sql -d wfs3 -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
    # PostGIS is not a trusted extension (only a superuser may create it): tests start their
    # databases from this template instead.
    database_exists template_postgis ||
        admin_sql -d postgres -c "CREATE DATABASE template_postgis IS_TEMPLATE true" >/dev/null
    admin_sql -d template_postgis -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
}

if [ -z "${DATABASE_URL:-}" ]; then
    install_postgis
    init_cluster
    start_cluster
    # wfs3 owns the data; CREATEDB lets the test suite create throw-away databases of its own.
    ensure_login_role wfs3 "$URL_FILE" CREATEDB
    create_databases
    ensure_login_role "$READER_ROLE" "$READER_URL_FILE" "NOSUPERUSER NOCREATEDB NOCREATEROLE"
    DATABASE_URL=$(cat "$URL_FILE")
fi

"$ROOT/.venv/bin/python" -m data.load --database-url "$DATABASE_URL" >&2
if [ -s "$READER_URL_FILE" ]; then
    "$ROOT/.venv/bin/python" -m data.grants --database-url "$DATABASE_URL" --role "$READER_ROLE" >&2
fi
echo "$DATABASE_URL"

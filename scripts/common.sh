# Sourced by the scripts that run the service or load it (run.sh, bench.sh, reliability.sh).

# wrk, the load generator, from Debian's packages when it is missing.
ensure_wrk() {
    command -v wrk >/dev/null && return
    echo "$(basename "$0"): installing wrk with apt-get" >&2
    apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null
}

# The database URL the service runs with: db.sh's (the given DATABASE_URL, or the private local
# cluster's), through the read-only role when db.sh made one for that cluster.
service_database_url() {
    local url
    url=$(scripts/db.sh | tail -n 1)
    if [ -s .pgdata/wfs3-reader.url ] && [ "$url" = "$(cat .pgdata/wfs3.url 2>/dev/null)" ]; then
        url=$(cat .pgdata/wfs3-reader.url)
    fi
    echo "$url"
}

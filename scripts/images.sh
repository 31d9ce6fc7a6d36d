#!/usr/bin/env bash
# make images: the base images docker-compose.yml and the Dockerfile name, built locally into
# podman's store under those exact names, because no registry can be reached here. Each is a
# stand-in (docker/standins/*/Containerfile, whose wfs3.standin.differs label says how it differs
# from the real one), on a Debian bookworm made by debootstrap. Idempotent: the base is made once,
# podman's layer cache makes a rebuild of an unchanged stand-in a matter of seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/podman.sh

BASE=localhost/wfs3-standin/debian:bookworm
# Jaeger v2's module is tagged v1.x; v1.75.0 (Jaeger v2.12) is the approved release here (the
# proxy also serves v1.76.0, which is not approved).
JAEGER_MODULE=github.com/jaegertracing/jaeger@v1.75.0
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
WORK=.cache/images
log() { echo "images: $*" >&2; }

make_base() {
    podman image exists "$BASE" && return
    log "debootstrap bookworm (minbase) -> $BASE"
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian >/dev/null
    tar -C "$WORK/rootfs" -c . | podman import -q --message "debootstrap minbase bookworm" - "$BASE" >/dev/null
    rm -rf "$WORK/rootfs"
}

# The Jaeger binary, built from its Go module (copied out of the module cache: its go.mod has
# replace directives, which `go install` refuses). Cached until JAEGER_MODULE changes.
jaeger_binary() {
    local out="$WORK/jaeger-bin"
    if [ "$(cat "$out/.module" 2>/dev/null)" != "$JAEGER_MODULE" ]; then
        log "building Jaeger from $JAEGER_MODULE"
        local src
        src=$(cd /tmp && go mod download -json "$JAEGER_MODULE" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
        rm -rf "$out" && mkdir -p "$out" && cp -r "$src" "$out/src" && chmod -R u+w "$out/src"
        (cd "$out/src" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o ../jaeger-linux ./cmd/jaeger)
        cp "$out/src/cmd/jaeger/sampling-strategies.json" "$out/"
        rm -rf "$out/src"
        echo "$JAEGER_MODULE" >"$out/.module"
    fi
    echo "$out"
}

# Stage docker/standins/$1 plus the named extra files into a build context; build it as $2.
build_standin() {
    local name=$1 image=$2 context="$WORK/context/$1"
    shift 2
    rm -rf "$context" && mkdir -p "$context"
    cp -a "docker/standins/$name/." "$context/"
    [ $# -gt 0 ] && cp -a "$@" "$context/"
    podman build --pull=never --format docker --layers -q -t "$image" "$context" >/dev/null
    log "$image: $(podman image inspect "$image" --format '{{index .Labels "wfs3.standin.differs"}}')"
}

ensure_podman
mkdir -p "$WORK"
start=$(date +%s)
make_base
build_standin python docker.io/library/python:3.11-slim "$CA_BUNDLE"
build_standin postgis docker.io/postgis/postgis:15-3.5
collector=$(scripts/collector.sh 2>/dev/null | tail -n 1)
build_standin collector public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0 \
    "$collector" "$CA_BUNDLE"
jaeger=$(jaeger_binary)
build_standin jaeger docker.io/jaegertracing/jaeger:2.19.0 \
    "$jaeger/jaeger-linux" "$jaeger/sampling-strategies.json"
log "all stand-ins ready in $(($(date +%s) - start))s"

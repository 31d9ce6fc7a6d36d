#!/usr/bin/env bash
# Build the local collector (collector/builder-config.yaml) with the OpenTelemetry Collector
# Builder and Go from the module proxy; print the binary's path as the last line.
#
# collector/go.mod and go.sum lock every module of the build, so it is the same build on every
# machine and each download is checked against go.sum. After editing the manifest, rerun with
# COLLECTOR_RELOCK=1 to resolve the modules anew and refresh the lock.
# The binary is cached in .cache/otelcol/ and rebuilt only when the manifest or the lock changes.
set -euo pipefail
cd "$(dirname "$0")/.."

MANIFEST=collector/builder-config.yaml
OUT=.cache/otelcol
BINARY="$OUT/wfs3-otelcol"
BUILDER_VERSION="$(sed -n 's/^  version: //p' "$MANIFEST")"
log() { echo "collector: $*" >&2; }

if ! command -v go >/dev/null; then
    log "Go is needed to build the collector (https://go.dev/doc/install, or apt-get install golang-go"
    log "on a Debian release with Go >= 1.25); without it, make run serves without a collector."
    exit 1
fi

stamp() { cat "$MANIFEST" collector/go.mod collector/go.sum | sha256sum | cut -c1-16; }
if [ -x "$BINARY" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$(stamp)" ] && [ -z "${COLLECTOR_RELOCK:-}" ]; then
    log "up to date ($("$BINARY" --version))"
    echo "$PWD/$BINARY"
    exit 0
fi

start=$(date +%s)
export GOFLAGS=-trimpath CGO_ENABLED=0
GOBIN="$PWD/.cache/ocb-$BUILDER_VERSION" go install "go.opentelemetry.io/collector/cmd/builder@v$BUILDER_VERSION"
rm -rf "$OUT"
# Sources only: the builder's own `go mod tidy` also wants the components' test-only modules,
# which the proxy here does not serve; `go build` needs just what the binary links.
".cache/ocb-$BUILDER_VERSION/builder" --config "$MANIFEST" --skip-get-modules --skip-compilation >&2
if [ -n "${COLLECTOR_RELOCK:-}" ]; then
    log "resolving modules anew (checksums of open-telemetry-collector-contrib not in the sum DB here)"
    (cd "$OUT" && GONOSUMDB=github.com/open-telemetry/opentelemetry-collector-contrib \
        go build -mod=mod -o wfs3-otelcol .)
    cp "$OUT/go.mod" "$OUT/go.sum" collector/
else
    cp collector/go.mod collector/go.sum "$OUT/"
    (cd "$OUT" && go build -mod=readonly -ldflags="-s -w" -o wfs3-otelcol .)
fi
stamp >"$OUT/.stamp"
log "built $("$BINARY" --version) in $(($(date +%s) - start))s"
echo "$PWD/$BINARY"

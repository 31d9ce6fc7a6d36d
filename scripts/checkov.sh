#!/usr/bin/env bash
# checkov in a venv of its own (.cache/checkov): it pins many packages (boto3 among them) that
# the service's lock file should not have to agree with. Idempotent; prints checkov's path last.
set -euo pipefail
cd "$(dirname "$0")/.."

CHECKOV_VERSION=3.3.30
VENV=.cache/checkov
export UV_PYTHON_DOWNLOADS=never UV_CACHE_DIR="$PWD/.cache/uv-cache"

if [ ! -x "$VENV/bin/checkov" ] || [ "$("$VENV/bin/checkov" --version 2>/dev/null)" != "$CHECKOV_VERSION" ]; then
    echo "checkov: installing $CHECKOV_VERSION into $VENV" >&2
    rm -rf "$VENV"
    .cache/uv/bin/uv venv -q --python python3 "$VENV"
    .cache/uv/bin/uv pip install -q --python "$VENV/bin/python" "checkov==$CHECKOV_VERSION"
fi
echo "$PWD/$VENV/bin/checkov"

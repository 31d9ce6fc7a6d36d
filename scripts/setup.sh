#!/usr/bin/env bash
# Create .venv/ with the locked dependencies. Idempotent; needs only python3 (3.11) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
UV_HOME=.cache/uv
export UV_PYTHON_DOWNLOADS=never UV_CACHE_DIR="$PWD/.cache/uv-cache"

if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    echo "setup: installing python3-venv from Debian packages" >&2
    sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q python3-venv >&2
fi

# uv comes from PyPI into a venv of its own, pinned, so the lock file is read the same everywhere.
if [ ! -x "$UV_HOME/bin/uv" ] || [ "$("$UV_HOME/bin/uv" --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    python3 -m venv "$UV_HOME"
    "$UV_HOME/bin/pip" install -q --disable-pip-version-check "uv==$UV_VERSION"
fi

"$UV_HOME/bin/uv" sync --frozen --python python3 --quiet

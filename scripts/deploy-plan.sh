#!/usr/bin/env bash
# make deploy-plan: deploy/terraform planned, applied and planned again by OpenTofu with the real
# AWS provider (both built from Go modules, cached under .cache/), in both collector modes against
# emulated AWS on loopback, then the module's `tofu test` contracts (deploy/emulated/run.py).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null || { echo "deploy-plan: needs Go (the module proxy) to build OpenTofu and the provider" >&2; exit 1; }
exec .venv/bin/python -m deploy.emulated.run "$@"

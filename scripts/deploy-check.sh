#!/usr/bin/env bash
# make deploy-check: render deploy/terraform's JSON documents into deploy/rendered/ and check
# them offline (botocore models, parliament, metric cross-check), then checkov on the module.
set -euo pipefail
cd "$(dirname "$0")/.."
checkov=$(scripts/checkov.sh | tail -n 1)
exec .venv/bin/python -W "ignore::UserWarning" -m deploy.check --checkov "$checkov"

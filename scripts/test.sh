#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh --test
exec .venv/bin/python -m pytest "$@"

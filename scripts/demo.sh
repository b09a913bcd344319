#!/usr/bin/env bash
# Install bodycam, load demo data into ./var (SQLite + local storage) and serve it on :8000.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
exec .venv/bin/bodycam demo "$@"

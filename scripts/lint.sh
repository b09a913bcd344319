#!/usr/bin/env bash
# Static checks, fast (seconds): ruff (style, unused imports, import order), import-linter (the
# layer contract in pyproject.toml) and "no model change without a migration".
# .ci/run calls it before the tests; pre-commit runs the same. Needs `scripts/install.sh --test`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

echo "lint: ruff"
"$PY" -m ruff check src tests

echo "lint: import-linter (layers)"
"$(dirname "$PY")/lint-imports" --no-cache

echo "lint: makemigrations --check"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
BODYCAM_DATA_DIR="$data" DJANGO_SETTINGS_MODULE=bodycam.settings \
  "$PY" -m django makemigrations --check --dry-run --verbosity 1
echo "lint: OK"

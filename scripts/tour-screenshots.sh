#!/usr/bin/env bash
# Refresh the README's "Five-minute tour" screenshots (docs/img/tour-*.png) from the demo data:
# loads `bodycam demo --small` into a throw-away server, lets a worker make the transcripts and
# face analysis, then signs in as each role in headless Chromium (tests/test_demo.py).
set -euo pipefail
cd "$(dirname "$0")/.."
TOUR_SCREENSHOTS=1 .venv/bin/python -m pytest -q tests/test_demo.py \
  -k "background_jobs or tour_pages" "$@"
ls -l docs/img/tour-*.png

#!/usr/bin/env bash
# Install bodycam, load demo data into ./var (SQLite + local storage) and serve it on :8000.
set -euo pipefail
cd "$(dirname "$0")/.."
# The demo's people speak (espeak-ng, a Debian package) and have real faces (photographs in
# scikit-image's data files, read with OpenCV: the wheel alone, without its dependencies).
if ! command -v espeak-ng >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends espeak-ng; } \
    || echo "warning: could not install espeak-ng; the demo's recordings will have no speech" >&2
fi
./scripts/install.sh
.venv/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('skimage') is None)" 2>/dev/null \
  || .venv/bin/pip install -q --no-deps "scikit-image==0.26.0"
exec .venv/bin/bodycam demo "$@"

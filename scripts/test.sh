#!/usr/bin/env bash
# Install everything the tests need, then run the suite twice: on SQLite (everything) and on
# PostgreSQL (every test that touches the catalogue: marked `catalogue` or `django_db`; the
# plugin tests/testenv.py starts a throw-away PostgreSQL 15 cluster for it).
# The two passes run side by side (2 cores); BODYCAM_TEST_PARALLEL=0 runs them one after the other.
# Arguments go to both pytest runs (e.g. scripts/test.sh tests/test_jobs.py -x).
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh --test || exit 1

logs=$(mktemp -d)
run_sqlite() { .venv/bin/python -m pytest "$@" >"$logs/sqlite.log" 2>&1; echo $? >"$logs/sqlite.rc"; }
run_pg() { .venv/bin/python -m pytest -p tests.testenv "$@" >"$logs/postgresql.log" 2>&1; echo $? >"$logs/postgresql.rc"; }

if [ "${BODYCAM_TEST_PARALLEL:-1}" = 0 ]; then
  run_sqlite "$@"; cat "$logs/sqlite.log"
  run_pg "$@"; cat "$logs/postgresql.log"
else
  run_sqlite "$@" & a=$!
  run_pg "$@" & b=$!
  wait $a $b
  echo "===================== SQLite pass ====================="; cat "$logs/sqlite.log"
  echo "=================== PostgreSQL pass ==================="; cat "$logs/postgresql.log"
fi

rc_sqlite=$(cat "$logs/sqlite.rc"); rc_pg=$(cat "$logs/postgresql.rc")
# One closing line for both passes: "total: N passed, N failed[, N skipped]".
count() { grep -E '^(=+ )?[0-9]+ [a-z]+.* in [0-9.]+s' "$logs/$1.log" | tail -1 | grep -oE "[0-9]+ $2" | grep -oE '^[0-9]+' || echo 0; }
passed=$(( $(count sqlite passed) + $(count postgresql passed) ))
failed=$(( $(count sqlite failed) + $(count postgresql failed) + $(count sqlite error) + $(count postgresql error) ))
skipped=$(( $(count sqlite skipped) + $(count postgresql skipped) ))
echo "SQLite pass exit $rc_sqlite, PostgreSQL pass exit $rc_pg"
echo "total: $passed passed, $failed failed, $skipped skipped"
rm -rf "$logs"
[ "$rc_sqlite" = 0 ] && [ "$rc_pg" = 0 ]
